"""The project: an image folder plus a small JSON file with classes, folders and settings.

Qt-free and part of the engine, so the CLI reads and writes projects without the app.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from model.classes import ClassInfo, default_classes, default_color, distinct_color
from model.errors import SegGUIError
from model.storage.atomic import atomic_write
from model.storage.json_files import read_json_object
from model.storage.tiff_files import is_axes_answer
from model.training.settings import TrainSettings

PROJECT_FILE = "seggui_project.json"
PROJECT_VERSION = 1
ERASER_MODES = ("unlabelled", "background")


class ProjectError(SegGUIError):
    """A project file that cannot be read or written."""


@dataclass(frozen=True)
class Project:
    """Where a project's files live and what its classes are."""

    folder: Path
    classes: tuple[ClassInfo, ...] = field(default_factory=lambda: tuple(default_classes(2)))
    mask_dir_name: str = "masks"
    predictions_dir_name: str = "predictions"
    models_dir_name: str = "models"
    eraser_mode: str = "unlabelled"
    train_settings: dict[str, object] = field(default_factory=dict)
    model_in_use: str | None = None
    """The file name, in the models folder, of the model the user works with (None: the newest):
    a newer run that scored worse than it does not replace it."""
    image_axes: str | None = None
    """The folder's answer for TIFFs without axes in their metadata, such as "CYX" or "ZYX"
    (``model.storage.tiff_files``): asked once, used for every such file of the folder."""
    package: dict[str, object] = field(default_factory=dict)
    """What a bioimage.io package of this project's models says about itself (name, authors,
    licence, citation, training data), asked once (``model.networks.bioimageio_export``)."""
    extra: dict[str, object] = field(default_factory=dict)
    """Fields this version does not know (a newer SegGUI's): kept as they are on every rewrite."""
    version: int = PROJECT_VERSION
    """The file's format version; a newer file keeps its number when this version rewrites it."""

    @property
    def file(self) -> Path:
        return self.folder / PROJECT_FILE

    @property
    def mask_dir(self) -> Path:
        return self.folder / self.mask_dir_name

    @property
    def predictions_dir(self) -> Path:
        return self.folder / self.predictions_dir_name

    @property
    def models_dir(self) -> Path:
        return self.folder / self.models_dir_name

    def with_classes(self, classes: list[ClassInfo]) -> Project:
        if len(classes) < 2:
            raise ProjectError("a project needs at least two classes (background and one more)")
        return replace(self, classes=tuple(classes))

    def with_added_class(self, name: str | None = None) -> Project:
        index = len(self.classes)
        info = ClassInfo(name or f"class {index}", distinct_color(index, [c.color for c in self.classes]))
        return replace(self, classes=(*self.classes, info))

    def to_dict(self) -> dict[str, object]:
        return {
            **self.extra,
            "version": max(self.version, PROJECT_VERSION),
            "classes": [c.to_dict() for c in self.classes],
            "mask_dir": self.mask_dir_name,
            "predictions_dir": self.predictions_dir_name,
            "models_dir": self.models_dir_name,
            "eraser_mode": self.eraser_mode,
            "train_settings": dict(self.train_settings),
            **({"model": self.model_in_use} if self.model_in_use else {}),
            **({"image_axes": self.image_axes} if self.image_axes else {}),
            **({"bioimageio": dict(self.package)} if self.package else {}),
        }


KNOWN_FIELDS = (
    "version",
    "classes",
    "mask_dir",
    "predictions_dir",
    "models_dir",
    "eraser_mode",
    "train_settings",
    "model",
    "image_axes",
    "bioimageio",
)
MAX_CLASSES = 255
"""Mask value 255 means "not labelled", so classes are 0..254."""


