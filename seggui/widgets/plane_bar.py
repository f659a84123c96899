"""The plane slider under the canvas: which plane of a stack is on screen, and a way to another
(the slider, or the , and . keys). Hidden for images that are not stacks."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from model.storage.tiff_files import plane_path, split_plane


class PlaneBar(QWidget):
    """Shows the plane of the stack on screen; ``plane_chosen`` asks for another."""

    plane_chosen = Signal(object)  # Path of the plane image (``model.storage.tiff_files.plane_path``)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stack: Path | None = None
        self.planes = 1
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(1)
        self.slider.setPageStep(1)
        self.slider.setToolTip(
            "The plane of the stack on screen (, and . step through them); each has its own mask"
        )
        self.label = QLabel()
        self.label.setMinimumWidth(110)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(QLabel("Plane"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_moved)
        self.setVisible(False)

    def show_image(self, path: Path, planes: int) -> None:
        """The image on screen is ``path``, of a file with ``planes`` planes (1: not a stack)."""
        stack, plane = split_plane(path)
        self.stack, self.planes = stack, planes
        self.setVisible(planes > 1)
        with QSignalBlocker(self.slider):  # the echo of the image opened is not a request
            self.slider.setMaximum(max(1, planes))
            self.slider.setValue(plane + 1)
        self.label.setText(f"{plane + 1} of {planes}")

    def step(self, delta: int) -> None:
        """Ask for the plane ``delta`` planes on (within the stack)."""
        if self.stack is not None and self.planes > 1:
            self.slider.setValue(max(1, min(self.planes, self.slider.value() + delta)))

    def _on_moved(self, value: int) -> None:
        self.label.setText(f"{value} of {self.planes}")
        if self.stack is not None:
            self.plane_chosen.emit(plane_path(self.stack, value - 1))


def under_canvas(canvas: QWidget, bar: PlaneBar) -> QWidget:
    """The window's central widget: the canvas, and the plane bar below it."""
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(canvas, 1)
    layout.addWidget(bar)
    return central
