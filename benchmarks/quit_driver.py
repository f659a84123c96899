"""A stand-in user for ``time_limit.py``: opens a folder in the real window (offscreen), and
closes the window ``AFTER`` seconds into a phase: ``idle`` (the folder open, nothing running),
``training`` (Train pressed), or ``predicting`` (the folder's model predicting its first, large
image). Logs the moment of the close, on the
clock the parent reads (``time.monotonic``), so the parent can time the way to the process exit.

    python benchmarks/quit_driver.py FOLDER LOG idle|training|predicting AFTER
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    folder, log_path, phase, after = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from seggui.app import exit_when_closed
    from seggui.widgets.main_window import MainWindow

    app = QApplication([])
    window = MainWindow(QSettings(f"{tempfile.mkdtemp()}/settings.ini", QSettings.Format.IniFormat))
    log = log_path.open("w", buffering=1)

    def close() -> None:
        log.write(f"closing {time.monotonic()}\n")
        log.close()
        window.close()
        app.quit()  # what closing the last window does (this one is never shown)

    def on_opened(_path: object) -> None:
        if phase == "idle":  # the baseline: what closing costs with nothing running
            QTimer.singleShot(round(after * 1000), close)
        elif phase == "training" and not window.models.training:
            window.actions.model.train.trigger()
            QTimer.singleShot(round(after * 1000), close)

    def on_model(_path: object) -> None:
        if phase == "predicting":  # the model is in use: the large image on screen is being predicted
            QTimer.singleShot(round(after * 1000), close)

    window.state.image_opened.connect(on_opened)
    window.choice.model_loaded.connect(on_model)
    window.session.open_folder(folder)
    exit_when_closed(app, window)  # the app's own way out


if __name__ == "__main__":
    main()
