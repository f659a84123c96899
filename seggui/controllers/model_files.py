"""The model files of a project: listing, naming, reading (off the GUI thread) and the device."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.classes import ClassInfo
    from model.networks.checkpoint import Checkpoint

MODEL_SUFFIX = ".pt"


def model_files(folder: Path) -> list[Path]:
    """Model files in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{MODEL_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)


def new_model_path(folder: Path) -> Path:
    """``model-<date>-<time>.pt`` in ``folder``, never the name of an existing file."""
    stem = f"model-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}{MODEL_SUFFIX}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{MODEL_SUFFIX}"
    return path


def load_model_for(path: Path, classes: tuple[ClassInfo, ...]) -> tuple[Checkpoint, str | None]:
    """Read a model file and check it against the project's classes (worker thread: imports torch)."""
    from model.networks.checkpoint import check_classes, load_checkpoint

    checkpoint = load_checkpoint(path)
    note = check_classes(checkpoint, list(classes), f"the model {path.name}")
    return checkpoint, note


def detect_device() -> str:
    from model.compute.device import choose_device, device_description

    return device_description(choose_device("auto"))
