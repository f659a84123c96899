"""A large image against the time limit, Stop and Quit (issue #24, item 2).

    python benchmarks/time_limit.py [--limit 60] [--side 8000]

One folder: an 8000 x 8000 colour image and a 512 x 512 one, each with a few strokes of two
classes (the large one holds the hold-out strokes). Then, on this machine:

1. ``train`` with a time limit of ``--limit`` seconds, headless, in this process: the wall time
   from the call (loading included, as the limit counts) to the end of the run (the final
   scoring included) against the limit.
2. The same run stopped ``--stop-after`` seconds in: the time from Stop to the run's return.
3. The real window (offscreen, ``quit_driver.py``) on the folder closed with nothing running
   (the baseline), while it trains, and while it predicts the large image: the time from the
   close to the end of the process.

The baseline is the limit itself (target: the run within 97-102 % of it; Stop and Quit under 2 s).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.classes import IGNORE_INDEX, default_classes  # noqa: E402
from model.storage.imageio import write_mask  # noqa: E402
from model.training.train import TrainSettings, train_from_folders  # noqa: E402
from model.training.train_events import StepEnded  # noqa: E402

CLASSES = default_classes(2)
DRIVER = ROOT / "benchmarks" / "quit_driver.py"


def make_folder(root: Path, side: int) -> Path:
    """A large and a small image, bright disks on a dark ground, with strokes of both classes."""
    folder = root / "images"
    (folder / "masks").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, size in (("a-large.png", side), ("b-small.png", 512)):
        ys, xs = np.ogrid[:size, :size]
        cell = 256
        disks = ((ys % cell - cell // 2) ** 2 + (xs % cell - cell // 2) ** 2) < (cell // 3) ** 2
        noise = rng.integers(0, 40, (size, size), dtype=np.uint8)
        grey = np.where(disks, 180, 40).astype(np.uint8) + noise
        Image.fromarray(np.stack([grey] * 3, axis=-1)).save(folder / name)
        mask = np.full((size, size), IGNORE_INDEX, np.uint8)
        for k in range(6):  # a few strokes: through disk centres (class 1) and between (class 0)
            c = cell // 2 + k * cell
            if c + 40 < size:
                mask[c - 2 : c + 3, c - 40 : c + 40] = 1
                mask[c + cell // 2 - 2 : c + cell // 2 + 3, c - 40 : c + 40] = 0
        write_mask(folder / "masks" / f"{Path(name).stem}.png", mask, CLASSES)
    return folder


def timed_run(folder: Path, limit: float, stop_after: float | None) -> dict[str, float]:
    """Train headless; the times of the first step, the stop request and the return."""
    settings = TrainSettings(
        preset="fast", time_budget_s=limit, epochs=10_000, val_fraction=0.5, device="cpu"
    )
    first: list[float] = []
    stop = threading.Event()
    stop_at: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded) and not first:
            first.append(time.monotonic())
            if stop_after is not None:

                def request() -> None:
                    stop_at.append(time.monotonic())
                    stop.set()

                threading.Timer(stop_after, request).start()

    began = time.monotonic()
    result = train_from_folders(
        folder,
        folder / "masks",
        settings,
        CLASSES,
        out_path=folder / "models" / "m.pt",
        on_event=on_event,
        should_stop=stop.is_set,
        started=time.perf_counter(),
    )
    ended = time.monotonic()
    return {
        "loading_s": first[0] - began,
        "run_s": ended - began,
        "stop_to_idle_s": ended - stop_at[0] if stop_at else float("nan"),
        "steps": result.steps,
        "scored": result.best_metrics is not None,
    }


def quit_run(folder: Path, phase: str, after: float) -> float:
    """Seconds from the window's close to the end of its process."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "quit.log"
        command = [sys.executable, str(DRIVER), str(folder), str(log), phase, str(after)]
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        process.wait(timeout=900)
        ended = time.monotonic()
        lines = log.read_text().split() if log.exists() else []
        closed = float(lines[lines.index("closing") + 1]) if "closing" in lines else float("nan")
    return ended - closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--side", type=int, default=8000)
    parser.add_argument("--stop-after", type=float, default=20.0)
    parser.add_argument("--quit-after", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp), args.side)
        limited = timed_run(folder, args.limit, None)
        stopped = timed_run(folder, args.limit, args.stop_after)
        quit_idle = quit_run(folder, "idle", 3.0)
        quit_training = quit_run(folder, "training", args.quit_after)
        quit_predicting = quit_run(folder, "predicting", args.quit_after)
    print(f"\n### A {args.side} x {args.side} and a 512 x 512 image, a {args.limit:.0f} s time limit\n")
    print("| what | measured | target | ratio to the target |")
    print("|---|---|---|---|")
    print(
        f"| run, its call to its end (loading, {limited['loading_s']:.1f} s, and the final scoring "
        f"included) | {limited['run_s']:.1f} s ({limited['steps']} steps, scored: {limited['scored']}) "
        f"| 97-102 % of {args.limit:.0f} s | {limited['run_s'] / args.limit:.3f}x of the limit |"
    )
    print(
        f"| Stop {args.stop_after:.0f} s in, to idle | {stopped['stop_to_idle_s']:.2f} s | 2 s "
        f"| {stopped['stop_to_idle_s'] / 2:.2f} |"
    )
    print(f"| Quit with nothing running (baseline), to process exit | {quit_idle:.2f} s | | |")
    print(f"| Quit while training, to process exit | {quit_training:.2f} s | 2 s | {quit_training / 2:.2f} |")
    print(
        f"| Quit while the large image is predicted, to process exit | {quit_predicting:.2f} s | 2 s "
        f"| {quit_predicting / 2:.2f} |"
    )


if __name__ == "__main__":
    main()
