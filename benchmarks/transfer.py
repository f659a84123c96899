"""Transfer-learning benchmark: a pretrained-encoder preset against the scratch ``fast`` preset.

    python benchmarks/transfer.py --camvid ../shared/data/camvid --membrane ../shared/data/membrane

Each preset trains through ``model.training.train.fit`` as the app does (its default settings, its own
held-out fifth for model selection, "start from ImageNet" for encoder presets) for the same
wall-clock time: ``--camvid-minutes`` on CamVid's train frames (void value 11 read as "not
labelled"), scored on CamVid's val frames; ``--membrane-minutes`` on all but the last six
membrane slices, scored on those six. Prints one Markdown table with mean and per-class IoU and
training crops/s, the scratch preset being the baseline of the ratio column.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.classes import IGNORE_INDEX, ClassInfo, default_classes
from model.compute.device import choose_device, device_description
from model.networks.weights import initial_checkpoint
from model.storage.intensity import image_to_input
from model.training.data import LabelledImage, find_samples, load_labelled
from model.training.settings import TrainSettings
from model.training.train import StepEnded, evaluate_images, fit, split_train_val

CAMVID_CLASSES = [
    "sky",
    "building",
    "pole",
    "road",
    "pavement",
    "tree",
    "sign",
    "fence",
    "car",
    "pedestrian",
    "bicyclist",
]
CAMVID_VOID = 11


def load_camvid(root: Path, split: str, channels: int) -> list[LabelledImage]:
    """CamVid frames of ``split`` with labels; void becomes "not labelled"."""
    out = []
    for path in sorted((root / split / "images").glob("*.jpg")):
        raw = np.asarray(Image.open(path).convert("RGB"))
        mask = np.array(Image.open(root / split / "labels" / f"{path.stem}.png"))
        mask[mask == CAMVID_VOID] = IGNORE_INDEX
        out.append(LabelledImage(path, image_to_input(raw, channels), mask))
    return out


def load_membrane(root: Path, channels: int, holdout: int = 6) -> tuple[list, list]:
    samples = find_samples(root / "images", root / "masks")
    images, problems = load_labelled(samples, channels, 2)
    if problems:
        raise SystemExit(f"cannot benchmark on {root}: {problems}")
    return images[:-holdout], images[-holdout:]


def run(
    preset_name: str,
    classes: list[ClassInfo],
    train: list[LabelledImage],
    test: list[LabelledImage],
    minutes: float,
    device: str,
) -> dict[str, object]:
    """Train ``preset_name`` for ``minutes`` of wall-clock time; score it on ``test``."""
    settings = TrainSettings(preset=preset_name, time_budget_s=60 * minutes, epochs=10_000, device=device)
    start = time.perf_counter()
    init = initial_checkpoint(preset_name, classes, "imagenet")
    fit_train, fit_val = split_train_val(train, settings.val_fraction, settings.seed)
    rates: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            rates.append(event.images_per_s)
            if event.step % 500 == 0:
                print(f"  {preset_name}: step {event.step}, {event.elapsed_s:.0f} s", flush=True)

    result = fit(settings, fit_train, fit_val, classes, init=init, on_event=on_event)
    wall = time.perf_counter() - start
    model = result.checkpoint.build_model()
    torch_device = choose_device(device)
    metrics = evaluate_images(
        model.to(torch_device), test, result.checkpoint.mean, result.checkpoint.std, torch_device
    )
    assert metrics is not None
    return {
        "preset": preset_name,
        "start": result.checkpoint.config.encoder_weights or "random",
        "wall_s": wall,
        "steps": result.steps,
        "crops_per_s": float(np.median(rates[len(rates) // 10 :])) if rates else math.nan,
        "crop": settings.crop_size,
        "miou": metrics.mean_iou,
        "iou": list(metrics.iou),
    }


def print_table(title: str, names: list[str], rows: list[dict[str, object]]) -> None:
    baseline = rows[-1]["miou"]
    print(f"\n### {title}\n")
    print(
        "| preset | start | wall time | steps | crops/s (crop) | mean IoU | ratio | "
        + " | ".join(names)
        + " |"
    )
    print("| --- " * (7 + len(names)) + "|")
    for row in rows:
        ious = " | ".join(f"{v:.2f}" for v in row["iou"])  # type: ignore[union-attr]
        start = "ImageNet" if row["start"] != "random" else "random"
        print(
            f"| {row['preset']} | {start} | {row['wall_s']:.0f} s | {row['steps']} | "
            f"{row['crops_per_s']:.1f} ({row['crop']}) | {row['miou']:.3f} | "
            f"{row['miou'] / baseline:.2f}x | {ious} |"  # type: ignore[operator]
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camvid", type=Path, default=Path("../shared/data/camvid"))
    parser.add_argument("--membrane", type=Path, default=Path("../shared/data/membrane"))
    parser.add_argument("--camvid-minutes", type=float, default=10.0)
    parser.add_argument("--membrane-minutes", type=float, default=3.0)
    parser.add_argument("--presets", default="lite0,fast", help="comma-separated; the last is the baseline")
    parser.add_argument("--skip", choices=("camvid", "membrane"), help="run only the other data set")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    presets = args.presets.split(",")
    print(f"{device_description(choose_device(args.device))}, torch {torch.__version__}", flush=True)
    results: dict[str, list[dict[str, object]]] = {}
    if args.skip != "camvid":
        classes = [dataclasses.replace(c, name=n) for c, n in zip(default_classes(11), CAMVID_CLASSES)]
        rows = []
        for name in presets:
            channels = 3
            train = load_camvid(args.camvid, "train", channels)
            val = load_camvid(args.camvid, "val", channels)
            rows.append(run(name, classes, train, val, args.camvid_minutes, args.device))
            print(json.dumps(rows[-1]), flush=True)
        results["camvid"] = rows
        print_table(
            f"CamVid val (101 frames) after {args.camvid_minutes:g} min of training on 367 train frames",
            CAMVID_CLASSES,
            rows,
        )
    if args.skip != "membrane":
        rows = []
        for name in presets:
            from model.networks.config import PRESETS

            channels = 3 if PRESETS[name].encoder else 1
            train, test = load_membrane(args.membrane, channels)
            rows.append(run(name, default_classes(2), train, test, args.membrane_minutes, args.device))
            print(json.dumps(rows[-1]), flush=True)
        results["membrane"] = rows
        print_table(
            f"Membrane hold-out (last 6 of 30 slices) after {args.membrane_minutes:g} min of training",
            ["background", "membrane"],
            rows,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
