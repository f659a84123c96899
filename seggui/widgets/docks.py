"""The window's docks: the image list, classes and channels on the left, the model on the right,
sized so that the canvas keeps most of the width on any screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

LEFT_SHARE, RIGHT_SHARE = 0.2, 0.25
"""The share of the window's width each side's docks get, when their contents fit in it: on a
1024-pixel screen they shrink to what they need and the canvas keeps about half."""


def add_dock(
    window: QMainWindow, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock


def lay_out_docks(
    window: QMainWindow, left: list[tuple[str, str, QWidget]], right: tuple[str, str, QWidget]
) -> tuple[list[QDockWidget], QDockWidget]:
    """``left`` stacked on the left (3:2:5 of its height), ``right`` on the right; the widths
    follow ``fit_widths`` once the window has its size."""
    area = Qt.DockWidgetArea.LeftDockWidgetArea
    stacked = [add_dock(window, title, name, widget, area) for title, name, widget in left]
    window.resizeDocks(stacked, [3, 2, 5][: len(stacked)], Qt.Orientation.Vertical)
    return stacked, add_dock(window, *right, Qt.DockWidgetArea.RightDockWidgetArea)


def fit_widths(window: QMainWindow, left: QDockWidget, right: QDockWidget) -> None:
    """Each side's docks at their share of the window's width, or as narrow as their contents
    allow where that share is too little for them."""
    width = window.width()
    sizes = [
        max(dock.minimumSizeHint().width(), round(share * width))
        for dock, share in ((left, LEFT_SHARE), (right, RIGHT_SHARE))
    ]
    window.resizeDocks([left, right], sizes, Qt.Orientation.Horizontal)
