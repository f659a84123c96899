"""YOLO segmentation: one text file of normalised polygons per image (class 0 is the first
class after background), ``data.yaml`` with the names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.errors import MaskError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext, ShapeLabels, Window
from model.labels.label_formats import ExportContext, draw_shapes, shapes_of, write_text


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    height, width = mask.shape
    lines = []
    for value, polygon in shapes_of(mask, len(ctx.classes), first_class=1):
        coords = (polygon / [width, height]).ravel()
        lines.append(" ".join([str(value - 1), *(f"{v:.6f}" for v in coords)]))
    write_text(ctx.root / "labels" / f"{stem}.txt", "\n".join(lines) + ("\n" if lines else ""))


def _finish(ctx: ExportContext) -> None:
    names = "".join(f"  {i - 1}: {json.dumps(c.name)}\n" for i, c in enumerate(ctx.classes) if i)
    write_text(ctx.root / "data.yaml", f"path: .\ntrain: train.txt\nval: val.txt\nnames:\n{names}")


YOLO_SLACK = 0.01
"""How far past 0..1 a YOLO coordinate may lie (rounding of tools that write them)."""


def yolo_shapes(path: Path, shape: tuple[int, int], num_classes: int) -> list[tuple[int, np.ndarray]]:
    """(class, polygon in pixels) from a YOLO segmentation label file."""
    height, width = shape
    shapes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            value = int(parts[0]) + 1
            coords = np.asarray([float(v) for v in parts[1:]], np.float64).reshape(-1, 2)
        except ValueError as exc:
            raise MaskError(f"{path}, line {number}: not a YOLO polygon ({exc})") from exc
        if not 1 <= value < num_classes:
            raise MaskError(f"{path}, line {number}: class {value - 1} is not a class of this project")
        if len(coords) < 3:
            raise MaskError(f"{path}, line {number}: a polygon needs 3 points or more")
        if not np.isfinite(coords).all() or coords.min() < -YOLO_SLACK or coords.max() > 1 + YOLO_SLACK:
            raise MaskError(
                f"{path}, line {number}: coordinates must be fractions of the image size, 0 to 1 "
                f"(found {coords.min():.6g} to {coords.max():.6g})"
            )
        shapes.append((value, coords * [width, height]))
    return shapes


def _yolo_labels(path: Path, num_classes: int) -> ShapeLabels:
    """A YOLO file's polygons, read once (at the first window drawn) and drawn into any window."""
    read: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}

    def draw(shape: tuple[int, int], window: Window) -> np.ndarray:
        if shape not in read:
            read[shape] = yolo_shapes(path, shape, num_classes)
        return draw_shapes(read[shape], shape, 0, window)

    return ShapeLabels(draw)


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    folder = ctx.source / "labels" if (ctx.source / "labels").is_dir() else ctx.source
    count = len(ctx.classes)
    for path in sorted(folder.glob("*.txt")):
        if path.stem in ("train", "val", "test"):
            continue
        image = ctx.match(path, path.stem)
        if image is not None:
            yield path.name, image, _yolo_labels(path, count)


FORMAT = LabelFormat(
    name="yolo",
    names_image_files=True,
    title="YOLO segmentation (polygons)",
    item_paths=lambda stem: [f"labels/{stem}.txt"],
    write_item=_write,
    shared_paths=("data.yaml",),
    finish=_finish,
    import_kind="yolo",
    import_title="YOLO segmentation folder",
    read=_read,
)
