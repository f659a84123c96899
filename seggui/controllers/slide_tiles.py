"""The display tiles of the slide on screen: decoded and coloured on worker threads, newest
request first, kept within a byte budget (and the tiles on screen, whatever the budget), so
panning and zooming never wait on a decode.

The canvas asks for the tiles it is about to draw (``want``) and draws what ``image`` has, the
slide's overview in the place of the rest; each tile that arrives is announced (``tile_ready``)
for the canvas to draw it. Requests for tiles no longer on screen are dropped unread.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import NamedTuple

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from model.composite import ChannelView, composite
from model.errors import SegGUIError
from model.storage.slide import SlideReader
from seggui.rendering.labels import rgb_qimage

log = logging.getLogger(__name__)

DISPLAY_TILE = 512
"""A display tile's side, in pixels of its level."""
DISPLAY_BUDGET_BYTES = 96 << 20
"""Coloured tiles kept (about 120 of 512 x 512): several screens' worth, at every zoom."""


class TileKey(NamedTuple):
    """A display tile: which slide drawing (``generation``), level, row and column."""

    generation: int
    level: int
    row: int
    column: int


class SlideTiles(QObject):
    """Display tiles of one slide at a time (see the module's docstring)."""

    tile_ready = Signal(object)  # TileKey, now in ``image``
    failed = Signal(str)  # a tile cannot be read: the file, and why

    def __init__(self, workers: int = 2, budget_bytes: int = DISPLAY_BUDGET_BYTES, parent=None) -> None:
        super().__init__(parent)
        self.budget_bytes = budget_bytes
        self._reader: SlideReader | None = None
        self._views: tuple[ChannelView, ...] = ()
        self.generation = 0
        self._images: OrderedDict[TileKey, QImage] = OrderedDict()
        self._bytes = 0
        self._wanted: list[TileKey] = []  # newest last: workers take from the end
        self._busy: set[TileKey] = set()
        self._failed: set[TileKey] = set()
        self._on_screen: set[TileKey] = set()  # never dropped for the budget: they are being drawn
        self._closed = False
        self._condition = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"slide-tiles-{n}", daemon=True) for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def set_budget(self, budget_bytes: int) -> None:
        """Keep at most ``budget_bytes`` of display tiles from now on."""
        with self._condition:
            self.budget_bytes = budget_bytes
            self._evict()

    @property
    def reader(self) -> SlideReader | None:
        return self._reader

    def show(self, reader: SlideReader | None, views: tuple[ChannelView, ...] = ()) -> None:
        """Draw ``reader``'s slide with ``views`` from now on (None: no slide); the tiles of the
        last one are dropped."""
        with self._condition:
            self._reader, self._views = reader, tuple(views)
            self._restart()

    def set_views(self, views: tuple[ChannelView, ...]) -> None:
        """The channel views changed: every tile is drawn again with them."""
        with self._condition:
            if tuple(views) != self._views:
                self._views = tuple(views)
                self._restart()

    def _restart(self) -> None:
        self.generation += 1
        self._images.clear()
        self._bytes = 0
        self._wanted.clear()
        self._failed.clear()

    def key(self, level: int, row: int, column: int) -> TileKey:
        return TileKey(self.generation, level, row, column)

    def image(self, key: TileKey) -> QImage | None:
        """The tile, if it is drawn already."""
        with self._condition:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
            return image

    def want(self, keys: list[TileKey], on_screen: set[TileKey]) -> None:
        """Draw ``keys`` next, the last of them first; drop the requests not in ``on_screen``."""
        with self._condition:
            self._on_screen = set(on_screen)
            self._wanted = [k for k in self._wanted if k in on_screen and k not in keys]
            self._wanted += [
                k
                for k in reversed(keys)
                if k.generation == self.generation
                and k not in self._images
                and k not in self._busy
                and k not in self._failed
            ][::-1]
            if self._wanted:
                self._condition.notify_all()

    @property
    def pending(self) -> int:
        """Tiles asked for and not drawn yet."""
        with self._condition:
            return len(self._wanted) + len(self._busy)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- worker threads -----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._closed and not self._wanted:
                    self._condition.wait()
                if self._closed:
                    return
                key = self._wanted.pop()
                reader, views = self._reader, self._views
                self._busy.add(key)
            try:
                image = self._draw(reader, views, key) if reader is not None else None
            except Exception as exc:
                with self._condition:
                    self._busy.discard(key)
                    self._failed.add(key)
                if isinstance(exc, (SegGUIError, OSError, ValueError)):
                    log.warning("%s", exc)
                    self.failed.emit(f"{exc}; that part of the slide is drawn as missing")
                else:  # a bug: its trace for the report, and the user still told
                    log.exception("drawing a tile of the slide failed")
                    self.failed.emit(f"a tile of the slide could not be drawn ({type(exc).__name__}: {exc})")
                continue
            with self._condition:
                self._busy.discard(key)
                if image is None or key.generation != self.generation:
                    continue
                self._images[key] = image
                self._bytes += image.sizeInBytes()
                self._evict()
            self.tile_ready.emit(key)

    def _evict(self) -> None:
        """Drop the least recently used tiles past the budget, but none on screen: a screen
        needs its tiles whatever the budget (dropping them would decode them again and again)."""
        for key in list(self._images):
            if self._bytes <= self.budget_bytes:
                return
            if key not in self._on_screen:
                self._bytes -= self._images.pop(key).sizeInBytes()

    @staticmethod
    def _draw(reader: SlideReader, views: tuple[ChannelView, ...], key: TileKey) -> QImage:
        level = reader.levels[key.level]
        top, left = key.row * DISPLAY_TILE, key.column * DISPLAY_TILE
        height = min(DISPLAY_TILE, level.height - top)
        width = min(DISPLAY_TILE, level.width - left)
        raw = reader.read_region(key.level, top, left, height, width)
        # converted here, once: Qt draws 32-bit pixels as they are, 24-bit ones converted at every paint
        return rgb_qimage(composite(raw, views)).convertToFormat(QImage.Format.Format_RGB32)