def load_project(folder: str | os.PathLike[str]) -> Project:
    """The project of ``folder``: read from its project file, or defaults if it has none.

    Every field is optional and checked; a ``ProjectError`` names the file and the field that
    is wrong. The three folders must lie inside the project folder (after symlinks), be none of
    them the project folder itself, where the images are, and not share or nest in each other.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ProjectError(f"{folder}: folder not found")
    path = folder / PROJECT_FILE
    if not path.exists():
        return Project(folder)
    data = read_json_object(path, "the project file", ProjectError)
    try:
        dirs = {key: _inside(folder, data, key, default) for key, default in _FOLDERS.items()}
        _check_apart(folder, dirs)
        project = Project(
            folder=folder,
            classes=_classes(data["classes"]) if "classes" in data else tuple(default_classes(2)),
            mask_dir_name=dirs["mask_dir"],
            predictions_dir_name=dirs["predictions_dir"],
            models_dir_name=dirs["models_dir"],
            eraser_mode=_eraser_mode(data.get("eraser_mode", "unlabelled")),
            train_settings=_settings(data.get("train_settings", {})),
            model_in_use=_model_name(data.get("model")),
            image_axes=_image_axes(data.get("image_axes")),
            package=_package(data.get("bioimageio", {})),
            extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
            version=_version(data.get("version", PROJECT_VERSION)),
        )
    except ValueError as exc:
        raise ProjectError(f"{path}: cannot read project file ({exc}); correct or remove that field") from exc
    return project


_FOLDERS = {"mask_dir": "masks", "predictions_dir": "predictions", "models_dir": "models"}
"""The project file's folder fields and their defaults."""


def _classes(raw: object) -> tuple[ClassInfo, ...]:
    if not isinstance(raw, list):
        raise ValueError("'classes' must be a list of {name, color}")
    if not 2 <= len(raw) <= MAX_CLASSES:
        raise ValueError(f"'classes' must hold 2 to {MAX_CLASSES} classes, not {len(raw)}")
    classes = []
    for index, item in enumerate(raw):
        where = f"classes[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"'{where}' needs a 'name' text")
        color = item.get("color", list(default_color(index)))
        if (
            not isinstance(color, list)
            or len(color) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
        ):
            raise ValueError(f"'{where}.color' must be three whole numbers from 0 to 255, not {color!r}")
        classes.append(ClassInfo(item["name"], (color[0], color[1], color[2])))
    return tuple(classes)


def _image_axes(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not is_axes_answer(raw):
        raise ValueError(f'\'image_axes\' must be axes such as "CYX" or "ZYX", not {raw!r}')
    return raw.upper()


def _inside(folder: Path, data: dict[str, object], key: str, default: str) -> str:
    """A folder name that stays inside the project folder, after symlinks, and is not the project
    folder itself (no absolute path, no way out by '..', not '.'), nor a file."""
    name = data.get(key, default)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"'{key}' must be a folder name, not {name!r}")
    root, where = folder.resolve(), (folder / name).resolve()
    if Path(name).is_absolute() or not where.is_relative_to(root):
        raise ValueError(f"'{key}' must be a folder inside the project folder, not {name!r}")
    if where == root:
        raise ValueError(
            f"'{key}' must be a folder of its own inside the project folder, not {name!r}, "
            "which is the image folder itself: its files would be written over the images"
        )
    if where.exists() and not where.is_dir():
        raise ValueError(f"'{key}' names {name!r}, which is a file, not a folder")
    return name


def _check_apart(folder: Path, dirs: dict[str, str]) -> None:
    """Refuse two of the project's folders that are one, or one inside the other: predictions
    or models written into the mask folder would replace painted masks."""
    resolved = {key: (folder / name).resolve() for key, name in dirs.items()}
    keys = list(resolved)
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            a, b = resolved[first], resolved[second]
            if a == b or a.is_relative_to(b) or b.is_relative_to(a):
                raise ValueError(
                    f"'{first}' ({dirs[first]!r}) and '{second}' ({dirs[second]!r}) must be two "
                    "separate folders: one would write over the other's files"
                )


