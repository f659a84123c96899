"""How labels are drawn: the mask and the prediction each filled, outlined or hatched, and the
classes left out of both drawings. Setters check and emit; nothing else emits these signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from seggui.rendering.labels import FILL, HATCH, STYLES, Drawing

MASK, PREDICTION = "mask", "prediction"
LAYERS = (MASK, PREDICTION)


class LabelDisplay(QObject):
    """The drawing of the mask and prediction layers. Predictions are hatched unless chosen
    otherwise: filled, a prediction over the whole image looked like paint."""

    style_changed = Signal(str, str)  # layer (MASK or PREDICTION), style (a key of STYLES)
    hidden_changed = Signal(object)  # frozenset of class indices left out of the drawings
    opacity_changed = Signal(str, float)  # layer, opacity 0..1
    mask_visible_changed = Signal(bool)  # the mask is drawn (M, View > Show Mask)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.styles = {MASK: FILL, PREDICTION: HATCH}
        self.hidden: frozenset[int] = frozenset()
        self.opacity = {MASK: 0.5, PREDICTION: 0.45}
        self.mask_visible = True

    def set_mask_visible(self, visible: bool) -> None:
        """Draw the mask, or hide it to see the image (painting still goes into it)."""
        if bool(visible) != self.mask_visible:
            self.mask_visible = bool(visible)
            self.mask_visible_changed.emit(self.mask_visible)

    def drawing(self, layer: str) -> Drawing:
        """How ``layer`` draws now (overlays coloured off the GUI thread are coloured so)."""
        return Drawing(self.styles[layer], self.hidden)

    def set_style(self, layer: str, style: str) -> None:
        if layer not in LAYERS or style not in STYLES:
            raise ValueError(f"no layer {layer!r} or style {style!r}")
        if self.styles[layer] != style:
            self.styles[layer] = style
            self.style_changed.emit(layer, style)

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Classes left out of the mask and prediction drawings (unticked in the class list)."""
        hidden = frozenset(int(i) for i in hidden)
        if hidden != self.hidden:
            self.hidden = hidden
            self.hidden_changed.emit(hidden)

    def set_opacity(self, layer: str, opacity: float) -> None:
        if layer not in LAYERS or not 0.0 <= opacity <= 1.0:
            raise ValueError(f"no layer {layer!r}, or an opacity {opacity} outside 0..1")
        if self.opacity[layer] != opacity:
            self.opacity[layer] = float(opacity)
            self.opacity_changed.emit(layer, float(opacity))
