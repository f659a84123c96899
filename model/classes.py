"""Class names and colours, and the palette written into index PNG masks."""

from __future__ import annotations

import colorsys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from model.storage.json_files import read_json_object

IGNORE_INDEX = 255
"""Mask value for "not labelled": ignored by the loss and the metrics."""

IGNORE_COLOR = (0, 0, 0)

# Class 0 (background) is blue; the rest are distinct, saturated colours.
_DEFAULT_COLORS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 255),  # background: a vivid blue, seen over grey, dark and bright images (over grey
    # at 50 % it is 74 CIELAB units from the grey itself, where the old light grey was 0)
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (255, 225, 25),
    (145, 30, 180),
    (245, 130, 48),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (0, 128, 128),
    (170, 110, 40),
)


@dataclass(frozen=True)
class ClassInfo:
    """One segmentation class: its name and RGB display colour."""

    name: str
    color: tuple[int, int, int]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "color": list(self.color)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ClassInfo:
        color = tuple(int(c) for c in data["color"])  # type: ignore[union-attr]
        if len(color) != 3:
            raise ValueError(f"class colour must have 3 components, got {color}")
        return cls(name=str(data["name"]), color=color)  # type: ignore[arg-type]


def default_color(index: int) -> tuple[int, int, int]:
    """A distinct colour for class ``index`` (cycles after the built-in table)."""
    return _DEFAULT_COLORS[index % len(_DEFAULT_COLORS)]


def distinct_color(index: int, taken: Iterable[tuple[int, int, int]]) -> tuple[int, int, int]:
    """Class ``index``'s default colour, or, if a class has it already, the first colour of the
    table that none has; past the table, hues spread by the golden angle, skipping taken ones."""
    used = set(taken) | {IGNORE_COLOR}
    for color in (default_color(index), *_DEFAULT_COLORS[1:]):
        if color not in used:
            return color
    for step in range(1, 4096):
        hue = (step * 0.618033988749895) % 1.0
        lightness = (0.45, 0.6, 0.35)[step % 3]
        color = tuple(round(v * 255) for v in colorsys.hls_to_rgb(hue, lightness, 0.85))
        if color not in used:
            return color  # type: ignore[return-value]
    raise ValueError("no colour left that no class has")


def default_classes(num_classes: int) -> list[ClassInfo]:
    """``background`` plus ``class 1`` ... ``class N-1`` with default colours."""
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes (background and one more), got {num_classes}")
    names = ["background"] + [f"class {i}" for i in range(1, num_classes)]
    return [ClassInfo(name, default_color(i)) for i, name in enumerate(names)]


def classes_from_names(names: list[str]) -> list[ClassInfo]:
    """Classes with these names (class 0 first) and default colours."""
    if len(names) < 2:
        raise ValueError(f"need at least 2 classes, background first, got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"class names repeat: {names}")
    return [ClassInfo(name, default_color(i)) for i, name in enumerate(names)]


def read_labels_file(path: Path) -> list[ClassInfo]:
    """Classes from a labels file: one name per line, class 0 first (labelme's ``labels.txt``,
    a VOC class list), or a SegGUI export's ``classes.json`` (with its colours). labelme's
    ``__ignore__`` line is not a class and its ``_background_`` is named ``background``; blank
    lines and ``#`` comments are skipped."""
    if path.suffix.lower() == ".json":
        data = read_json_object(path, "the classes file")
        rows = sorted(data["classes"], key=lambda row: int(row["index"]))  # type: ignore[call-overload]
        return [ClassInfo(str(row["name"]), tuple(int(v) for v in row["color"])) for row in rows]  # type: ignore[misc]
    text = path.read_text(encoding="utf-8")
    names = []
    for line in text.splitlines():
        name = line.strip()
        if not name or name.startswith("#") or name == "__ignore__":
            continue
        names.append("background" if name == "_background_" else name)
    return classes_from_names(names)


def palette_bytes(classes: list[ClassInfo]) -> list[int]:
    """A 256-entry flat RGB palette: class colours first, ``IGNORE_COLOR`` at 255."""
    if len(classes) > IGNORE_INDEX:
        raise ValueError(f"at most {IGNORE_INDEX} classes fit an index PNG, got {len(classes)}")
    palette = [0] * (256 * 3)
    for i, info in enumerate(classes):
        palette[3 * i : 3 * i + 3] = info.color
    palette[3 * IGNORE_INDEX : 3 * IGNORE_INDEX + 3] = IGNORE_COLOR
    return palette
