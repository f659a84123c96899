"""Training speed of every preset when another process takes one core, by torch thread count.

    python benchmarks/threads.py

Each configuration runs in a fresh process (OpenMP settings are read when torch loads): training
steps on synthetic data with each preset's default batch and crop, alone and beside a process
that keeps one core busy, with torch's intra-op threads fixed at each count and with SegGUI's
automatic choice (``model.compute.threads.ThreadTuner``, what ``fit`` uses). Prints a Markdown table of
crops/s with the ratio to the same preset alone at the full thread count, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spin(stop_at: float) -> None:
    """Keep one core busy (pure Python, like another program's work) until ``stop_at``."""
    x = 0
    while time.time() < stop_at:
        x = (x * 1103515245 + 12345) % 2**31


def measure(preset_name: str, threads: str, seconds: float) -> dict[str, float]:
    """Crops/s of ``preset_name`` training steps in this process; ``threads`` a count or 'auto'."""
    sys.path.insert(0, str(ROOT))
    import torch

    from model.classes import default_classes
    from model.training.settings import TrainSettings
    from model.training.train import StepEnded, fit
    from tests.synthetic import shapes_dataset

    images = shapes_dataset(16, size=256)
    settings = TrainSettings(preset=preset_name, time_budget_s=seconds, epochs=10_000, device="cpu")
    from model.networks.config import PRESETS

    if PRESETS[preset_name].encoder:  # three channels for a pretrained encoder
        images = [type(i)(i.path, i.image.repeat(3, axis=0), i.mask) for i in images]
    if threads != "auto":
        torch.set_num_threads(int(threads))
        settings = TrainSettings(**{**settings.to_dict(), "threads": int(threads)})
    crops: list[tuple[float, int]] = []
    threads_used: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            crops.append((event.elapsed_s, settings.batch_size))
            threads_used.append(event.threads)

    fit(settings, images, images[:1], default_classes(3), on_event=on_event)
    # The first fifth is warm-up (and the tuner's first trials).
    start = seconds / 5
    counted = [(t, n) for t, n in crops if t >= start]
    span = counted[-1][0] - counted[0][0] if len(counted) > 1 else 1.0
    late = threads_used[len(threads_used) // 2 :]
    return {
        "crops_per_s": sum(n for _, n in counted[1:]) / max(span, 1e-9),
        "threads_end": max(set(late), key=late.count),  # the count used most in the second half
    }


def run_child(preset_name: str, threads: str, seconds: float, busy: bool, env: dict[str, str]) -> dict:
    stop_at = time.time() + seconds + 60
    spinner = None
    if busy:
        spinner = multiprocessing.Process(target=_spin, args=(stop_at,), daemon=True)
        spinner.start()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", preset_name, threads, str(seconds)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=True,
        )
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", default="fast,lite0")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, threads, seconds = args.child
        print(json.dumps(measure(name, threads, float(seconds))))
        return
    cores = os.cpu_count() or 1
    counts = sorted({cores, max(1, cores - 1), max(1, cores // 2)}, reverse=True)
    print(f"{cores} cores; {args.seconds:.0f} s of training per configuration\n", flush=True)
    print("| preset | threads | alone: crops/s | one core busy: crops/s | busy / alone at full threads |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.presets.split(","):
        baseline = None
        for threads in [str(c) for c in counts] + ["auto"]:
            alone = run_child(name, threads, args.seconds, False, {})
            busy = run_child(name, threads, args.seconds, True, {})
            if baseline is None:
                baseline = alone["crops_per_s"]
            label = threads if threads != "auto" else f"auto (ended at {busy['threads_end']})"
            print(
                f"| {name} | {label} | {alone['crops_per_s']:.1f} | {busy['crops_per_s']:.1f} | "
                f"{busy['crops_per_s'] / baseline:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
