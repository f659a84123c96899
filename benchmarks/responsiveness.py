"""Is the window responsive while a real training runs in it? Offscreen, on this machine.

    QT_QPA_PLATFORM=offscreen python benchmarks/responsiveness.py [--data ../shared/data/membrane]

A 2 ms precise QTimer measures how late the GUI event loop runs (a stall is the gap between two
ticks beyond the interval), and simulated brush strokes (press, moves every 30 ms, release) are
timed per event, first with the app idle, then while the app trains on a copy of the data. Then
the same training runs headless in the same process, and the in-app training throughput is given
as a ratio to it. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from model.classes import default_classes
from model.storage.project import Project, save_project
from seggui.widgets.main_window import MainWindow

PROBE_MS = 2
STROKE_EVENT_MS = 30
TRAIN_SETTINGS = {"epochs": 1000, "val_fraction": 0.25, "seed": 0}


def spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(signal, action=None, timeout_s: float = 300) -> tuple:
    loop = QEventLoop()
    got: list[tuple] = []

    def done(*args) -> None:
        got.append(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    if action is not None:
        action()
    if not got:
        loop.exec()
    signal.disconnect(done)
    if not got:
        raise TimeoutError(f"no {signal} within {timeout_s} s")
    return got[0]


class Probe:
    """Event-loop lateness and brush event times over one measuring window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.stalls: list[float] = []
        self.brush_ms: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)
        self._stroke = QTimer()
        self._stroke.setInterval(STROKE_EVENT_MS)
        self._stroke.timeout.connect(self._brush_event)
        self._step = 0

    def run(self, seconds: float) -> None:
        self.stalls, self.brush_ms, self._step = [], [], 0
        self._last = time.perf_counter()
        self._timer.start()
        self._stroke.start()
        spin(seconds)
        self._timer.stop()
        self._stroke.stop()
        self._send(QMouseEvent.Type.MouseButtonRelease, QPointF(60, 60), Qt.MouseButton.NoButton)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stalls.append(max(0.0, (now - self._last) * 1000 - PROBE_MS))
        self._last = now

    def _send(self, kind: QMouseEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> float:
        canvas = self.window.canvas
        event = QMouseEvent(
            kind, pos, pos, Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
        )
        start = time.perf_counter()
        {
            QMouseEvent.Type.MouseButtonPress: canvas.mousePressEvent,
            QMouseEvent.Type.MouseMove: canvas.mouseMoveEvent,
            QMouseEvent.Type.MouseButtonRelease: canvas.mouseReleaseEvent,
        }[kind](event)
        return (time.perf_counter() - start) * 1000

    def _brush_event(self) -> None:
        """Strokes of 20 moves; a new stroke starts after each release."""
        phase = self._step % 22
        x = 40 + (self._step * 7) % 400
        y = 40 + (self._step // 22 * 13) % 400
        if phase == 0:
            self.brush_ms.append(
                self._send(QMouseEvent.Type.MouseButtonPress, QPointF(x, y), Qt.MouseButton.LeftButton)
            )
        elif phase == 21:
            self.brush_ms.append(
                self._send(QMouseEvent.Type.MouseButtonRelease, QPointF(x, y), Qt.MouseButton.NoButton)
            )
        else:
            self.brush_ms.append(
                self._send(QMouseEvent.Type.MouseMove, QPointF(x, y), Qt.MouseButton.LeftButton)
            )
        self._step += 1


def make_project(root: Path, data: Path | None, count: int) -> Path:
    """A project folder with ``count`` labelled images (copied from ``data``, or synthetic)."""
    folder = root / "project"
    (folder / "masks").mkdir(parents=True)
    if data is not None:
        images = sorted((data / "images").glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        for image in images[:count]:
            shutil.copy(image, folder / image.name)
            shutil.copy(data / "masks" / image.name, folder / "masks" / image.name)
        classes = default_classes(2)
    else:
        from tests.synthetic import write_shapes_folder

        made = write_shapes_folder(root / "synthetic", count, size=512)
        for path in made.glob("*.png"):
            shutil.copy(path, folder / path.name)
            shutil.copy(made / "masks" / path.name, folder / "masks" / path.name)
        classes = default_classes(3)
    save_project(Project(folder, classes=tuple(classes), train_settings=dict(TRAIN_SETTINGS)))
    return folder


def percentiles(values: list[float]) -> tuple[float, float, float]:
    array = np.asarray(values or [0.0])
    return float(np.percentile(array, 50)), float(np.percentile(array, 99)), float(array.max())


def headless_rate(folder: Path, classes, steps: int) -> tuple[float, float]:
    """Images per second of step time, and per second of wall time, training headless."""
    from model.training.data import find_samples, load_labelled
    from model.training.train import StepEnded, TrainSettings, fit, split_train_val

    images, _ = load_labelled(find_samples(folder, folder / "masks"), 1, len(classes))
    train, val = split_train_val(images, TRAIN_SETTINGS["val_fraction"], 0)
    settings = TrainSettings.from_dict({**TRAIN_SETTINGS, "max_steps": steps})
    events: list = []
    fit(
        settings,
        train,
        val,
        list(classes),
        on_event=lambda e: events.append(e) if isinstance(e, StepEnded) else None,
    )
    first, last = events[0], events[-1]
    done = (last.step - first.step) * settings.batch_size
    return done / (last.train_s - first.train_s), done / (last.elapsed_s - first.elapsed_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder with images/ and masks/ (default: synthetic)")
    parser.add_argument("--images", type=int, default=8, help="labelled images to train on")
    parser.add_argument("--seconds", type=float, default=30, help="length of each measuring window")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept alive until the end
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_project(root, args.data, args.images)
        window = MainWindow(QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()
        wait_for(window.state.image_opened, lambda: window.session.open_folder(folder))
        window.canvas.actual_size()
        window.tool_state.set_brush_radius(8)
        spin(8)  # the background torch import for the device label, thumbnails: let them finish
        probe = Probe(window)

        print(f"idle: measuring {args.seconds:.0f} s ...", flush=True)
        probe.run(args.seconds)
        idle = (percentiles(probe.stalls), percentiles(probe.brush_ms), len(probe.brush_ms))
        steps: list = []
        window.training.worker.step_ended.connect(steps.append)
        wait_for(window.training.worker.step_ended, window.training.train)
        print(f"training: measuring {args.seconds:.0f} s ...", flush=True)
        first = steps[0] if steps else None
        probe.run(args.seconds)
        busy = (percentiles(probe.stalls), percentiles(probe.brush_ms), len(probe.brush_ms))
        last = steps[-1]
        wait_for(window.training.finished, window.training.stop)
        from model.training.settings import TrainSettings

        batch = TrainSettings.from_dict(window.state.project.train_settings).batch_size
        in_app_steps = last.step - first.step
        app_step_rate = in_app_steps * batch / (last.train_s - first.train_s)
        app_wall_rate = in_app_steps * batch / (last.elapsed_s - first.elapsed_s)
        classes = window.state.project.classes
        window.close()
        print(f"headless: training {last.step} steps ...", flush=True)
        head_step_rate, head_wall_rate = headless_rate(folder, classes, last.step)

    print("\n### GUI responsiveness (offscreen, 2 ms probe timer, brush event every 30 ms)\n")
    print("| state | loop stall p50 | p99 | max | brush event p50 | p99 | max | brush events |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, ((s50, s99, smax), (b50, b99, bmax), n) in (("idle", idle), ("training", busy)):
        print(
            f"| {name} | {s50:.1f} ms | {s99:.1f} ms | {smax:.1f} ms | {b50:.2f} ms | {b99:.2f} ms "
            f"| {bmax:.2f} ms | {n} |"
        )
    print("\n### Training throughput in the app vs headless (same settings, same process)\n")
    print("| measure | in the app | headless | ratio |")
    print("| --- | --- | --- | --- |")
    print(
        f"| images/s of training steps | {app_step_rate:.1f} | {head_step_rate:.1f} "
        f"| {app_step_rate / head_step_rate:.2f} |"
    )
    print(
        f"| images/s of wall time (validation, previews) | {app_wall_rate:.1f} | {head_wall_rate:.1f} "
        f"| {app_wall_rate / head_wall_rate:.2f} |"
    )


if __name__ == "__main__":
    main()
