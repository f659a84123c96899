from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from seggui.widgets.main_window import MainWindow


@pytest.fixture(autouse=True)
def no_unexpected_dialogs(monkeypatch):
    """A modal dialog nobody answers would hang the run: each one a test does not expect fails it."""

    def unexpected(*args, **kwargs):
        raise AssertionError(f"unexpected dialog: {args[1:3]}")

    for name in ("critical", "warning", "question", "information"):
        monkeypatch.setattr(QMessageBox, name, unexpected)
    monkeypatch.setattr(QMessageBox, "exec", lambda self: unexpected(self, self.text()))


@pytest.fixture
def window(qtbot, tmp_path):
    """The real main window, with preferences in a throw-away ini file."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.store.autosave_timer.setInterval(50)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    yield win
    win.store.flush()


def open_folder(qtbot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.open_folder(folder)


def at_zoom_one(window: MainWindow) -> None:
    """1 screen pixel per image pixel, image top-left at the viewport's top-left."""
    window.canvas.actual_size()


def view_point(window: MainWindow, x: float, y: float) -> QPoint:
    return window.canvas.mapFromScene(QPointF(x, y))


def landed(window: MainWindow, x: float, y: float) -> tuple[float, float]:
    """Where a click aimed at image point (x, y) lands: the view snaps it to a screen pixel."""
    inverse, _ = window.canvas.viewportTransform().inverted()
    point = inverse.map(QPointF(view_point(window, x, y)))
    return point.x(), point.y()


def drag(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:
    viewport = window.canvas.viewport()
    first = view_point(window, *points[0])
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=first)
    for x, y in points[1:]:
        qtbot.mouseMove(viewport, view_point(window, x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, *points[-1]))


def capsule(shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], r: float) -> np.ndarray:
    """Pixels whose centres lie within ``r`` of the segment p0-p1 (independent of the app code)."""
    ys, xs = np.mgrid[: shape[0], : shape[1]] + 0.5
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
    return (xs - x0 - t * dx) ** 2 + (ys - y0 - t * dy) ** 2 <= r * r
