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
def window(qtbot, tmp_path_factory):
    """The real main window, with preferences in a throw-away ini file (not in ``tmp_path``,
    which tests fill with images: a folder names every file it does not list)."""
    settings = QSettings(
        str(tmp_path_factory.mktemp("settings") / "settings.ini"), QSettings.Format.IniFormat
    )
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


@pytest.fixture
def started(qtbot, tmp_path_factory, monkeypatch):
    """Start the app as ``python main.py [FOLDER]`` does (``seggui.app.start``), with the
    preferences and the user's data folder (where the sample is copied) thrown away after."""
    from seggui import app

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    windows: list[MainWindow] = []

    def start(folder: Path | None = None, *, shown: bool = True) -> MainWindow:
        ini = tmp_path_factory.mktemp("settings") / "settings.ini"
        win = app.start(folder, QSettings(str(ini), QSettings.Format.IniFormat))
        qtbot.addWidget(win)
        win.store.autosave_timer.setInterval(50)
        windows.append(win)
        if shown:
            qtbot.waitUntil(lambda: win.state.shown_path is not None, timeout=20000)
        return win

    yield start
    for win in windows:
        win.store.flush()


def write_svs(path: Path, image: np.ndarray, tile: int = 128, compression: str = "zlib") -> None:
    """A slide as Aperio scanners write it: the full image tiled, a thumbnail, a reduced level,
    each page described as "Aperio Image Library ..." (tifffile takes it for an SVS)."""
    import tifffile

    height, width = image.shape[:2]
    head = "Aperio Image Library v12.0.15 \r\n"
    options = {"compression": compression, "photometric": "rgb" if image.ndim == 3 else "minisblack"}
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            image,
            tile=(tile, tile),
            description=f"{head}{width}x{height} [0,0 {width}x{height}] ({tile}x{tile}) RGB|MPP = 0.5",
            **options,
        )
        for step, tiled in ((8, False), (4, True)):
            small = image[::step, ::step]
            extra = {"tile": (tile, tile)} if tiled else {}
            described = f"{head}{width}x{height} -> {small.shape[1]}x{small.shape[0]} - |"
            tif.write(small, description=described, **options, **extra)


def grey_slide_with_model(root: Path, model: Path, monkeypatch) -> tuple[Path, np.ndarray]:
    """A 2600 x 1900 slide of grey shapes in ``root / "grey"`` with ``model`` (a model file or a
    bioimage.io package) in its project's models, predicted in 512-pixel windows (24 of them):
    (the folder, the slide's pixels)."""
    import shutil

    from model.classes import default_classes
    from model.storage import tiff_files
    from model.storage.project import Project, save_project
    from tests.model.test_slides import write_pyramid
    from tests.synthetic import shapes_image

    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1_000_000)
    monkeypatch.setattr("seggui.controllers.slide_prediction.SLIDE_WINDOW", 512)
    rng = np.random.default_rng(5)
    image = np.vstack([np.hstack([shapes_image(rng, 100)[0] for _ in range(26)]) for _ in range(19)])
    folder = root / "grey"
    (folder / "models").mkdir(parents=True)
    write_pyramid(folder / "slide.tif", image, levels=3, tile=256)
    save_project(Project(folder, classes=tuple(default_classes(3))))
    shutil.copy(model, folder / "models" / model.name)
    return folder, image
