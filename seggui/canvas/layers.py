"""Graphics items for the image and the mask; the mask re-uploads only the rectangle that changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from model.classes import IGNORE_INDEX, ClassInfo
from model.prediction.uncertainty import SURE_BELOW
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


FILL, OUTLINE, HATCH = "fill", "outline", "hatch"
STYLES = {FILL: "Filled", OUTLINE: "Outlines", HATCH: "Hatched"}
HATCH_PERIOD = 6
"""Hatched labels: diagonal stripes this many pixels apart, half of them drawn, and the outline."""


def styled_labels(labels: np.ndarray, style: str, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``labels`` with the pixels ``style`` leaves undrawn set to "not labelled": ``OUTLINE``
    keeps the pixels next to another label, ``HATCH`` those and diagonal stripes (placed by
    image position: ``origin`` is where ``labels`` starts)."""
    if style == FILL:
        return labels
    edge = np.zeros(labels.shape, bool)
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    keep = edge
    if style == HATCH:
        ys = np.arange(origin[0], origin[0] + labels.shape[0])[:, None]
        xs = np.arange(origin[1], origin[1] + labels.shape[1])[None, :]
        keep = edge | (((ys + xs) // (HATCH_PERIOD // 2)) % 2 == 0)
    return np.where(keep, labels, np.uint8(IGNORE_INDEX))


def rgb_qimage(pixels: np.ndarray) -> QImage:
    """A QImage of its own of an ``H x W`` (grey) or ``H x W x 3`` (RGB) uint8 array."""
    data = np.ascontiguousarray(pixels, np.uint8)
    h, w = data.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if data.ndim == 2 else QImage.Format.Format_RGB888
    return QImage(data.data, w, h, data.strides[0], fmt).copy()  # own the pixels: ``data`` goes away


def _argb_view(image: QImage) -> np.ndarray:
    """The pixels of an ARGB32 ``image`` as a writable ``H x W`` uint32 array (no copy)."""
    stride = image.bytesPerLine() // 4
    return np.frombuffer(image.bits(), np.uint32).reshape(image.height(), stride)[:, : image.width()]


@dataclass(frozen=True)
class Drawing:
    """How a label layer draws: filled, outlines or hatched, and the classes left out."""

    style: str = FILL
    hidden: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Rendered:
    """Labels coloured off the GUI thread, and the drawing they were coloured for; for a
    prediction, also its uncertainty as a heat map (``render_uncertainty``)."""

    image: QImage
    drawing: Drawing
    uncertainty: QImage | None = None


def uncertainty_lut() -> np.ndarray:
    """256 premultiplied ARGB32 colours for normalised entropy 0..255: clear where the model is
    sure (``model.prediction.uncertainty.SURE_BELOW``: a model trained with class weights is rarely much
    surer than that of its commonest class), then yellow to red and more opaque as it is less
    sure (ilastik's uncertainty layer)."""
    level = np.arange(256, dtype=np.float64) / 255.0
    t = np.clip((level - SURE_BELOW) / (1.0 - SURE_BELOW), 0.0, 1.0)
    alpha = 0.65 * t**0.8  # the prediction stays visible under the reddest pixels
    red, green, blue = np.full(256, 255.0), 230.0 * (1.0 - t), np.zeros(256)
    a = np.round(alpha * 255).astype(np.uint32)
    r, g, b = (np.round(c * alpha).astype(np.uint32) for c in (red, green, blue))
    return (a << 24) | (r << 16) | (g << 8) | b


UNCERTAINTY_LUT = uncertainty_lut()


def render_uncertainty(entropy: np.ndarray) -> QImage:
    """A prediction's per-pixel uncertainty (``Prediction.uncertainty_map``) as a heat map
    (safe on a worker thread)."""
    return _lut_image(entropy, UNCERTAINTY_LUT)


def _lut_image(indices: np.ndarray, lut: np.ndarray) -> QImage:
    """An ARGB32 image of ``lut[indices]`` (``indices``: ``H x W`` uint8)."""
    h, w = indices.shape
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    _argb_view(image)[...] = lut[indices]
    return image


def drawing_lut(
    classes: list[ClassInfo] | tuple[ClassInfo, ...], background: bool, hidden: frozenset[int]
) -> np.ndarray:
    """``class_lut`` with the ``hidden`` classes transparent too."""
    lut = class_lut(classes, background)
    lut[list(hidden)] = 0
    return lut


def render_labels(
    labels: np.ndarray,
    classes: list[ClassInfo] | tuple[ClassInfo, ...],
    background: bool = True,
    drawing: Drawing = Drawing(),
) -> QImage:
    """``labels`` coloured through the class table as ``drawing`` says (safe on a worker thread)."""
    lut = drawing_lut(classes, background, drawing.hidden)
    return _lut_image(styled_labels(labels, drawing.style), lut)


def render_prediction(
    labels: np.ndarray,
    classes: list[ClassInfo] | tuple[ClassInfo, ...],
    drawing: Drawing = Drawing(),
    uncertainty: np.ndarray | None = None,
) -> Rendered:
    """A predicted class map as the prediction layer draws it (background left clear), and its
    ``uncertainty`` map as a heat map, made on a worker thread so that a large hatched
    prediction costs the GUI nothing."""
    heat = render_uncertainty(uncertainty) if uncertainty is not None else None
    return Rendered(render_labels(labels, classes, background=False, drawing=drawing), drawing, heat)


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

    def image(self) -> QImage:
        return self._image

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._image.isNull():
            exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
            painter.drawImage(exposed, self._image, exposed)


class LabelLayer(QGraphicsItem):
    """An index array drawn through a class colour table (masks and predictions), filled,
    outlined or hatched (``style``), with classes hidden on request."""

    def __init__(self, z: float, background: bool = True) -> None:
        super().__init__()
        self.setZValue(z)
        self.background = background
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._labels: np.ndarray | None = None
        self._image = QImage()
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
            self._argb = _argb_view(self._image)
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
        self._argb = _argb_view(self._image)
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
