"""The mask of a slide being edited: a ``MaskDocument`` whose pixels live in a chunked mask on
disk (``model.storage.chunked_mask``), read and written window by window. Qt-free.

Every tool works as on an image, with the same tile-based undo; only a fill is bounded: it
reaches at most ``FILL_REACH`` pixels from the click (a fill of a whole slide's background would
read and write gigabytes), and says when it met that limit (``fill_stopped``).
"""

from __future__ import annotations

import numpy as np

from model.storage.chunked_mask import ChunkedMask
from seggui.state.document import MaskDocument, Rect

FILL_REACH = 2048
"""How far a fill on a slide reaches from the click, in full-resolution pixels, each way."""


class SlideDocument(MaskDocument):
    """A slide's mask, painted in place in its chunked mask (see the module's docstring)."""

    def __init__(self, chunked: ChunkedMask) -> None:  # no array: the pixels stay in ``chunked``
        self.chunked = chunked
        self._start_editing()

    @property
    def shape(self) -> tuple[int, int]:
        return self.chunked.shape

    def label_at(self, x: int, y: int) -> int:
        return int(self.chunked.read(y, x, 1, 1)[0, 0])

    def fill_bounds(self, x: int, y: int) -> Rect:
        """``FILL_REACH`` pixels each way from ``(x, y)``, within the slide."""
        height, width = self.shape
        x0, y0 = max(x - FILL_REACH, 0), max(y - FILL_REACH, 0)
        x1, y1 = min(x + FILL_REACH + 1, width), min(y + FILL_REACH + 1, height)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def fill_connected(
        self, x: int, y: int, candidates: np.ndarray, value: int, bounds: Rect | None = None
    ) -> Rect:
        bounds = bounds or self.fill_bounds(x, y)
        rect = super().fill_connected(x, y, candidates, value, bounds)
        height, width = self.shape
        met_limit = bool(rect.width) and (
            (rect.x == bounds.x > 0)
            or (rect.y == bounds.y > 0)
            or (rect.x + rect.width == bounds.x + bounds.width < width)
            or (rect.y + rect.height == bounds.y + bounds.height < height)
        )
        self.fill_stopped = (
            f"The fill stopped {FILL_REACH:,} pixels from the click, as far as a fill reaches on a "
            "slide; fill again further on, or outline the area with the polygon or lasso"
            if met_limit
            else None
        )
        return rect

    def _region(self, rect: Rect) -> np.ndarray:
        return self.chunked.read(rect.y, rect.x, rect.height, rect.width)

    def _store(self, rect: Rect, values: np.ndarray) -> None:
        self.chunked.write(rect.y, rect.x, values)
