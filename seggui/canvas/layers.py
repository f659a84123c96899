"""Graphics items for the image and the mask; the mask re-uploads only the rectangle that changed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from model.classes import IGNORE_INDEX, ClassInfo
from seggui.document import Rect


def class_lut(classes: list[ClassInfo] | tuple[ClassInfo, ...], background: bool = True) -> np.ndarray:
    """256 premultiplied ARGB32 colours: class colours opaque, everything else transparent.

    ``background=False`` leaves class 0 transparent too (predictions: only objects are tinted).
    """
    lut = np.zeros(256, np.uint32)
    for index, info in enumerate(classes):
        r, g, b = info.color
        lut[index] = (0xFF << 24) | (r << 16) | (g << 8) | b
    lut[IGNORE_INDEX] = 0
    if not background:
        lut[0] = 0
    return lut


def display_image(raw: np.ndarray, low: float, high: float) -> QImage:
    """An 8-bit QImage of ``raw`` with ``low..high`` stretched to 0..255 (display only)."""
    scale = 255.0 / max(high - low, 1e-6)
    if raw.dtype == np.uint8 and low == 0 and high == 255:
        data = np.ascontiguousarray(raw)
    else:
        lut_input = raw.astype(np.float32) if raw.dtype != np.uint8 else raw
        data = np.clip((lut_input - low) * scale, 0, 255).astype(np.uint8)
    h, w = data.shape[:2]
    if data.ndim == 2:
        image = QImage(data.data, w, h, data.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(data.data, w, h, data.strides[0], QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: ``data`` goes away


def _argb_view(image: QImage) -> np.ndarray:
    """The pixels of an ARGB32 ``image`` as a writable ``H x W`` uint32 array (no copy)."""
    stride = image.bytesPerLine() // 4
    return np.frombuffer(image.bits(), np.uint32).reshape(image.height(), stride)[:, : image.width()]


def render_labels(
    labels: np.ndarray, classes: list[ClassInfo] | tuple[ClassInfo, ...], background: bool = True
) -> QImage:
    """``labels`` coloured through the class table (safe to call on a worker thread)."""
    h, w = labels.shape
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    _argb_view(image)[...] = class_lut(classes, background)[labels]
    return image


def render_prediction(labels: np.ndarray, classes: list[ClassInfo] | tuple[ClassInfo, ...]) -> QImage:
    """A predicted class map as the prediction layer shows it (background left clear)."""
    return render_labels(labels, classes, background=False)


class ImageLayer(QGraphicsItem):
    """The image, drawn from a QImage pixel-exact; only the exposed area is painted."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._image = QImage()

    def set_image(self, image: QImage) -> None:
        self.prepareGeometryChange()
        self._image = image
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._image.isNull():
            exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
            painter.drawImage(exposed, self._image, exposed)


class LabelLayer(QGraphicsItem):
    """An index array drawn through a class colour table (masks and predictions)."""

    def __init__(self, z: float, background: bool = True) -> None:
        super().__init__()
        self.setZValue(z)
        self.background = background
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._labels: np.ndarray | None = None
        self._image = QImage()
        self._argb: np.ndarray | None = None
        self._lut = np.zeros(256, np.uint32)

    def set_labels(
        self,
        labels: np.ndarray | None,
        classes: list[ClassInfo] | tuple[ClassInfo, ...],
        rendered: QImage | None = None,
    ) -> None:
        """Show ``labels`` (kept by reference: edits to it show after ``refresh``).

        ``rendered`` is ``render_labels(labels, classes)`` made off the GUI thread, which saves
        colouring a large image here.
        """
        self.prepareGeometryChange()
        self._labels = labels
        self._lut = class_lut(classes, self.background)
        if labels is None:
            self._image, self._argb = QImage(), None
            return
        self._image = rendered if rendered is not None else render_labels(labels, classes, self.background)
        self._argb = _argb_view(self._image)
        self.update()

    def set_classes(self, classes: list[ClassInfo] | tuple[ClassInfo, ...]) -> None:
        self._lut = class_lut(classes, self.background)
        if self._labels is not None:
            h, w = self._labels.shape
            self.refresh(Rect(0, 0, w, h))

    def refresh(self, rect: Rect) -> None:
        """Re-colour ``rect`` from the label array and repaint just that area."""
        if self._labels is None or self._argb is None or rect.width <= 0 or rect.height <= 0:
            return
        ys = slice(rect.y, rect.y + rect.height)
        xs = slice(rect.x, rect.x + rect.width)
        self._argb[ys, xs] = self._lut[self._labels[ys, xs]]
        self.update(QRectF(rect.x, rect.y, rect.width, rect.height))

    def image(self) -> QImage:
        """What the layer draws (premultiplied ARGB; empty when there are no labels)."""
        return self._image

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._image.isNull():
            return
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        painter.drawImage(exposed, self._image, exposed)
