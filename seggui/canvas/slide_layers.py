"""Graphics items for a slide: its image drawn tile by tile from the level that fits the zoom,
and its chunked mask drawn tile by tile at a stride that fits the zoom. Neither ever holds the
whole image; the scene is in full-resolution pixels, as for any image."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from model.classes import IGNORE_INDEX, ClassInfo
from model.storage.chunked_mask import ChunkedMask
from model.storage.slide import SlideReader
from seggui.controllers.slide_tiles import DISPLAY_TILE, SlideTiles, TileKey
from seggui.rendering.labels import FILL, argb_view, drawing_lut, styled_labels
from seggui.state.document import Rect

MASK_TILE_BUDGET = 48
"""Coloured mask tiles kept (1 MB each) until the memory budget says otherwise: a screen's
worth at two zooms."""
TILE_BYTES = DISPLAY_TILE * DISPLAY_TILE * 4


def _draw_part(
    painter: QPainter, target: QRectF, image: QImage, area: QRectF, source: QRectF | None = None
) -> None:
    """Draw the part of ``image`` (its ``source`` rectangle, all of it if None) that falls in
    ``area`` of its ``target``: a small repaint then costs its own pixels, not the tile's."""
    part = target.intersected(area)
    if part.isEmpty():
        return
    source = source if source is not None else QRectF(image.rect())
    sx, sy = source.width() / target.width(), source.height() / target.height()
    painter.drawImage(
        part,
        image,
        QRectF(
            source.x() + (part.x() - target.x()) * sx,
            source.y() + (part.y() - target.y()) * sy,
            part.width() * sx,
            part.height() * sy,
        ),
    )


def _visible_rect(painter: QPainter, widget: QWidget | None, exposed: QRectF) -> QRectF:
    """The scene area of the whole viewport (``exposed`` when the painter has no widget)."""
    if widget is None:
        return exposed
    inverse, invertible = painter.worldTransform().inverted()
    return inverse.mapRect(QRectF(widget.rect())) if invertible else exposed


