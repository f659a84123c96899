"""Small live line charts (QtCharts) for the training panel: loss per step, IoU per class."""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

AXIS_TICKS = 4
MARKED_UP_TO = 30
"""A series of up to this many points marks each one: a line through one point draws nothing."""
REDRAW_MS = 250
"""Points are buffered and drawn at most this often, so fast steps on a GPU cost the GUI little."""


def tick_format(low: float, high: float, ticks: int) -> str:
    """A printf format with just the decimals that tell ticks ``low`` .. ``high`` apart."""
    spacing = (high - low) / max(1, ticks - 1)
    if not math.isfinite(spacing) or spacing <= 0:
        return "%.2g"
    for decimals in range(7):
        scaled = spacing * 10**decimals
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            return f"%.{decimals}f"
    return "%.3g"


def _pen(color: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, 2)
    pen.setStyle(style)
    return pen


class LiveChart(QChartView):
    """A chart of named line series that grow while training runs."""

    def __init__(
        self,
        title: str,
        x_title: str,
        y_range: tuple[float, float] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        chart = QChart()
        chart.setTitle(title)
        small = QFont(chart.titleFont())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        chart.setTitleFont(small)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.legend().setFont(small)
        chart.setMargins(QMargins(2, 2, 2, 2))
        chart.setBackgroundRoundness(0)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(170)
        self._fixed_y = y_range
        self.x_axis = QValueAxis()
        self.x_axis.setTitleText(x_title)
        self.x_axis.setTitleFont(small)
        self.x_axis.setLabelFormat("%d")
        self.x_axis.setRange(0, 5)
        self.x_axis.applyNiceNumbers()
        self.y_axis = QValueAxis()
        self.y_axis.setRange(*(y_range or (0.0, 1.0)))
        self.y_axis.setLabelFormat("%.2g")
        for axis in (self.x_axis, self.y_axis):  # few, short labels: a narrow dock elided them all
            axis.setLabelsFont(small)
            axis.setTickCount(AXIS_TICKS)
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self._series: dict[str, QLineSeries] = {}
        self._points: dict[str, list[QPointF]] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def set_series(self, names_colors: list[tuple]) -> None:
        """Replace all series (emptied) with these ``(name, colour[, pen style])``."""
        chart = self.chart()
        for series in self._series.values():
            chart.removeSeries(series)
        self._series, self._points = {}, {}
        for name, color, *style in names_colors:
            series = QLineSeries()
            series.setName(name)
            series.setPen(_pen(color, *style))
            chart.addSeries(series)
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
            self._series[name] = series
            self._points[name] = []
        self._dirty = True

    def relabel(self, names_colors: list[tuple]) -> None:
        """New names and colours for the series, in order, keeping their points (a different
        number of series starts them afresh)."""
        if len(names_colors) != len(self._series):
            self.set_series(names_colors)
            return
        series, points = list(self._series.values()), list(self._points.values())
        self._series, self._points = {}, {}
        for line, line_points, (name, color, *style) in zip(series, points, names_colors, strict=True):
            line.setName(name)
            line.setPen(_pen(color, *style))
            self._series[name], self._points[name] = line, line_points
        self._dirty = True

    def append(self, name: str, x: float, y: float) -> None:
        if name in self._points and math.isfinite(y):
            self._points[name].append(QPointF(x, y))
            self._dirty = True

    def points(self, name: str) -> list[tuple[float, float]]:
        return [(p.x(), p.y()) for p in self._points.get(name, [])]

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        xs, ys = [], []
        for name, series in self._series.items():
            points = self._points[name]
            series.replace(points)
            series.setPointsVisible(len(points) <= MARKED_UP_TO)  # one scoring: a dot, not nothing
            xs += [p.x() for p in points[-1:]]
            ys += [p.y() for p in points]
        self.x_axis.setRange(0, max([5.0, *xs]))
        self.x_axis.applyNiceNumbers()  # whole-number ticks: steps and epochs are counts
        if self._fixed_y is None and ys:
            low, high = min(ys), max(ys)
            pad = 0.05 * max(high - low, 1e-3)
            self.y_axis.setRange(max(0.0, low - pad), high + pad)
            self.y_axis.applyNiceNumbers()  # ticks at round values: 1.85, 1.9, 1.95, not 0.093
            self.y_axis.setLabelFormat(
                tick_format(self.y_axis.min(), self.y_axis.max(), self.y_axis.tickCount())
            )
