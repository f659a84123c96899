"""How the image on screen is shown: one ``ChannelView`` per channel (colour, contrast limits,
visibility), owned here and announced on every change."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal

from model.composite import ChannelView, Histogram


class ChannelDisplay(QObject):
    """The channel views of the image on screen. Setters check and emit; nothing else emits."""

    image_shown = Signal(object, object)  # views, histograms: another image (rebuild the controls)
    views_changed = Signal(object)  # views: a colour, limit or visibility changed (re-draw)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.views: tuple[ChannelView, ...] = ()
        self.histograms: tuple[Histogram, ...] = ()

    def show_image(self, views: tuple[ChannelView, ...], histograms: tuple[Histogram, ...]) -> None:
        """Another image is on screen, drawn with ``views`` already (``seggui.controllers.loading``)."""
        if len(views) != len(histograms):
            raise ValueError(f"{len(views)} channel views for {len(histograms)} histograms")
        self.views, self.histograms = tuple(views), tuple(histograms)
        self.image_shown.emit(self.views, self.histograms)

    def set_limits(self, channel: int, low: float, high: float) -> None:
        """Show raw values ``low..high`` of ``channel`` from black to full colour."""
        if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
            raise ValueError(f"contrast limits must be finite with low below high, got {low}, {high}")
        self._change(channel, low=float(low), high=float(high))

    def set_visible(self, channel: int, visible: bool) -> None:
        self._change(channel, visible=bool(visible))

    def set_colour(self, channel: int, colour: tuple[int, int, int]) -> None:
        if len(colour) != 3 or not all(0 <= int(v) <= 255 for v in colour):
            raise ValueError(f"a colour is three values 0..255, got {colour!r}")
        self._change(channel, colour=tuple(int(v) for v in colour))

    def reset_limits(self) -> None:
        """Every channel's limits back to the image's automatic ones (robust percentiles)."""
        views = tuple(dataclasses.replace(v, low=v.auto[0], high=v.auto[1]) for v in self.views)
        if views != self.views:
            self.views = views
            self.views_changed.emit(self.views)

    def _change(self, channel: int, **fields: object) -> None:
        if not 0 <= channel < len(self.views):
            raise IndexError(f"no channel {channel + 1}: the image has {len(self.views)}")
        view = dataclasses.replace(self.views[channel], **fields)
        if view == self.views[channel]:
            return
        self.views = (*self.views[:channel], view, *self.views[channel + 1 :])
        self.views_changed.emit(self.views)
