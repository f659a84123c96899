"""The slide on screen as it was opened: its reader, its chunked mask and how it is drawn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from model.composite import ChannelView, Histogram
from model.storage.chunked_mask import ChunkedMask
from model.storage.slide import SlideReader


@dataclass(frozen=True)
class LoadedSlide:
    """Everything the canvas needs to show and edit a slide, none of it the whole image."""

    path: Path
    mask_path: Path
    """The chunked mask folder (``<mask name>.zarr`` in the project's mask folder)."""
    reader: SlideReader
    mask: ChunkedMask
    overview_raw: np.ndarray
    """The slide's smallest level, its own values (at most ``model.storage.slide.OVERVIEW_PIXELS``)."""
    overview: QImage
    """``overview_raw`` drawn with ``views``, shown while finer tiles decode."""
    views: tuple[ChannelView, ...]
    histograms: tuple[Histogram, ...]
    description: str
    messages: tuple[str, ...] = ()
    """What opening found (strokes a kill left, restored from the mask's journal)."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.reader.shape
