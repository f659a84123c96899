"""Switching to an image the model has not predicted yet: the time from Page Down to its
prediction overlay on screen, in the app (offscreen), with the prediction engine as it was
(float32, batch norms apart) and as it is (batch norms folded, ReLUs fused, and bfloat16 on a
CPU with AMX), in one run; against the ``Predictor.predict`` call alone on the same images,
timed in the same process.

    QT_QPA_PLATFORM=offscreen python benchmarks/overlay.py [--data ../shared/data/membrane] [--images 8]

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

import model.prediction.predict as predict_module
from model.classes import default_classes
from model.networks.checkpoint import Checkpoint, save_checkpoint
from model.networks.unet import build_unet, preset
from model.storage.imageio import read_image
from model.storage.project import Project, save_project
from seggui.widgets.main_window import MainWindow

PLAIN_INIT = predict_module.Predictor.__init__


def use_engine(engine: dict[str, object]) -> None:
    """Every Predictor made from now on is made with these options (none: the app's engine)."""

    def init(self, *args, **options):
        PLAIN_INIT(self, *args, **{**options, **engine})

    predict_module.Predictor.__init__ = init


def wait_for(signal, action, timeout_s: float = 300) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    action()
    loop.exec()
    signal.disconnect(loop.quit)


def project(root: Path, data: Path, count: int) -> Path:
    folder = root / "project"
    (folder / "models").mkdir(parents=True)
    for image in sorted((data / "images").glob("*.png"))[:count]:
        shutil.copy(image, folder / image.name)
    config = preset("fast", in_channels=1, num_classes=2)
    checkpoint = Checkpoint(config, build_unet(config).state_dict(), default_classes(2), (0.5,), (0.25,))
    save_checkpoint(folder / "models" / "model.pt", checkpoint)
    save_project(Project(folder, classes=tuple(default_classes(2)), model_in_use="model.pt"))
    return folder


def in_app(folder: Path, root: Path) -> list[float]:
    """Seconds from Page Down to the overlay, for every image after the first."""
    window = MainWindow(QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    window.show()
    wait_for(window.models.prediction_shown, lambda: window.session.open_folder(folder))
    seconds = []
    for _ in range(window.images.rowCount() - 1):
        start = time.perf_counter()
        wait_for(window.models.prediction_shown, lambda: window.session.step_image(1))
        seconds.append(time.perf_counter() - start)
    window.close()
    return seconds


def predict_alone(folder: Path) -> list[float]:
    """Seconds of ``Predictor.predict`` per image (the engine ``use_engine`` chose), the read excluded."""
    from model.networks.checkpoint import load_checkpoint

    engine = predict_module.Predictor(load_checkpoint(folder / "models" / "model.pt"), "auto")
    images = sorted(folder.glob("*.png"))
    engine.predict(read_image(images[0]))
    seconds = []
    for path in images[1:]:
        raw = read_image(path)
        start = time.perf_counter()
        engine.predict(raw)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/membrane"))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--now-first", action="store_true", help="measure the app's engine first")
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engines = [
            ({"fold": False, "precision": "float32"}, "before", "float32, batch norms apart (before)"),
            ({}, "now", "the app's: folded, fused, bfloat16 with AMX (now)"),
        ]
        for engine, label, name in reversed(engines) if args.now_first else engines:
            root = Path(tmp) / label
            folder = project(root, args.data, args.images)
            use_engine(engine)
            app_s = statistics.median(in_app(folder, root))
            alone_s = statistics.median(predict_alone(folder))
            rows.append((name, app_s, alone_s))
    print("\n| prediction engine | Page Down to overlay (median) | Predictor.predict alone | app / alone |")
    print("| --- | --- | --- | --- |")
    for name, app_s, alone_s in rows:
        print(f"| {name} | {1000 * app_s:.0f} ms | {1000 * alone_s:.0f} ms | {app_s / alone_s:.2f} |")
    os._exit(0)  # the window's threads are done; skip Qt's and torch's teardown


if __name__ == "__main__":
    main()
