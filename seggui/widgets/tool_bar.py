"""The tool bar: the tools, undo and redo, the fill mode and tolerance, the brush size and the
mask's opacity. It edits the tool state and the label display and follows both."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QSpinBox, QToolBar, QWidget

from seggui.state.label_display import MASK, LabelDisplay
from seggui.state.tool_state import SAME_LABEL, SIMILAR, ToolState
from seggui.widgets.window_actions import WindowActions


class ToolBar(QToolBar):
    """The window's tool bar."""

    def __init__(
        self, tools: ToolState, labels: LabelDisplay, actions: WindowActions, parent: QWidget
    ) -> None:
        super().__init__("Tools", parent)
        self.setObjectName("tools")
        self.tools = tools
        for action in actions.tools.tools.values():
            self.addAction(action)
        self.addSeparator()
        # Undo, redo and Show Mask next to the tools: on a narrow screen the bar's overflow
        # takes the display sliders at its end, not these.
        self.addAction(actions.edit.undo)
        self.addAction(actions.edit.redo)
        self.addAction(actions.view.mask_visible)
        self.addSeparator()
        self.fill_mode_combo = QComboBox()
        self.fill_mode_combo.addItem("Fill similar pixels", SIMILAR)
        self.fill_mode_combo.addItem("Fill same label", SAME_LABEL)
        self.fill_mode_combo.setToolTip(
            "Fill similar pixels: the connected pixels whose image values lie within the tolerance "
            "of the clicked one (a magic wand). Fill same label: the connected area of the clicked "
            "label, such as the inside of an outline."
        )
        self.fill_mode_combo.activated.connect(lambda _: tools.set_fill(self.fill_mode_combo.currentData()))
        self.addWidget(self.fill_mode_combo)
        self.tolerance_spin = QSpinBox()
        self.tolerance_spin.setRange(0, 100)
        self.tolerance_spin.setSuffix(" %")
        self.tolerance_spin.setToolTip("How far from the clicked pixel's value a similar pixel may be")
        self.tolerance_spin.valueChanged.connect(
            lambda percent: tools.set_fill(tools.fill_mode, percent / 100)
        )
        self.addWidget(self.tolerance_spin)
        self.addSeparator()
        self.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 200)
        self.size_slider.setFixedWidth(120)
        self.size_slider.valueChanged.connect(lambda v: tools.set_brush_radius(v / 2))
        self.addWidget(self.size_slider)
        self.size_label = QLabel()
        self.size_label.setMinimumWidth(44)
        self.addWidget(self.size_label)
        self.addWidget(QLabel(" Opacity "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(100 * labels.opacity[MASK]))
        self.opacity_slider.setFixedWidth(100)
        self.opacity_slider.valueChanged.connect(lambda v: labels.set_opacity(MASK, v / 100))
        self.addWidget(self.opacity_slider)
        tools.brush_radius_changed.connect(self._show_brush)
        tools.fill_changed.connect(self._show_fill)
        self._show_brush(tools.brush_radius)
        self._show_fill(tools.fill_mode, tools.fill_tolerance)

    def _show_brush(self, radius: float) -> None:
        with QSignalBlocker(self.size_slider):
            self.size_slider.setValue(round(radius * 2))
        self.size_label.setText(f" {2 * radius:.0f} px")

    def _show_fill(self, mode: str, tolerance: float) -> None:
        index = self.fill_mode_combo.findData(mode)
        if index != self.fill_mode_combo.currentIndex():
            self.fill_mode_combo.setCurrentIndex(index)
        with QSignalBlocker(self.tolerance_spin):
            self.tolerance_spin.setValue(round(100 * tolerance))
        self.tolerance_spin.setEnabled(mode == SIMILAR)
