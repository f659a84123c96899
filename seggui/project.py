"""The project: an image folder plus a small JSON file with classes, folders and settings.

Qt-free, so the CLI and tests can read and write projects too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from model.atomic import atomic_write
from model.classes import ClassInfo, default_classes, default_color
from model.errors import SegGUIError
from model.imageio import mask_path_for

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

    def mask_path(self, image: Path) -> Path:
        return mask_path_for(image, self.mask_dir)

    def with_classes(self, classes: list[ClassInfo]) -> Project:
        if len(classes) < 2:
            raise ProjectError("a project needs at least two classes (background and one more)")
        return replace(self, classes=tuple(classes))

    def with_added_class(self, name: str | None = None) -> Project:
        index = len(self.classes)
        info = ClassInfo(name or f"class {index}", default_color(index))
        return replace(self, classes=(*self.classes, info))

    def to_dict(self) -> dict[str, object]:
        return {
            "version": PROJECT_VERSION,
            "classes": [c.to_dict() for c in self.classes],
            "mask_dir": self.mask_dir_name,
            "predictions_dir": self.predictions_dir_name,
            "models_dir": self.models_dir_name,
            "eraser_mode": self.eraser_mode,
            "train_settings": dict(self.train_settings),
        }


def load_project(folder: str | os.PathLike[str]) -> Project:
    """The project of ``folder``: read from its project file, or defaults if it has none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProjectError(f"{folder}: folder not found")
    path = folder / PROJECT_FILE
    if not path.exists():
        return Project(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        classes = tuple(ClassInfo.from_dict(c) for c in data["classes"])
        eraser = str(data.get("eraser_mode", "unlabelled"))
        if eraser not in ERASER_MODES:
            raise ValueError(f"eraser_mode must be one of {ERASER_MODES}, got {eraser!r}")
        project = Project(
            folder=folder,
            classes=classes,
            mask_dir_name=str(data.get("mask_dir", "masks")),
            predictions_dir_name=str(data.get("predictions_dir", "predictions")),
            models_dir_name=str(data.get("models_dir", "models")),
            eraser_mode=eraser,
            train_settings=dict(data.get("train_settings", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProjectError(f"{path}: cannot read project file ({exc})") from exc
    if len(project.classes) < 2:
        raise ProjectError(f"{path}: a project needs at least two classes")
    return project


def save_project(project: Project) -> None:
    """Write the project file atomically."""
    text = json.dumps(project.to_dict(), indent=2) + "\n"
    try:
        atomic_write(project.file, lambda fh: fh.write(text.encode("utf-8")))
    except OSError as exc:
        raise ProjectError(f"{project.file}: cannot save project ({exc.strerror or exc})") from exc


def remove_class_from_masks(project: Project, index: int) -> tuple[Project, list[str]]:
    """Remove class ``index``: its pixels become "not labelled", higher classes move down one.

    Every mask in the project's mask folder is rewritten atomically. Returns the new project
    (already saved) and one message per mask that could not be rewritten (left as it was).
    """
    import numpy as np

    from model.classes import IGNORE_INDEX
    from model.imageio import list_images, read_mask, write_mask

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
