"""Quality per CPU minute: a commit's recipe against this checkout's, alternated, as a user runs it
(issue #39).

    python benchmarks/quality.py --before COMMIT [--sets camvid,membrane,four] [--rounds 2]

Each run is ``python main.py train --time-budget LIMIT`` as a process with the default settings, on:

- ``camvid``: CamVid's 367 train frames (void value 11 not labelled), 600 s, scored on its 101
  val frames;
- ``membrane``: the first 24 ISBI membrane slices, 180 s, scored on the last 6;
- ``four``: a synthetic 4-channel 16-bit set made here (48 training images, 12 scored), 120 s,
  whose three classes each show in other channels.

``before`` is the ``--before`` commit's ``main.py``, ``after`` this checkout's. The saved
model is then scored as a user's ``predict`` would predict (``Predictor`` on the image files)
over the labelled pixels of the held-out images. The two run in alternated order (before,
after; then after, before; ...), so a machine that slows over the hour weighs on both alike.
Prints a Markdown table per set with the CPU it ran on: every run, then the mean of the rounds
and the change. Run it alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from limit_share import cpu_name  # noqa: E402
from transfer import CAMVID_CLASSES  # noqa: E402

from model.classes import ClassInfo  # noqa: E402
from model.networks.checkpoint import load_checkpoint  # noqa: E402
from model.prediction.metrics import confusion_matrix, metrics_from_confusion  # noqa: E402
from model.prediction.predict import Predictor  # noqa: E402
from model.storage.imageio import read_image, read_mask, write_mask  # noqa: E402
from model.training.data import find_samples  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


VARIANTS = ("before", "after")
"""``before``: ``main.py`` of the ``--before`` commit (a git worktree made for the run);
``after``: this checkout's. Both are scored by this checkout's ``Predictor``."""


@dataclass(frozen=True)
class HeldOut:
    """A set to train on and the images and labels it is scored on."""

    name: str
    train_args: tuple[str, ...]
    seconds: int
    scored: list[tuple[Path, np.ndarray]]
    class_names: list[str]


def camvid(tmp: Path) -> HeldOut:
    root = DATA / "camvid"
    scored = [
        (path, read_mask(root / "val" / "labels" / f"{path.stem}.png", ignore_value=11))
        for path in sorted((root / "val" / "images").glob("*.jpg"))
    ]
    args = (
        "--images",
        str(root / "train/images"),
        "--masks",
        str(root / "train/labels"),
        "--ignore-value",
        "11",
    )
    return HeldOut("camvid", args, 600, scored, CAMVID_CLASSES)


def membrane(tmp: Path, held_out: int = 6) -> HeldOut:
    samples = find_samples(DATA / "membrane" / "images", DATA / "membrane" / "masks")
    images, masks = tmp / "membrane" / "images", tmp / "membrane" / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    for sample in samples[:-held_out]:
        (images / sample.image.name).symlink_to(sample.image)
        (masks / sample.mask.name).symlink_to(sample.mask)
    scored = [(s.image, read_mask(s.mask)) for s in samples[-held_out:]]
    return HeldOut(
        "membrane", ("--images", str(images), "--masks", str(masks)), 180, scored, ["background", "membrane"]
    )


def four_channel_cells(rng: np.random.Generator, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A (4, size, size) uint16 image of cells and their 3-class mask: cytoplasm bright in
    channel 1, nuclei in channel 2, the cells' rims in channel 3, channel 4 background glow
    only; every channel as noisy as its signal is strong (one pixel alone tells little)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    mask = np.zeros((size, size), np.uint8)
    rim = np.zeros((size, size), bool)
    for _ in range(rng.integers(5, 9)):
        cy, cx = rng.uniform(16, size - 16, 2)
        ry, rx = rng.uniform(12, 30, 2)
        angle = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / rx
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / ry
        r = u**2 + v**2
        mask[r <= 1] = 1
        rim |= (r <= 1) & (r > 0.75)
        mask[r <= 0.25 * rng.uniform(0.6, 1.4)] = 2
    glow = np.exp(
        -((yy - rng.uniform(0, size)) ** 2 + (xx - rng.uniform(0, size)) ** 2) / (2 * (size / 3) ** 2)
    )
    image = np.empty((4, size, size), np.float32)
    image[0] = 800 + 700 * (mask >= 1) + rng.normal(0, 1000, (size, size))
    image[1] = 1500 + 1500 * (mask == 2) + rng.normal(0, 1500, (size, size))
    image[2] = 300 + 600 * rim + rng.normal(0, 900, (size, size))
    image[3] = 2000 + 3000 * glow + rng.normal(0, 400, (size, size))
    return np.clip(image, 0, 65535).astype(np.uint16), mask


def four(tmp: Path, train: int = 48, held_out: int = 12) -> HeldOut:
    import tifffile

    classes = [
        ClassInfo("background", (40, 40, 255)),
        ClassInfo("cell", (230, 25, 75)),
        ClassInfo("nucleus", (0, 130, 200)),
    ]
    rng = np.random.default_rng(39)
    folder = tmp / "four"
    (folder / "masks").mkdir(parents=True)
    (tmp / "four_scored").mkdir()
    scored = []
    for index in range(train + held_out):
        image, mask = four_channel_cells(rng)
        if index < train:
            tifffile.imwrite(folder / f"cells{index:02d}.tif", image, photometric="minisblack")
            write_mask(folder / "masks" / f"cells{index:02d}.png", mask, classes)
        else:
            path = tmp / "four_scored" / f"cells{index:02d}.tif"
            tifffile.imwrite(path, image, photometric="minisblack")
            scored.append((path, mask))
    return HeldOut(
        "four",
        ("--images", str(folder), "--masks", str(folder / "masks")),
        120,
        scored,
        [c.name for c in classes],
    )


SETS = {"camvid": camvid, "membrane": membrane, "four": four}


def run(held: HeldOut, code: Path, tmp: Path) -> dict[str, object]:
    """Train with ``code``'s ``main.py`` as a process, then score the saved model on the
    held-out images."""
    out = tmp / "model.pt"
    command = [sys.executable, str(code / "main.py"), "train", *held.train_args]
    command += ["--time-budget", str(held.seconds), "--out", str(out), "--overwrite"]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=held.seconds * 3 + 300)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{held.name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    checkpoint = load_checkpoint(out)
    predictor = Predictor(checkpoint, "cpu")
    count = checkpoint.config.num_classes
    confusion = np.zeros((count, count), np.int64)
    began = time.perf_counter()
    for path, labels in held.scored:
        predicted = predictor.predict(read_image(path)).classes
        confusion += confusion_matrix(labels, predicted, count)
    scoring = time.perf_counter() - began
    metrics = metrics_from_confusion(confusion)
    steps = int(checkpoint.history[-1].get("step", 0)) if checkpoint.history else 0
    return {
        "took_s": took,
        "steps": steps,
        "predict_s": scoring / len(held.scored),
        "miou": metrics.mean_iou,
        "iou": [float(v) for v in metrics.iou],
    }


def print_table(held: HeldOut, rows: list[dict[str, object]]) -> None:
    names = held.class_names
    print(f"\n### {held.name}: {held.seconds} s limit, {len(held.scored)} held-out images\n")
    print("| run | variant | took | steps | predict s/image | mean IoU | " + " | ".join(names) + " |")
    print("| --- " * (6 + len(names)) + "|")
    for row in rows:
        ious = " | ".join(f"{v:.2f}" for v in row["iou"])  # type: ignore[union-attr]
        print(
            f"| {row['run']} | {row['variant']} | {row['took_s']:.0f} s | {row['steps']} | "
            f"{row['predict_s']:.2f} | {row['miou']:.3f} | {ious} |"
        )
    means = {}
    for name in VARIANTS:
        mine = [r for r in rows if r["variant"] == name]
        if mine:
            means[name] = (
                float(np.mean([r["miou"] for r in mine])),
                np.mean([r["iou"] for r in mine], axis=0),
            )
            ious = " | ".join(f"{v:.2f}" for v in means[name][1])
            print(f"| mean | {name} | | | | {means[name][0]:.3f} | {ious} |")
    if "before" in means and "after" in means:
        change = means["after"][1] - means["before"][1]
        cells = " | ".join(f"{v:+.2f}" for v in change)
        print(f"| change | after - before | | | | {means['after'][0] - means['before'][0]:+.3f} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="camvid,membrane,four")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", required=True, help="the commit whose recipe is the baseline")
    parser.add_argument(
        "--limit-scale", type=float, default=1.0, help="times every set's limit (a quick check)"
    )
    parser.add_argument("--json", type=Path, help="also write every run here")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}", flush=True)
    everything = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        before = tmp / "before"
        worktree = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*worktree, "add", "--detach", str(before), args.before], check=True)
        code = {"before": before, "after": ROOT}
        for set_name in args.sets.split(","):
            held = SETS[set_name](tmp)
            held = dataclasses.replace(held, seconds=max(1, round(held.seconds * args.limit_scale)))
            rows = []
            for round_index in range(args.rounds):
                order = VARIANTS if round_index % 2 == 0 else VARIANTS[::-1]
                for name in order:
                    row = {"run": len(rows) + 1, "variant": name, **run(held, code[name], tmp)}
                    print(json.dumps({"set": set_name, **row}), flush=True)
                    rows.append(row)
            print_table(held, rows)
            everything[set_name] = rows
        subprocess.run([*worktree, "remove", "--force", str(before)], check=True)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
