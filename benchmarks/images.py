"""Opening the TIFFs microscopes and satellites write: time to the first view and peak memory,
against ``tifffile.imread`` of the same file in the same run; and reading one plane of a stack.

    python benchmarks/images.py [--quick]

Each file is written once with tifffile; each measurement runs in a fresh process (peak
resident memory is the process's high-water mark over what it held before the call). "first
view" is ``seggui.controllers.loading.load_image``, what the window's loading thread does before the image
is on screen: the read, the composite of every channel with its automatic contrast, the
histograms and an empty mask; the GUI thread then only swaps the finished picture in (timed
as "GUI stall", in the same process, with the channel controls rebuilt).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import numpy as np, tifffile

def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

kind, path = sys.argv[2], sys.argv[3]
if kind == "tifffile":
    before = high_water(); start = time.perf_counter()
    array = tifffile.imread(path, maxworkers=1)
    seconds = time.perf_counter() - start
    print(array.nbytes, high_water() - before, seconds, 0.0)
elif kind == "plane":
    from model.storage.imageio import read_image
    read_image(path, plane=0)  # imports and the header parse warmed
    start = time.perf_counter()
    for plane in range(1, 11):
        array = read_image(path, plane=plane)
    print(array.nbytes, 0, (time.perf_counter() - start) / 10, 0.0)
elif kind == "switch":
    from pathlib import Path
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from seggui.widgets.main_window import MainWindow
    app = QApplication([])
    window = MainWindow(QSettings(str(Path(path).parent / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1200, 800); window.show()
    clock, gaps, last = QElapsedTimer(), [], [0.0]
    clock.start()
    def tick():
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0] - 2.0); last[0] = now
    timer = QTimer(); timer.setInterval(2); timer.timeout.connect(tick)
    from PySide6.QtCore import QEventLoop
    loop = QEventLoop()  # waits asleep: a spinning wait would take a core from the loading thread
    window.state.image_opened.connect(lambda _: loop.quit())
    window.session.open_folder(Path(path).parent)
    loop.exec()
    window.session.thumbnails.jobs.wait(30000)  # the list's previews are made, and torch imported for the
    window.service.jobs.wait(120000)  # device label: then only the switches run
    switches = []
    last[0] = clock.nsecsElapsed() / 1e6
    timer.start()
    for step in range(20):
        start = time.perf_counter()
        window.plane_bar.step(1 if step < 10 else -1)
        loop.exec()
        switches.append(time.perf_counter() - start)
    timer.stop()
    print(0, 0, float(np.median(switches)), max(gaps) / 1000, flush=True)
    window.close()  # the window's way out: masks saved, threads ended (seggui.app.exit_when_closed)
    os._exit(0)
else:
    from PySide6.QtWidgets import QApplication
    from model.classes import default_classes
    from seggui.controllers.loading import load_image
    from seggui.state.channel_display import ChannelDisplay
    from seggui.widgets.channel_panel import ChannelPanel
    from seggui.canvas.layers import ImageLayer
    app = QApplication([])
    display, layer = ChannelDisplay(), ImageLayer()
    panel = ChannelPanel(display)
    before = high_water(); start = time.perf_counter()
    from pathlib import Path
    loaded = load_image(Path(path), Path(path + ".mask.png"), tuple(default_classes(2)))
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    display.show_image(loaded.views, loaded.histograms)
    layer.set_image(loaded.display)
    app.processEvents()
    stall = time.perf_counter() - start
    print(loaded.raw.nbytes, high_water() - before, seconds, stall)
"""


def _files(folder: Path, quick: bool) -> list[tuple[str, Path]]:
    import tifffile

    rng = np.random.default_rng(0)
    scale = 4 if quick else 1
    made = []

    def write(name: str, array: np.ndarray, **options: object) -> None:
        (folder / str(len(made))).mkdir()
        path = folder / str(len(made)) / f"{name}.tif"  # a folder each: the window opens it alone
        tifffile.imwrite(path, array, **options)
        made.append((name, path))

    side = 2048 // scale
    write(f"2-channel {side} x {side} 16-bit", rng.integers(0, 4000, (2, side, side), dtype=np.uint16))
    side = 4096 // scale
    write(f"5-channel {side} x {side} 16-bit", rng.integers(0, 4000, (5, side, side), dtype=np.uint16))
    write(
        "31-plane 512 x 512 16-bit stack (ImageJ)",
        rng.integers(0, 4000, (31, 512, 512), dtype=np.uint16),
        imagej=True,
        metadata={"axes": "ZYX"},
    )
    side = 8192 // scale
    geo = [(33550, 12, 3, (10.0, 10.0, 0.0), True), (33922, 12, 6, (0, 0, 0, 500000.0, 5600000.0, 0), True)]
    write(
        f"8-band {side} x {side} 16-bit GeoTIFF (planar, tiled, Deflate)",
        rng.integers(0, 4000, (8, side, side), dtype=np.uint16),
        planarconfig="separate",
        photometric="minisblack",
        tile=(512, 512),
        compression="zlib",
        compressionargs={"level": 1},
        extratags=geo,
    )
    return made


def _probe(kind: str, path: Path) -> tuple[int, int, float, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), kind, str(path)], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    nbytes, peak, seconds, stall = done.stdout.split()
    return int(nbytes), int(peak), float(seconds), float(stall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sides a quarter as long (a smoke run)")
    args = parser.parse_args()
    print("\n### Opening microscopy and remote-sensing TIFFs\n")
    print(
        "| file | array | tifffile.imread | SegGUI first view | ratio | extra peak memory / array: "
        "tifffile, SegGUI | GUI stall |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _files(Path(tmp), args.quick):
            nbytes, base_peak, base_s, _ = _probe("tifffile", path)
            shown_bytes, peak, seconds, stall = _probe("view", path)
            print(
                f"| {name} | {nbytes / 1e6:.0f} MB read, {shown_bytes / 1e6:.0f} MB shown | {base_s:.3f} s | "
                f"{seconds:.3f} s | {seconds / base_s:.1f}x | {base_peak / nbytes:.2f}x, "
                f"{peak / shown_bytes:.2f}x | {stall * 1000:.1f} ms |"
            )
            if "stack" in name:
                plane_bytes, _, plane_s, _ = _probe("plane", path)
                print(f"| one other plane of it (`read_image(plane=k)`) | {plane_bytes / 1e6:.1f} MB | | "
                      f"{plane_s * 1000:.1f} ms | | | |")  # fmt: skip
                _, _, switch_s, gap_s = _probe("switch", path)
                print(f"| switching planes in the window (. key, to the plane on screen; median of 20) | | | "
                      f"{switch_s * 1000:.1f} ms | | | {gap_s * 1000:.1f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