class SlideImageLayer(QGraphicsItem):
    """A slide's pixels: the tiles of the level that fits the zoom where they are decoded, the
    overview (the smallest level, scaled) where they are not yet."""

    def __init__(self, z: float = 0) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._tiles: SlideTiles | None = None
        self._reader: SlideReader | None = None
        self._overview = QImage()

    def set_slide(self, tiles: SlideTiles | None, overview: QImage | None = None) -> None:
        """Draw the slide ``tiles`` decodes (None: nothing) with ``overview`` under it."""
        self.prepareGeometryChange()
        self._tiles = tiles
        self._reader = tiles.reader if tiles is not None else None
        self._overview = overview if overview is not None else QImage()
        self.update()

    def set_overview(self, overview: QImage) -> None:
        self._overview = overview
        self.update()

    def tile_ready(self, key: TileKey) -> None:
        if self._tiles is not None and key.generation == self._tiles.generation:
            self.update(self._tile_rect(key.level, key.row, key.column))

    def boundingRect(self) -> QRectF:
        if self._reader is None:
            return QRectF()
        height, width = self._reader.shape
        return QRectF(0, 0, width, height)

    def _scale(self, level: int) -> tuple[float, float]:
        assert self._reader is not None
        height, width = self._reader.shape
        spec = self._reader.levels[level]
        return width / spec.width, height / spec.height

    def _tile_rect(self, level: int, row: int, column: int) -> QRectF:
        assert self._reader is not None
        spec = self._reader.levels[level]
        sx, sy = self._scale(level)
        top, left = row * DISPLAY_TILE, column * DISPLAY_TILE
        height, width = min(DISPLAY_TILE, spec.height - top), min(DISPLAY_TILE, spec.width - left)
        return QRectF(left * sx, top * sy, width * sx, height * sy)

    def _keys(self, level: int, area: QRectF) -> list[TileKey]:
        """The tiles of ``level`` under ``area`` (scene coordinates), nearest its centre last."""
        assert self._reader is not None and self._tiles is not None
        area = area.intersected(self.boundingRect())
        if area.isEmpty():
            return []
        spec = self._reader.levels[level]
        sx, sy = self._scale(level)
        step_x, step_y = DISPLAY_TILE * sx, DISPLAY_TILE * sy
        rows = range(
            int(area.top() // step_y),
            min(math.ceil(area.bottom() / step_y), -(-spec.height // DISPLAY_TILE)),
        )
        columns = range(
            int(area.left() // step_x),
            min(math.ceil(area.right() / step_x), -(-spec.width // DISPLAY_TILE)),
        )
        centre = area.center()
        keys = [self._tiles.key(level, r, c) for r in rows for c in columns]
        return sorted(
            keys,
            key=lambda k: (
                -(((k.row + 0.5) * step_y - centre.y()) ** 2) - ((k.column + 0.5) * step_x - centre.x()) ** 2
            ),
        )

    def level_drawn(self, scale: float) -> int:
        """The level drawn at ``scale`` screen pixels per full-resolution pixel."""
        assert self._reader is not None
        return self._reader.level_for(1.0 / max(scale, 1e-9)).index

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        tiles = self._tiles
        if tiles is None or self._reader is None:
            return
        scale = painter.worldTransform().m11()
        level = self.level_drawn(scale)
        exposed = option.exposedRect
        missing = []
        overview_scale = self._reader.shape[1] / max(self._overview.width(), 1)
        painter.save()
        smooth = scale * self._scale(level)[0] < 0.999  # drawn smaller than its pixels: filter
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        for key in self._keys(level, exposed):
            target = self._tile_rect(key.level, key.row, key.column)
            image = tiles.image(key)
            if image is not None:
                _draw_part(painter, target, image, exposed)
                continue
            missing.append(key)
            if not self._overview.isNull():
                source = QRectF(
                    target.x() / overview_scale,
                    target.y() / overview_scale,
                    target.width() / overview_scale,
                    target.height() / overview_scale,
                )
                _draw_part(painter, target, self._overview, exposed, source)
        painter.restore()
        if missing:
            tiles.want(missing, set(self._keys(level, _visible_rect(painter, widget, exposed))))


class SlideMaskLayer(QGraphicsItem):
    """A slide's chunked mask (or prediction) through the class colours: at a zoom below 1, every ``step``-th
    pixel (``ChunkedMask.read_strided``: only labelled chunks are read), in tiles coloured when
    first drawn and re-coloured where an edit changed them."""

    def __init__(self, z: float = 2, background: bool = True) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.background = background
        """Whether class 0 is drawn (a prediction leaves it clear, as on an image)."""
        self.tile_budget = MASK_TILE_BUDGET
        self._mask: ChunkedMask | None = None
        self._classes: tuple[ClassInfo, ...] = ()
        self.style = FILL
        self.hidden: frozenset[int] = frozenset()
        self._lut = np.zeros(256, np.uint32)
        self._drawn: OrderedDict[tuple[int, int, int], tuple[QImage, np.ndarray] | None] = OrderedDict()

    def set_mask(self, mask: ChunkedMask | None, classes: tuple[ClassInfo, ...] = ()) -> None:
        self.prepareGeometryChange()
        self._mask = mask
        self.set_classes(classes)

    def set_classes(self, classes: tuple[ClassInfo, ...] | list[ClassInfo]) -> None:
        self._classes = tuple(classes)
        self._lut = drawing_lut(self._classes, self.background, self.hidden)
        self._redraw()

    def set_style(self, style: str) -> None:
        self.style = style
        self._redraw()

    def set_hidden(self, hidden: frozenset[int]) -> None:
        self.hidden = frozenset(hidden)
        self.set_classes(self._classes)

    def set_tile_budget(self, tiles: int) -> None:
        """Keep at most ``tiles`` coloured tiles (1 MB each) from now on."""
        self.tile_budget = max(tiles, 4)
        while len(self._drawn) > self.tile_budget:
            self._drawn.popitem(last=False)

    def _redraw(self) -> None:
        self._drawn.clear()
        self.update()

    def boundingRect(self) -> QRectF:
        if self._mask is None:
            return QRectF()
        height, width = self._mask.shape
        return QRectF(0, 0, width, height)

    @staticmethod
    def step_for(scale: float) -> int:
        """Every how many pixels one is drawn at ``scale`` (a power of two, at least 1)."""
        return 1 if scale >= 1 else 2 ** math.floor(math.log2(1.0 / scale) + 1e-9)

    def _window(self, step: int, row: int, column: int) -> Rect:
        """The full-resolution window a tile covers, within the mask."""
        assert self._mask is not None
        height, width = self._mask.shape
        side = DISPLAY_TILE * step
        top, left = row * side, column * side
        return Rect(left, top, min(side, width - left), min(side, height - top))

    def _tile(self, key: tuple[int, int, int]) -> tuple[QImage, np.ndarray] | None:
        """The coloured tile (None where nothing is labelled), drawn now if it is not yet."""
        if key in self._drawn:
            self._drawn.move_to_end(key)
            return self._drawn[key]
        assert self._mask is not None
        step, row, column = key
        window = self._window(step, row, column)
        labels = self._mask.read_strided(window.y, window.x, window.height, window.width, step)
        drawn = None
        if np.any(labels != IGNORE_INDEX):
            image = QImage(labels.shape[1], labels.shape[0], QImage.Format.Format_ARGB32_Premultiplied)
            argb = argb_view(image)
            argb[...] = self._lut[styled_labels(labels, self.style, (window.y // step, window.x // step))]
            drawn = (image, argb)
        self._drawn[key] = drawn
        while len(self._drawn) > self.tile_budget:
            self._drawn.popitem(last=False)
        return drawn

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._mask is None:
            return
        step = self.step_for(painter.worldTransform().m11())
        area = option.exposedRect.intersected(self.boundingRect())
        if area.isEmpty():
            return
        side = DISPLAY_TILE * step
        for row in range(int(area.top() // side), math.ceil(area.bottom() / side)):
            for column in range(int(area.left() // side), math.ceil(area.right() / side)):
                drawn = self._tile((step, row, column))
                if drawn is not None:
                    window = self._window(step, row, column)
                    image = drawn[0]
                    target = QRectF(window.x, window.y, image.width() * step, image.height() * step)
                    _draw_part(painter, target, image, area)

    def refresh(self, rect: Rect) -> None:
        """An edit changed ``rect``: colour its pixels again in the tiles drawn (those of other
        strides are dropped, to be drawn when next shown)."""
        if self._mask is None or rect.width <= 0 or rect.height <= 0:
            return
        for key in list(self._drawn):
            step, row, column = key
            window = self._window(step, row, column)
            x0, y0 = max(rect.x, window.x), max(rect.y, window.y)
            x1 = min(rect.x + rect.width, window.x + window.width)
            y1 = min(rect.y + rect.height, window.y + window.height)
            if x1 <= x0 or y1 <= y0:
                continue
            drawn = self._drawn[key]
            if drawn is None or self.style != FILL:
                del self._drawn[key]  # drawn afresh (outlines need the pixels around the change)
                continue
            # the tile's samples within the change: rows i with window.y + i * step in [y0, y1)
            i0, i1 = -(-(y0 - window.y) // step), (y1 - 1 - window.y) // step
            j0, j1 = -(-(x0 - window.x) // step), (x1 - 1 - window.x) // step
            if i1 < i0 or j1 < j0:
                continue
            labels = self._mask.read_strided(
                window.y + i0 * step,
                window.x + j0 * step,
                (i1 - i0) * step + 1,
                (j1 - j0) * step + 1,
                step,
            )
            drawn[1][i0 : i1 + 1, j0 : j1 + 1] = self._lut[labels]
        margin = 1
        self.update(
            QRectF(rect.x - margin, rect.y - margin, rect.width + 2 * margin, rect.height + 2 * margin)
        )
