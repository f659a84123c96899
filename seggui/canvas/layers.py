"""Graphics items for the image and the labels; a label layer re-uploads only the rectangle that changed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from model.classes import ClassInfo
from seggui.rendering.labels import FILL, Drawing, Rendered, argb_view, drawing_lut, styled_labels
from seggui.state.document import Rect


class ImageLayer(QGraphicsItem):
    """A QImage drawn pixel-exact at the scene origin; only the exposed area is painted."""

    def __init__(self, z: float = 0) -> None:
        super().__init__()
        self.setZValue(z)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._image = QImage()

    def set_image(self, image: QImage) -> None:
        self.prepareGeometryChange()
        self._image = image
        self.update()

    def image(self) -> QImage:
        """What the layer draws (empty: nothing)."""
        return self._image

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._image.isNull():
            exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
            painter.drawImage(exposed, self._image, exposed)


class LabelLayer(ImageLayer):
    """An index array drawn through a class colour table (masks and predictions), filled,
    outlined or hatched (``style``), with classes hidden on request."""

    def __init__(self, z: float, background: bool = True) -> None:
        super().__init__(z)
        self.background = background
        self._labels: np.ndarray | None = None
        self._argb: np.ndarray | None = None
        self._classes: tuple[ClassInfo, ...] = ()
        self._lut = np.zeros(256, np.uint32)
        self.style = FILL
        self.hidden: frozenset[int] = frozenset()
        self._adopted = False  # the image came from set_labels' ``rendered``

    @property
    def drawing(self) -> Drawing:
        return Drawing(self.style, self.hidden)

    def _make_lut(self, classes: list[ClassInfo] | tuple[ClassInfo, ...]) -> np.ndarray:
        self._classes = tuple(classes)
        return drawing_lut(classes, self.background, self.hidden)

    def set_style(self, style: str) -> None:
        """Draw labels filled, as outlines or hatched (``FILL``, ``OUTLINE``, ``HATCH``)."""
        self.style = style
        self._recolour_all()

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Leave these classes out of the drawing (the labels themselves are untouched)."""
        self.hidden = frozenset(hidden)
        self._lut = self._make_lut(self._classes)
        self._recolour_all()

    def _recolour_all(self) -> None:
        if self._labels is None:
            return
        h, w = self._labels.shape
        if self._adopted:  # coloured elsewhere and maybe kept there (a cached prediction): not ours to change
            self._image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
            self._argb = argb_view(self._image)
            self._adopted = False
        self.refresh(Rect(0, 0, w, h))

    def set_labels(
        self,
        labels: np.ndarray | None,
        classes: list[ClassInfo] | tuple[ClassInfo, ...],
        rendered: QImage | Rendered | None = None,
    ) -> None:
        """Show ``labels`` (kept by reference: edits to it show after ``refresh``).

        ``rendered`` is the labels coloured off the GUI thread (``render_labels``, drawn filled,
        or ``render_prediction``, which says how it drew), which saves colouring a large image
        here; it is used when it was drawn as this layer draws now.
        """
        self.prepareGeometryChange()
        self._labels = labels
        self._lut = self._make_lut(classes)
        if labels is None:
            self._image, self._argb = QImage(), None
            return
        if isinstance(rendered, Rendered):
            image, drawn = rendered.image, rendered.drawing
        else:
            image, drawn = rendered, Drawing()
        usable = image is not None and drawn == self.drawing
        self._image = (
            image
            if usable
            else QImage(labels.shape[1], labels.shape[0], QImage.Format.Format_ARGB32_Premultiplied)
        )
        self._argb = argb_view(self._image)
        self._adopted = usable
        if not usable:
            self._recolour_all()
        self.update()

    def set_classes(self, classes: list[ClassInfo] | tuple[ClassInfo, ...]) -> None:
        self._lut = self._make_lut(classes)
        self._recolour_all()

    def refresh(self, rect: Rect) -> None:
        """Re-colour ``rect`` from the label array and repaint just that area (and the pixels
        around it, whose outline it may have changed)."""
        if self._labels is None or self._argb is None or rect.width <= 0 or rect.height <= 0:
            return
        if self.style != FILL:
            h, w = self._labels.shape
            x0, y0 = max(rect.x - 1, 0), max(rect.y - 1, 0)
            x1, y1 = min(rect.x + rect.width + 1, w), min(rect.y + rect.height + 1, h)
            rect = Rect(x0, y0, x1 - x0, y1 - y0)
        ys = slice(rect.y, rect.y + rect.height)
        xs = slice(rect.x, rect.x + rect.width)
        self._argb[ys, xs] = self._lut[self._styled(rect)]
        self.update(QRectF(rect.x, rect.y, rect.width, rect.height))

    def _styled(self, rect: Rect) -> np.ndarray:
        """The labels of ``rect`` as ``style`` draws them (one pixel around read for edges)."""
        labels = self._labels
        assert labels is not None
        if self.style == FILL:
            return labels[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
        h, w = labels.shape
        x0, y0 = max(rect.x - 1, 0), max(rect.y - 1, 0)
        x1, y1 = min(rect.x + rect.width + 1, w), min(rect.y + rect.height + 1, h)
        around = styled_labels(labels[y0:y1, x0:x1], self.style, (y0, x0))
        return around[rect.y - y0 : rect.y - y0 + rect.height, rect.x - x0 : rect.x - x0 + rect.width]
