"""Opening an image and its mask off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from model.atomic import file_stamp
from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import SegGUIError
from model.imageio import read_image, read_mask
from model.intensity import intensity_range
from model.memory import release_freed_memory
from seggui.canvas.layers import display_image, render_labels


@dataclass(frozen=True)
class LoadedImage:
    """Everything the canvas needs to show and edit one image."""

    path: Path
    mask_path: Path
    raw: np.ndarray
    display: QImage
    display_range: tuple[float, float]
    mask: np.ndarray
    mask_problem: str | None
    """Why an existing mask file was not used (then ``mask`` starts empty); None if it was."""
    mask_image: QImage
    """``mask`` coloured for display, made on the loading thread."""
    mask_stamp: tuple[int, int] | None = None
    """The mask file's stamp (``model.atomic.file_stamp``) as it was read."""


def load_image(path: Path, mask_path: Path, classes: tuple[ClassInfo, ...]) -> LoadedImage:
    """Read ``path`` and its mask (or an empty mask); raises ``SegGUIError`` for a bad image."""
    raw = read_image(path)
    rng = intensity_range(raw)
    display = display_image(raw, rng.low, rng.high)
    problem = None
    mask = np.full(raw.shape[:2], IGNORE_INDEX, np.uint8)
    stamp = file_stamp(mask_path)  # before reading: a change made after this is noticed on saving
    if stamp is not None:
        try:
            mask = read_mask(mask_path, shape=raw.shape[:2], num_classes=len(classes))
        except SegGUIError as exc:
            problem = str(exc)
    return LoadedImage(
        path, mask_path, raw, display, (rng.low, rng.high), mask, problem, render_labels(mask, classes), stamp
    )


def open_image_file(path: Path, mask_path: Path, classes: tuple[ClassInfo, ...]) -> LoadedImage:
    """``load_image`` for a background job: a failure hands back what a huge decode held
    (``release_freed_memory``), and running out of memory is said plainly (``SegGUIError``)."""
    try:
        return load_image(path, mask_path, classes)
    except SegGUIError:
        release_freed_memory()
        raise
    except MemoryError:
        release_freed_memory()
        raise SegGUIError(f"{path}: not enough memory to open this image") from None
