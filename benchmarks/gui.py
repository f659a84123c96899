"""GUI benchmark: folder listing, brush latency, image switching and memory, offscreen.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py

Each figure comes with a baseline measured in the same run (machines here are noisy): listing
against a bare ``os.listdir``, brush events against repainting the whole mask per event.
Prints Markdown tables.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from seggui.state.document import Rect
from seggui.widgets.main_window import MainWindow


def wait_for(signal, action, timeout_ms: int = 120_000) -> float:
    """Run ``action`` and spin the event loop until ``signal`` fires; returns seconds taken."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    start = time.perf_counter()
    action()
    loop.exec()
    signal.disconnect(loop.quit)
    return time.perf_counter() - start


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def make_folder(root: Path, count: int, size: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (size, size), dtype=np.uint8)
    for i in range(count):
        Image.fromarray(np.roll(base, i, axis=1)).save(root / f"img{i:05d}.png", compress_level=1)
    return root


def brush_ms_per_event(window: MainWindow, events: int, whole_image: bool) -> float:
    """Mean time of one brush move event, repaint included (processEvents after each)."""
    app = QApplication.instance()
    canvas = window.canvas
    canvas.actual_size()
    window.tool_state.set_tool("brush")
    window.tool_state.set_brush_radius(10)
    height, width = window.state.document.shape
    full = Rect(0, 0, width, height)
    if whole_image:  # the naive way: re-colour and repaint the whole mask on every event
        window.editor.region_changed.connect(lambda _: canvas.mask_layer.refresh(full))
    press = QMouseEvent(
        QMouseEvent.Type.MouseButtonPress,
        QPointF(50, 50),
        QPointF(50, 50),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    canvas.mousePressEvent(press)
    app.processEvents()
    start = time.perf_counter()
    for i in range(events):
        x, y = 50 + (i * 3) % 400, 50 + (i * 7) % 300
        move = QMouseEvent(
            QMouseEvent.Type.MouseMove,
            QPointF(x, y),
            QPointF(x, y),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        canvas.mouseMoveEvent(move)
        app.processEvents()
    elapsed = time.perf_counter() - start
    release = QMouseEvent(
        QMouseEvent.Type.MouseButtonRelease,
        QPointF(50, 50),
        QPointF(50, 50),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    canvas.mouseReleaseEvent(release)
    if whole_image:
        window.editor.region_changed.disconnect()
        window.editor.region_changed.connect(canvas.mask_layer.refresh)
    return 1000 * elapsed / events


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        window.resize(1400, 900)
        window.show()
        app.processEvents()

        print("making 10,000 small images ...", flush=True)
        many = make_folder(root / "many", 10_000, 16)
        start = time.perf_counter()
        os.listdir(many)
        baseline_list = time.perf_counter() - start
        list_s = wait_for(window.session.folder_opened, lambda: window.session.open_folder(many))

        print("making large images ...", flush=True)
        sizes = {}
        for side in (1024, 8192):
            folder = make_folder(root / f"big{side}", 2, side)
            wait_for(window.state.image_opened, lambda f=folder: window.session.open_folder(f))
            switch_s = wait_for(window.state.image_opened, lambda: window.session.step_image(1))
            partial = brush_ms_per_event(window, 200, whole_image=False)
            whole = brush_ms_per_event(window, 20 if side > 2000 else 60, whole_image=True)
            sizes[side] = (switch_s, partial, whole)

        print("browsing 1,000 images ...", flush=True)
        browse = make_folder(root / "browse", 1000, 512)
        wait_for(window.state.image_opened, lambda: window.session.open_folder(browse))
        memory = {}
        for i in range(1, 1000):
            wait_for(window.state.image_opened, lambda: window.session.step_image(1))
            if i in (100, 999):
                app.processEvents()
                memory[i + 1] = rss_mb()
        window.close()

    print("\n### Folder listing (10,000 images)\n")
    print("| what | time | ratio to os.listdir |")
    print("| --- | --- | --- |")
    print(f"| open folder until listed | {1000 * list_s:.0f} ms | {list_s / baseline_list:.0f}x |")
    print("\n### Brush and switching (offscreen, repaint included)\n")
    print("| image | ms per brush move event | whole-mask repaint per event | ratio | switch image |")
    print("| --- | --- | --- | --- | --- |")
    for side, (switch_s, partial, whole) in sizes.items():
        print(
            f"| {side} x {side} | {partial:.2f} ms | {whole:.1f} ms | {whole / partial:.0f}x faster "
            f"| {1000 * switch_s:.0f} ms |"
        )
    print("\n### Memory while browsing 512 x 512 images\n")
    print("| after | resident memory | ratio to after 101 |")
    print("| --- | --- | --- |")
    for count, mb in memory.items():
        print(f"| {count} images | {mb:.0f} MiB | {mb / memory[101]:.2f}x |")


if __name__ == "__main__":
    main()
