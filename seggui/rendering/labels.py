"""Label arrays and images coloured as QImages (safe on a worker thread): class colour tables,
filled, outlined and hatched drawings, the uncertainty heat map, and grey or RGB arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from model.classes import IGNORE_INDEX, ClassInfo
from model.prediction.uncertainty import SURE_BELOW


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


def argb_view(image: QImage) -> np.ndarray:
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
    argb_view(image)[...] = lut[indices]
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


PROPOSAL_ALPHA = 110
"""How opaque a prompt's proposal is inside; its outline is drawn opaque."""


def render_proposal(mask: np.ndarray, colour: tuple[int, int, int]) -> QImage:
    """A prompt's proposal (``H x W`` bool) in the class's ``colour``: a see-through fill with an
    opaque outline, so it reads as proposed, not yet painted."""
    inside = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), bool)
    inside[1:-1, 1:-1] = mask
    core = inside[1:-1, 1:-1] & inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:]
    indices = mask.astype(np.uint8)
    indices[mask & ~core] = 2
    lut = np.zeros(256, np.uint32)
    r, g, b = colour
    for index, alpha in ((1, PROPOSAL_ALPHA), (2, 255)):
        lut[index] = (
            (alpha << 24) | ((r * alpha // 255) << 16) | ((g * alpha // 255) << 8) | (b * alpha // 255)
        )
    return _lut_image(indices, lut)
