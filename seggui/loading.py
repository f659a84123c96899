"""Opening an image and its mask off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Signal
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


class _LoadSignals(QObject):
    loaded = Signal(int, object)  # ticket, LoadedImage
    failed = Signal(int, object, str)  # ticket, path, message


class ImageLoadJob(QRunnable):
    """Loads one image on the thread pool; results carry the ticket so stale ones can be dropped."""

    def __init__(self, ticket: int, path: Path, mask_path: Path, classes: tuple[ClassInfo, ...]) -> None:
        super().__init__()
        self.signals = _LoadSignals()
        self.ticket, self.path, self.mask_path, self.classes = ticket, path, mask_path, classes

    def run(self) -> None:
        try:
            result = load_image(self.path, self.mask_path, self.classes)
        except SegGUIError as exc:
            message = str(exc)
        except MemoryError:
            message = f"{self.path}: not enough memory to open this image"
        else:
            self.signals.loaded.emit(self.ticket, result)
            return
        release_freed_memory()  # what a huge image decoded before failing would keep resident
        self.signals.failed.emit(self.ticket, self.path, message)


class _DisplaySignals(QObject):
    ready = Signal(int, object)  # ticket, QImage


class DisplayJob(QRunnable):
    """Re-renders the display image with another brightness/contrast window."""

    def __init__(self, ticket: int, raw: np.ndarray, low: float, high: float) -> None:
        super().__init__()
        self.signals = _DisplaySignals()
        self.ticket, self.raw, self.low, self.high = ticket, raw, low, high

    def run(self) -> None:
        self.signals.ready.emit(self.ticket, display_image(self.raw, self.low, self.high))
