"""The channel controls: a row per channel of the image on screen (visibility and name, colour,
contrast limits dragged on a small histogram), as napari's layer controls and Fiji's Channels
Tool. The rows follow ``ChannelDisplay`` and change it only through its setters."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from model.composite import ChannelView, Histogram
from seggui.state.channel_display import ChannelDisplay


class HistogramRange(QWidget):
    """A channel's histogram (log counts) with its contrast limits as two lines to drag."""

    limits_dragged = Signal(float, float)  # low, high: the user moved a line

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.histogram = Histogram(np.zeros(1), 0.0, 1.0)
        self.low, self.high = 0.0, 1.0
        self.colour = QColor("white")
        self._dragging: str | None = None
        self.setMinimumSize(120, 28)
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self.setToolTip("Drag the lines: values at the left line show black, at the right full colour")

    def sizeHint(self) -> QSize:
        return QSize(180, 32)

    def set_channel(self, histogram: Histogram, view: ChannelView) -> None:
        self.histogram = histogram
        self.low, self.high = view.low, view.high
        self.colour = QColor(*view.colour)
        self.update()

    def _span(self) -> tuple[float, float]:
        """The values the width shows: the histogram's range, widened to take the limits."""
        return min(self.histogram.start, self.low), max(self.histogram.stop, self.high)

    def _x(self, value: float) -> float:
        start, stop = self._span()
        return (value - start) / max(stop - start, 1e-12) * (self.width() - 1)

    def _value(self, x: float) -> float:
        start, stop = self._span()
        return start + max(0.0, min(1.0, x / max(self.width() - 1, 1))) * (stop - start)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 30))
        counts = np.log1p(self.histogram.counts.astype(np.float64))
        if counts.size and counts.max() > 0:
            heights = counts / counts.max() * (self.height() - 2)
            start, stop = self.histogram.start, self.histogram.stop
            left, right = self._x(start), self._x(stop)
            width = (right - left) / counts.size
            path = QPainterPath(QPointF(left, self.height()))
            for i, h in enumerate(heights):
                path.lineTo(left + i * width, self.height() - h)
                path.lineTo(left + (i + 1) * width, self.height() - h)
            path.lineTo(right, self.height())
            fill = QColor(self.colour)
            fill.setAlpha(150)
            painter.fillPath(path, fill)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        for value in (self.low, self.high):
            x = self._x(value)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        self._dragging = "low" if abs(x - self._x(self.low)) <= abs(x - self._x(self.high)) else "high"
        self._drag_to(x)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._drag_to(event.position().x())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = None

    def _drag_to(self, x: float) -> None:
        value = self._value(x)
        start, stop = self._span()
        gap = (stop - start) / 1000
        if self._dragging == "low":
            self.low = min(value, self.high - gap)
        else:
            self.high = max(value, self.low + gap)
        self.update()
        self.limits_dragged.emit(self.low, self.high)


class ChannelRow(QWidget):
    """One channel: visible (with its name), its colour, its limits on its histogram."""

    def __init__(self, display: ChannelDisplay, channel: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display, self.channel = display, channel
        self.visible = QCheckBox()
        self.visible.toggled.connect(lambda on: display.set_visible(channel, on))
        self.colour = QPushButton()
        self.colour.setFixedSize(22, 22)
        self.colour.setToolTip("The channel's colour")
        self.colour.clicked.connect(self._choose_colour)
        self.range = HistogramRange()
        self.range.limits_dragged.connect(lambda low, high: display.set_limits(channel, low, high))
        self.limits = QLabel()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.visible, 1)
        top.addWidget(self.limits)
        top.addWidget(self.colour)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 4)
        layout.addLayout(top)
        layout.addWidget(self.range)

    def show_view(self, view: ChannelView, histogram: Histogram) -> None:
        """Show ``view`` without telling the display back (the echo of its own change)."""
        with QSignalBlocker(self.visible):
            self.visible.setChecked(view.visible)
            self.visible.setText(view.name)
        self.colour.setStyleSheet(f"background-color: rgb{view.colour}; border: 1px solid #888;")
        if histogram.constant is not None:  # a range would suggest values that are not there
            self.limits.setText(f"constant {_number(histogram.constant)}")
            self.limits.setToolTip(
                "Every pixel of this channel has this one value: it shows and teaches nothing"
            )
        else:
            self.limits.setText(f"{_number(view.low)} - {_number(view.high)}")
            self.limits.setToolTip("")
        self.range.set_channel(histogram, view)

    def _choose_colour(self) -> None:
        view = self.display.views[self.channel]
        chosen = QColorDialog.getColor(QColor(*view.colour), self, f"Colour of {view.name}")
        if chosen.isValid():
            self.display.set_colour(self.channel, (chosen.red(), chosen.green(), chosen.blue()))


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"


class ChannelPanel(QWidget):
    """The rows of every channel of the image on screen, and Auto contrast."""

    def __init__(self, display: ChannelDisplay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.rows: list[ChannelRow] = []
        self.auto = QPushButton("Auto contrast")
        self.auto.setToolTip("Every channel's limits from its own values again (0.1 and 99.9 percentiles)")
        self.auto.clicked.connect(display.reset_limits)
        self.note = QLabel("Display only: the image file and training data are not changed")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: gray;")
        self._rows_box = QVBoxLayout()
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        self._rows_box.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._rows_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.auto)
        layout.addWidget(self.note)
        display.image_shown.connect(self._rebuild)
        display.views_changed.connect(self._refresh)

    def _rebuild(self, views: tuple[ChannelView, ...], histograms: tuple[Histogram, ...]) -> None:
        if len(views) != len(self.rows):
            for row in self.rows:
                row.deleteLater()
            self.rows = [ChannelRow(self.display, c) for c in range(len(views))]
            for c, row in enumerate(self.rows):
                self._rows_box.insertWidget(c, row)
        self._refresh(views)

    def _refresh(self, views: tuple[ChannelView, ...]) -> None:
        for row, view, histogram in zip(self.rows, views, self.display.histograms):
            row.show_view(view, histogram)
