"""What the command line prints while it works: training progress and summary, download,
tile and item counts, and ``evaluate --json``. Terminal or log, the same facts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from model.classes import ClassInfo
from model.words import counted, scored_on

TILE_REPORT_S = 2.0
"""A large image being predicted says how many of its tiles are done this often."""
PROGRESS_S = 10.0
"""Training without a terminal prints a progress line this often."""


class TrainingLog:
    """Training progress on stderr: one updating line on a terminal, else a plain line every
    ``PROGRESS_S`` seconds; a line per validation; and the closing summary on stdout."""

    def __init__(self, classes: list[ClassInfo], tty: bool, started: float | None = None) -> None:
        """``started``: ``time.perf_counter()`` when the command started (the time a run took,
        and its time limit, count from it)."""
        self.classes, self.tty = classes, tty
        self.started = time.perf_counter() if started is None else started
        self.last_line = -PROGRESS_S
        self.images = (0, 0)
        self.best: tuple[int, float] | None = None
        self.strokes = scored_on(False)  # what the scores are measured on

    def __call__(self, event: object) -> None:
        from model.training.train import UNTIL_THE_LIMIT, EpochEnded, StepEnded, TrainingStarted

        if isinstance(event, TrainingStarted):
            self.images = (event.train_images, event.val_images)
            self.strokes = scored_on(event.validating_on_training_images)
            held = " (scored on the training strokes)" if event.validating_on_training_images else ""
            length = (
                "until the time limit"
                if event.total_steps >= UNTIL_THE_LIMIT
                else f"{event.total_steps} steps at most"
            )
            print(
                f"training on {event.device}: {counted(event.train_images, 'image')}, "
                f"{event.val_images or 'none'} held out{held}; {length}",
                file=sys.stderr,
            )
        elif isinstance(event, StepEnded):
            now = time.perf_counter()
            if not self.tty and now - self.last_line < PROGRESS_S:
                return
            self.last_line = now
            gone = now - self.started
            left = gone * (1 - event.progress) / event.progress if event.progress > 0 else 0.0
            line = (
                f"step {event.step} ({100 * event.progress:.0f} %) loss {event.loss:.4f} "
                f"{event.images_per_s:.1f} crops/s, {duration(left)} left"
            )
            end = "" if self.tty else "\n"
            print(f"\r{line}" if self.tty else line, end=end, file=sys.stderr, flush=True)
        elif isinstance(event, EpochEnded) and event.metrics is not None:
            if event.best:
                self.best = (event.epoch, event.metrics.mean_iou)
            dice = " ".join(f"{c.name}={d:.3f}" for c, d in zip(self.classes, event.metrics.dice))
            print(
                f"\repoch {event.epoch} step {event.step} loss {event.train_loss:.4f} {self.strokes}: "
                f"mIoU {event.metrics.mean_iou:.4f} Dice {dice}{' (best)' if event.best else ''} "
                f"({duration(event.elapsed_s)})",
                file=sys.stderr,
            )

    def summary(self, out: Path, result: object, skipped: int) -> str:
        metrics = getattr(result, "best_metrics", None)
        if getattr(result, "kept_latest", False) and metrics is not None:
            best = f"latest weights kept (sparse strokes), mIoU {metrics.mean_iou:.4f}; "
        elif self.best:
            best = f"best mIoU {self.best[1]:.4f} at epoch {self.best[0]}; "
        elif metrics is not None:
            best = f"mIoU {metrics.mean_iou:.4f}; "
        else:
            best = ""
        stopped = ", stopped early" if getattr(result, "stopped", False) else ""
        scoring = getattr(result, "scoring", "not scored")
        return (
            f"saved {out}: trained on {counted(self.images[0], 'image')} ({self.images[1]} held out), "
            f"{skipped} skipped; {getattr(result, 'steps', 0)} steps{stopped}; {best}{scoring}; "
            f"{duration(time.perf_counter() - self.started)}"
        )


def duration(seconds: float) -> str:
    """``42 s`` or ``3 min 05 s``."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def metrics_json(metrics, classes: list[ClassInfo], images: int, skipped: list[str]) -> dict[str, object]:
    """``evaluate --json``: NaN (a class neither labelled nor predicted) becomes null."""

    def number(value: float) -> float | None:
        return None if value != value else round(float(value), 6)

    return {
        "images": images,
        "skipped": skipped,
        "classes": [
            {"name": info.name, "iou": number(iou), "dice": number(dice), "accuracy": number(acc)}
            for info, iou, dice, acc in zip(classes, metrics.iou, metrics.dice, metrics.class_accuracy)
        ],
        "mean_iou": number(metrics.mean_iou),
        "mean_dice": number(metrics.mean_dice),
        "mean_class_accuracy": number(metrics.mean_class_accuracy),
        "pixel_accuracy": number(metrics.pixel_accuracy),
        "confusion": metrics.confusion.tolist() if metrics.confusion is not None else None,
    }


