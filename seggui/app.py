"""Starting the labelling window (torch is not imported here, so the window appears at once)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from seggui.bundled import ICON, SAMPLE_PROJECT, resource_path

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from seggui.widgets.main_window import MainWindow

__all__ = ["ICON", "SAMPLE_PROJECT", "resource_path", "run", "sample_copy", "start"]

log = logging.getLogger(__name__)


def sample_copy() -> Path:
    """A writable copy of the bundled sample project in the user's data folder (made once)."""
    import shutil

    from PySide6.QtCore import QStandardPaths

    root = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    target = root / "sample"
    if not target.exists():
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(SAMPLE_PROJECT, target)
    return target


def application() -> QApplication:
    """The one QApplication, named so that settings and the data folder are SegGUI's."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SegGUI")
    app.setOrganizationName("SegGUI")
    app.setWindowIcon(QIcon(str(ICON)))
    return app


def start(folder: str | Path | None = None, settings: QSettings | None = None) -> MainWindow:
    """The window ``python main.py [FOLDER]`` shows, opening ``folder`` (default: a copy of
    the bundled sample project; an image file: its folder, with it on screen) once the event
    loop runs. Tests start the app through this."""
    from PySide6.QtCore import QTimer

    from seggui.widgets.main_window import MainWindow

    application()
    window = MainWindow(settings)
    window.show()
    target = Path(folder).absolute() if folder else sample_copy()
    log.info("opening %s", target)
    if target.is_file():  # an image: its folder, with the image on screen
        QTimer.singleShot(0, lambda: window.session.open_folder(target.parent, first=target))
    else:
        QTimer.singleShot(0, lambda: window.session.open_folder(target))
    return window


def run(folder: str | None = None) -> int:
    """Show the main window on ``folder`` (default: the bundled sample project) until it closes."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = application()
    return exit_when_closed(app, start(folder))


def exit_when_closed(app, window) -> int:
    """Run the event loop; when it ends, end the process at once. By then the window's close
    has saved every mask, ended the training and prediction threads and released the folder;
    what is left, Python, torch and Qt unwinding their objects, took 0.9-1.6 s after each close
    (measured: benchmarks/time_limit.py), a process lingering after its window is gone. The
    preferences and the log are written first."""
    import os

    code = app.exec()
    window.settings.sync()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
