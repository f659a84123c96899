"""The model files of a project (SegGUI's own and bioimage.io packages): listing, naming, reading
(off the GUI thread) and the device."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from model.networks.package_model import PACKAGE_SUFFIXES

if TYPE_CHECKING:
    from model.classes import ClassInfo
    from model.networks.checkpoint import Checkpoint
    from model.networks.package_model import PackageModel

MODEL_SUFFIX = ".pt"
MODEL_FILE_PATTERNS = f"*{MODEL_SUFFIX} *.zip rdf.yaml bioimageio.yaml"
"""What the Open Model dialog shows: SegGUI models and bioimage.io packages."""


def model_files(folder: Path) -> list[Path]:
    """Model files in ``folder`` (``.pt`` and bioimage.io ``.zip`` packages), newest first."""
    if not folder.is_dir():
        return []
    found = [p for suffix in (MODEL_SUFFIX, PACKAGE_SUFFIXES[0]) for p in folder.glob(f"*{suffix}")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def new_model_path(folder: Path) -> Path:
    """``model-<date>-<time>.pt`` in ``folder``, never the name of an existing file."""
    stem = f"model-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}{MODEL_SUFFIX}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{MODEL_SUFFIX}"
    return path


def load_model_for(
    path: Path, classes: tuple[ClassInfo, ...]
) -> tuple[Checkpoint | PackageModel, str | None]:
    """Read a model file or a bioimage.io package and check it against the project's classes
    (worker thread: imports torch)."""
    from model.networks.checkpoint import check_classes
    from model.networks.package_model import load_model_file

    checkpoint = load_model_file(path)
    note = check_classes(checkpoint, list(classes), f"the model {path.name}")
    return checkpoint, note


def detect_device() -> str:
    from model.compute.device import choose_device, device_description

    return device_description(choose_device("auto"))
