"""Small previews of the images in the browser, made lazily on a thread pool and cached."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from model.composite import channel_statistics, composite, default_views
from model.compute.memory import LARGE_BYTES, release_freed_memory
from model.errors import ImageReadError, SegGUIError
from model.storage.imageio import read_image, read_mask
from model.storage.slide import slide_overview
from seggui.controllers.jobs import Jobs
from seggui.rendering.labels import rgb_qimage
from seggui.state.image_list import THUMBNAIL_SIZE
from seggui.state.label_status import Status, status_of_mask

log = logging.getLogger(__name__)

CACHE_LIMIT = 2000


def thumbnail_array(raw: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """An 8-bit colour preview of ``raw`` no larger than ``size`` on its long side (strided, no
    filtering), every channel in its default colour (``model.composite``)."""
    step = max(1, int(np.ceil(max(raw.shape[:2]) / size)))
    small = np.ascontiguousarray(raw[::step, ::step])
    return composite(small, default_views(channel_statistics(small)[0]))


def make_thumbnail(
    path: Path, mask_path: Path, axes: str | None = None
) -> tuple[QImage, Status | None, str | None]:
    """The preview of one image, what its mask holds (None: no mask read) and why its mask
    cannot be used, if so; for the browser (a background job: the full image is decoded and
    dropped here)."""
    try:
        raw = _pixels_to_preview(path, axes)
        large = raw.nbytes >= LARGE_BYTES
        image = rgb_qimage(thumbnail_array(raw))
        del raw
    except SegGUIError:
        release_freed_memory()
        raise
    except MemoryError:
        release_freed_memory()
        raise SegGUIError(f"{path}: too large to preview") from None
    if large:
        release_freed_memory()  # the full image was only needed for the thumbnail
    labelled: Status | None = None
    problem: str | None = None
    if mask_path.exists():
        try:
            labelled = status_of_mask(read_mask(mask_path))
        except (SegGUIError, OSError) as exc:  # listed so; the image opens with the reason
            labelled, problem = Status.MASK_UNREADABLE, f"{exc}. The image opens with an empty mask."
    return image, labelled, problem


def _pixels_to_preview(path: Path, axes: str | None) -> np.ndarray:
    """The image, or for a slide too large to open its smallest level (the preview of a slide
    the window cannot open yet); the image's own error otherwise."""
    try:
        return read_image(path, axes)
    except ImageReadError:
        overview = slide_overview(path)
        if overview is None:
            raise
        return overview


class ThumbnailLoader(QObject):
    """Hands out cached thumbnails and loads missing ones once each, off the GUI thread."""

    loaded = Signal(object, object, object)  # path, Status of its mask (None: no mask), its problem
    failed = Signal(object, str)

    def __init__(
        self,
        mask_path_of: Callable[[Path], Path],
        axes: Callable[[], str | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.mask_path_of = mask_path_of
        self.axes = axes
        """The folder's answer for TIFFs without axes in their metadata."""
        self.jobs = Jobs("thumbnails", 1, self)
        self._cache: OrderedDict[Path, QImage] = OrderedDict()
        self._pending: set[Path] = set()
        self._requests = 0
        self._generation = 0  # another folder: results of the last one are dropped

    def get(self, path: Path) -> QImage | None:
        image = self._cache.get(path)
        if image is not None:
            self._cache.move_to_end(path)
            return image
        if path not in self._pending:
            self._pending.add(path)
            self._requests += 1
            mask_path, generation, axes = self.mask_path_of(path), self._generation, self.axes()
            # Newest first: after a jump down a long list the rows in view load before the
            # rows scrolled past (their jobs stay queued for when the list comes back).
            self.jobs.submit(
                lambda: make_thumbnail(path, mask_path, axes),
                lambda result: self._on_ready(generation, path, *result),
                lambda error: self._on_failed(generation, path, str(error)),
                priority=self._requests,
            )
        return None

    def cached_image(self, path: Path) -> QImage | None:
        """The thumbnail if it is made already (nothing is started)."""
        return self._cache.get(path)

    def clear(self) -> None:
        self.jobs.clear()
        self._generation += 1
        self._cache.clear()
        self._pending.clear()

    def _on_ready(
        self, generation: int, path: Path, image: QImage, labelled: Status | None, problem: str | None
    ) -> None:
        if generation != self._generation:
            return
        self._pending.discard(path)
        self._cache[path] = image
        while len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        self.loaded.emit(path, labelled, problem)

    def _on_failed(self, generation: int, path: Path, message: str) -> None:
        if generation != self._generation:
            return
        self._pending.discard(path)
        self.failed.emit(path, message)
