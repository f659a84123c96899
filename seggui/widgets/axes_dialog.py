"""Asking which sizes of a TIFF are channels and which planes, when its metadata does not say."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from model.storage.tiff_files import AxesUnsettled


def describe_axes(axes: str, shape: tuple[int, ...]) -> str:
    """ "10 channels of one 512 x 512 image" or "a stack of 10 planes (z), 2 channels each"."""
    sizes = dict(zip(axes.replace("YXC", "YXS"), shape))
    width, height = sizes.get("X", 0), sizes.get("Y", 0)
    channels = sizes.get("C", 1) * sizes.get("S", 1)
    planes = [f"{sizes[a]} {'time points' if a == 'T' else 'planes (z)'}" for a in "TZ" if a in sizes]
    each = f"{channels} channel{'s' if channels != 1 else ''}"
    if not planes:
        return f"{axes}: {each} of one {width} x {height} image"
    return f"{axes}: a stack of {' x '.join(planes)}, {each} each"


class AxesDialog(QDialog):
    """The readings of an ``AxesUnsettled`` shape to choose from, the folder's last answer first."""

    def __init__(self, unsettled: AxesUnsettled, current: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TIFF axes")
        sizes = " x ".join(str(n) for n in unsettled.shape)
        text = QLabel(
            f"<b>{unsettled.path.name}</b> is a TIFF of {sizes} whose metadata does not say which size "
            "is channels and which planes. How should SegGUI read it, and the folder's other TIFFs of "
            "this shape? The answer is kept in the project file (Image &gt; TIFF Axes... "
            "changes it)."
        )
        text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        self.group = QButtonGroup(self)
        self.choices = list(unsettled.choices)
        # Shapes the rule reads as channels never come here: a stack is the likelier reading.
        chosen = current if current in self.choices else self.choices[-1]
        for index, axes in enumerate(self.choices):
            button = QRadioButton(describe_axes(axes, unsettled.shape))
            button.setChecked(axes == chosen)
            self.group.addButton(button, index)
            layout.addWidget(button)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> str:
        return self.choices[max(0, self.group.checkedId())]


def ask_axes(parent: QWidget, unsettled: AxesUnsettled, current: str | None) -> str | None:
    """The user's reading of ``unsettled``'s shape, or None if they cancel."""
    dialog = AxesDialog(unsettled, current, parent)
    return dialog.chosen() if dialog.exec() == QDialog.DialogCode.Accepted else None