def download_progress() -> Callable[[int, int], None]:
    """A callback printing a download's megabytes on one terminal line (every 10 % otherwise)."""
    tty = sys.stderr.isatty()
    shown = [-1]

    def show(done: int, total: int) -> None:
        tenth = 10 * done // total if total else -1
        if not tty and (tenth == shown[0] or not total):
            return
        shown[0] = tenth
        of = f" of {total / 1e6:.1f}" if total else ""
        end = "\n" if not tty or (total and done >= total) else ""
        print(
            f"\rdownloading ImageNet weights: {done / 1e6:.1f}{of} MB", end=end, file=sys.stderr, flush=True
        )

    return show


def count_progress(label: str) -> Callable[[object], None]:
    """A callback printing ``label i/n`` on one terminal line (every 10 % when not a terminal)."""
    tty = sys.stderr.isatty()

    def show(event: object) -> None:
        index, total = event.index, event.total  # type: ignore[attr-defined]
        if getattr(event, "share", 0.0):  # part of a file (a slide's rows): counted when it starts
            return
        if tty:
            print(
                f"\r{label} {index}/{total}", end="" if index < total else "\n", file=sys.stderr, flush=True
            )
        elif index == total or index % max(1, total // 10) == 0:
            print(f"{label} {index}/{total}", file=sys.stderr, flush=True)

    return show


def tile_progress() -> Callable[[Path, int, int], None]:
    """A callback saying every ``TILE_REPORT_S`` how many tiles of a large image are done."""
    last_line = [time.monotonic()]

    def show(image: Path, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_line[0] >= TILE_REPORT_S and done < total:
            print(f"  {image.name}: {done}/{total} tiles ({100 * done // total} %)", flush=True)
            last_line[0] = now

    return show


def print_metrics(args, metrics, classes: list[ClassInfo], readable: int, problems: list[str]) -> int:
    """``evaluate``'s report (``--json``, or a table; ``--confusion``); its exit status."""
    if args.json:
        print(json.dumps(metrics_json(metrics, classes, readable, problems), indent=1))
        return 1 if problems else 0
    print(f"{readable} images, {len(problems)} skipped")
    print(f"{'class':<20} {'IoU':>8} {'Dice':>8} {'accuracy':>9}")
    for info, iou, dice, acc in zip(classes, metrics.iou, metrics.dice, metrics.class_accuracy):
        print(f"{info.name:<20} {iou:>8.4f} {dice:>8.4f} {acc:>9.4f}")
    means = f"{metrics.mean_iou:>8.4f} {metrics.mean_dice:>8.4f} {metrics.mean_class_accuracy:>9.4f}"
    print(f"{'mean':<20} {means}")
    print(f"pixel accuracy {metrics.pixel_accuracy:.4f}")
    if args.confusion and metrics.confusion is not None:
        width = max(8, *(len(c.name) for c in classes)) + 1
        print("confusion (rows: true class, columns: predicted; labelled pixels)")
        print(" " * width + "".join(f"{c.name:>{width}}" for c in classes))
        for info, row in zip(classes, metrics.confusion):
            print(f"{info.name:<{width}}" + "".join(f"{int(v):>{width}}" for v in row))
    return 1 if problems else 0
