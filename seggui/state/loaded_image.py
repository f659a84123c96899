"""The image on screen as it was read: its pixels, their display, the mask and how it was read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from model.composite import ChannelView, Histogram


@dataclass(frozen=True)
class LoadedImage:
    """Everything the canvas needs to show and edit one image."""

    path: Path
    mask_path: Path
    raw: np.ndarray
    """``H x W`` or ``H x W x C``, the file's own values (``model.storage.imageio.read_image``)."""
    display: QImage
    """``raw`` drawn with ``views`` (``model.composite``), made on the loading thread."""
    views: tuple[ChannelView, ...]
    histograms: tuple[Histogram, ...]
    mask: np.ndarray
    mask_problem: str | None
    """Why an existing mask file was not used (then ``mask`` starts empty); None if it was."""
    mask_image: QImage
    """``mask`` coloured for display, made on the loading thread."""
    mask_stamp: tuple[int, int] | None = None
    """The mask file's stamp (``model.storage.atomic.file_stamp``) as it was read."""
    description: str = ""
    """What the file holds, for the status bar: "2 channels (DAPI, GFP), 16-bit integer; axes
    CYX from SegGUI's rule for plain TIFFs" (how a TIFF's shape was read), else its pixels."""
    planes: int = 1
    """How many planes the file has (``path`` is one of them: ``model.storage.tiff_files.plane_path``)."""
    georeferenced: bool = False
    """A GeoTIFF: its masks are exported as GeoTIFFs by default, placed where it lies."""
    nodata: np.ndarray | None = None
    """``H x W``, true where the source says a pixel holds no data (``model.storage.nodata``):
    not painted, trained on, predicted or exported as a class; None when there is none."""