def _model_name(value: object) -> str | None:
    """A model file's name in the models folder: no folder part, no way out."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or Path(value).name != value or value in (".", ".."):
        raise ValueError(f"'model' must be the file name of a model in the models folder, not {value!r}")
    return value


def _eraser_mode(value: object) -> str:
    if value not in ERASER_MODES:
        raise ValueError(f"'eraser_mode' must be one of {ERASER_MODES}, not {value!r}")
    return str(value)


def _settings(value: object) -> dict[str, object]:
    """The training settings, each checked as ``TrainSettings`` checks it (the app's own keys,
    such as ``start_from``, are kept as they are)."""
    if not isinstance(value, dict):
        raise ValueError(f"'train_settings' must be an object, not {value!r}")
    try:
        TrainSettings.from_dict(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"'train_settings': {exc}") from exc
    return dict(value)


def _package(value: object) -> dict[str, object]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"'bioimageio' must be an object, not {value!r}")
    return dict(value)


def _version(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"'version' must be a whole number, not {value!r}")
    return value


def save_project(project: Project) -> None:
    """Write the project file atomically."""
    text = json.dumps(project.to_dict(), indent=2) + "\n"
    try:
        atomic_write(project.file, lambda fh: fh.write(text.encode("utf-8")))
    except OSError as exc:
        raise ProjectError(f"{project.file}: cannot save project ({exc.strerror or exc})") from exc


def project_images(project: Project, left_out: list[str] | None = None) -> list[Path]:
    """The project's images in list order, each stack's planes after it (``model.storage.tiff_files``);
    entries that are no readable file are named in ``left_out``."""
    from model.storage.imageio import list_images
    from model.storage.tiff_files import expand_stacks

    return expand_stacks(list_images(project.folder, left_out), project.image_axes)


def with_declared_classes(project: Project, classes: list[ClassInfo]) -> Project:
    """``project`` with ``classes`` (from ``--classes``, a labels file), not yet saved. Refused
    when the project has masks whose values would change meaning: the declared list must then
    start with the project's class names (more classes at the end are fine). A class the project
    has already keeps its colour; a new one keeps the declared colour unless a class has it."""
    from model.storage.imageio import list_images

    has_masks = project.mask_dir.is_dir() and bool(list_images(project.mask_dir))
    names = [c.name for c in classes[: len(project.classes)]]
    if has_masks and names != [c.name for c in project.classes]:
        raise ProjectError(
            f"{project.file}: the project's masks use the classes "
            f"{', '.join(c.name for c in project.classes)}; declared classes must start with these "
            "(adding classes at the end is fine)"
        )
    merged: list[ClassInfo] = []
    for index, info in enumerate(classes):
        old = project.classes[index] if index < len(project.classes) else None
        if old is not None and old.name == info.name:
            info = old
        elif info.color in {c.color for c in merged}:
            info = ClassInfo(info.name, distinct_color(index, [c.color for c in merged]))
        merged.append(info)
    return project.with_classes(merged)


def remove_class_from_masks(project: Project, index: int) -> tuple[Project, list[str]]:
    """Remove class ``index``: its pixels become "not labelled", higher classes move down one.

    Every mask in the project's mask folder is rewritten atomically. Returns the new project
    (already saved) and one message per mask that could not be rewritten (left as it was).
    """
    import numpy as np

    from model.classes import IGNORE_INDEX
    from model.storage.imageio import list_images, read_mask, write_mask

    if not 0 < index < len(project.classes):
        raise ProjectError(f"class {index} cannot be removed (background, class 0, always stays)")
    if len(project.classes) <= 2:
        raise ProjectError("a project needs at least two classes (background and one more)")
    classes = [c for i, c in enumerate(project.classes) if i != index]
    lut = np.arange(256, dtype=np.uint8)
    lut[index] = IGNORE_INDEX
    lut[index + 1 : len(project.classes)] -= 1
    problems = []
    if project.mask_dir.is_dir():
        for path in list_images(project.mask_dir):
            try:
                mask = read_mask(path, num_classes=len(project.classes))
                if ((mask >= index) & (mask != IGNORE_INDEX)).any():
                    write_mask(path, lut[mask], classes)
            except (SegGUIError, OSError) as exc:
                problems.append(str(exc))
    updated = project.with_classes(classes)
    save_project(updated)
    return updated, problems
