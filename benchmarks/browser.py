"""The image browser with 10,000 and 100,000 images: listing, filtering, thumbnails, stalls.

    QT_QPA_PLATFORM=offscreen python benchmarks/browser.py --counts 10000 100000

For each count makes a folder of small PNGs (a third with masks) and, in the real window:
opens it (until the list is filled and the first image shown), filters to "No mask" and back,
jumps to the end of the list and waits until the thumbnails of the rows in view are there.
Beside each time: the longest stall of the GUI thread meanwhile (a 1 ms timer's largest gap;
the rule is 50 ms), and ``os.listdir`` of the folder as the baseline in the same run. The last
column is the ratio of the largest count to the smallest. A small folder is opened first, so
that what the first folder of a session costs once (imports, first paint) is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from seggui.state.label_status import Status
from seggui.widgets.main_window import MainWindow


class StallProbe:
    """Largest gap between ticks of a 1 ms timer: how long the GUI thread was busy at once."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.last = 0
        self.worst = 0

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def start(self) -> None:
        self.clock.start()
        self.last, self.worst = 0, 0
        self.timer.start()

    def stop(self) -> int:
        self.timer.stop()
        self._tick()
        return self.worst


def wait_until(condition: Callable[[], bool], timeout_s: float = 600) -> None:
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    while not condition() and time.perf_counter() < deadline:
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def make_folder(root: Path, count: int) -> Path:
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(root / "one.png")
    Image.fromarray(np.ones((16, 16), np.uint8)).save(root / "mask.png")
    image_bytes, mask_bytes = (root / "one.png").read_bytes(), (root / "mask.png").read_bytes()
    (root / "one.png").unlink()
    (root / "mask.png").unlink()
    for i in range(count):
        (root / f"img{i:06d}.png").write_bytes(image_bytes)
        if i % 3 == 0:
            (root / "masks" / f"img{i:06d}.png").write_bytes(mask_bytes)
    return root


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def measure(window: MainWindow, folder: Path) -> dict[str, tuple[float, int]]:
    probe = StallProbe()
    figures: dict[str, tuple[float, int]] = {}
    start = time.perf_counter()
    os.listdir(folder)
    figures["os.listdir (baseline)"] = (time.perf_counter() - start, 0)

    opened: list[object] = []
    window.state.image_opened.connect(opened.append)
    probe.start()
    start = time.perf_counter()
    window.session.open_folder(folder)
    wait_until(lambda: bool(opened))
    figures["open folder until the first image shows"] = (time.perf_counter() - start, probe.stop())
    window.state.image_opened.disconnect(opened.append)

    browser = window.browser
    no_mask = browser.filter.findData(Status.NO_MASK)
    for label, index in (("filter to No mask", no_mask), ("filter back to All", 0)):
        probe.start()
        start = time.perf_counter()
        browser.filter.setCurrentIndex(index)
        wait_until(lambda: True)
        figures[label] = (time.perf_counter() - start, probe.stop())

    view, loader = browser.view, window.session.thumbnails
    probe.start()
    start = time.perf_counter()
    view.scrollToBottom()

    def visible_thumbnails_loaded() -> bool:
        top = view.indexAt(view.rect().topLeft())
        rows = view.viewport().height() // max(1, view.sizeHintForRow(0))
        if not top.isValid():
            return False
        for row in range(top.row(), min(top.row() + rows, browser.model.rowCount())):
            path = browser.path_at(row)
            if path is not None and loader.cached_image(path) is None:
                view.viewport().update()
                return False
        return True

    wait_until(visible_thumbnails_loaded)
    figures["jump to the end until its thumbnails show"] = (time.perf_counter() - start, probe.stop())
    figures["resident memory (MB)"] = (rss_mb(), 0)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
        warm = MainWindow(settings)  # what a first folder costs once per process is not measured
        warm.show()
        measure(warm, make_folder(root / "warm-up", 30))
        warm.close()
        for count in args.counts:
            print(f"making {count:,} images ...", flush=True)
            folder = make_folder(root / f"n{count}", count)
            window = MainWindow(settings)
            window.resize(1400, 900)
            window.show()
            app.processEvents()
            results[count] = measure(window, folder)
            window.close()
            app.processEvents()
    counts = sorted(results)
    small, large = counts[0], counts[-1]
    header = ["what", *(f"{c:,} images: time (longest stall)" for c in counts), f"{large:,} / {small:,}"]
    print("\n| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for what in results[small]:
        cells = []
        for count in counts:
            value, stall = results[count][what]
            cells.append(f"{value:.0f}" if "memory" in what else f"{1000 * value:.0f} ms ({stall} ms)")
        ratio = results[large][what][0] / max(results[small][what][0], 1e-9)
        print(f"| {what} | " + " | ".join(cells) + f" | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
