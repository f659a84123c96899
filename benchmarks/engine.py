"""Engine benchmark: training speed and quality on a real data set, and prediction latency.

    python benchmarks/engine.py ../shared/data/membrane --budget 180

Trains the default preset with SegGUI's recipe and the ``seed`` preset with the tutorial's plain
loop (Adam 1e-3, BCE, no augmentation) for the same training time on all but the last
``--holdout`` images, scoring the held-out images after every epoch; then times prediction at
512, 1024 and 4096 pixels square for each prediction engine (float32 with batch norms apart;
folded and fused; the app's 16-bit engine where this device has one: bfloat16 on a CPU with
AMX) against this machine's matmul ceilings, measured in the same run, and scores each engine
on the held-out images (after training, or with ``--model``). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.classes import default_classes
from model.compute.device import choose_device, device_description
from model.compute.precision import autocast_dtype, precision_name
from model.networks.checkpoint import Checkpoint, load_checkpoint
from model.networks.unet import DEFAULT_PRESET, build_unet, preset
from model.prediction.metrics import confusion_matrix, metrics_from_confusion
from model.prediction.predict import Predictor
from model.storage.imageio import read_image
from model.training.data import find_samples, load_labelled
from model.training.train import EpochEnded, StepEnded, TrainSettings, fit

TARGET_MIOU = 0.80


@dataclass
class RunResult:
    name: str
    images_per_s: float = 0.0
    time_to_target_s: float = math.nan
    curve: list[tuple[float, float]] = field(default_factory=list)
    final_miou: float = math.nan


def matmul_gflops(
    device: torch.device, n: int = 2048, repeats: int = 4, trials: int = 5, dtype: torch.dtype | None = None
) -> float:
    """Best sustained matmul rate over a few trials: the compute ceiling of this machine.

    ``dtype`` default: float32 on the CPU; float16 on CUDA, where prediction runs under autocast.
    """
    dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    if device.type == "cuda":
        n, repeats = 8192, 20
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(trials):
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_for(name: str, settings: TrainSettings, train, val, budget_s: float) -> RunResult:
    """Train until ``budget_s`` seconds of training steps (validation time not counted)."""
    result = RunResult(name)
    last = {"train_s": 0.0, "images": 0}

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            last["train_s"] = event.train_s
            last["images"] += settings.batch_size
        elif isinstance(event, EpochEnded) and event.metrics is not None:
            miou = event.metrics.mean_iou
            result.curve.append((event.train_s, miou))
            if math.isnan(result.time_to_target_s) and miou >= TARGET_MIOU:
                result.time_to_target_s = event.train_s
            print(f"  {name}: {event.train_s:6.1f} s  epoch {event.epoch:3d}  mIoU {miou:.4f}", flush=True)

    settings = dataclasses.replace(settings, time_budget_s=budget_s, epochs=10_000)
    out = fit(settings, train, val, default_classes(2), on_event=on_event)
    result.images_per_s = last["images"] / max(last["train_s"], 1e-9)
    result.final_miou = out.best_metrics.mean_iou if out.best_metrics else math.nan
    result.checkpoint = out.checkpoint  # type: ignore[attr-defined]
    return result


def forward_gflop(config, size: int) -> float:
    model = build_unet(config).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, config.in_channels, size, size))
    return counter.get_total_flops() / 1e9


def latency_s(predictor: Predictor, size: int, repeats: int) -> float:
    raw = np.random.default_rng(0).integers(0, 256, (size, size), dtype=np.uint8)
    predictor.predict(raw[:512, :512])  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict(raw)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def holdout_miou(predictor: Predictor, images: list) -> float:
    """Mean IoU of ``predictor`` over held-out images read from their files as the app reads them."""
    classes = predictor.model.config.num_classes
    confusion = np.zeros((classes, classes), dtype=np.int64)
    for item in images:
        predicted = predictor.predict(read_image(item.path)).classes
        confusion += confusion_matrix(item.mask, predicted, classes)
    return metrics_from_confusion(confusion).mean_iou


def compare_recipes(args: argparse.Namespace, train: list, val: list) -> Checkpoint:
    """Train both recipes for the same time, print the table, return the default preset's model."""
    ours_settings = TrainSettings(device=args.device, preset=args.preset)
    ours = train_for(
        args.preset,
        ours_settings,
        train,
        val,
        args.budget,
    )
    seed_settings = TrainSettings(
        preset="seed",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        loss="bce",
        augment=False,
        schedule="constant",
        ema_decay=0.0,
        batch_size=2,
        crop_size=256,
        device=args.device,
        epochs=10_000,
    )
    seed = train_for("seed", seed_settings, train, val, args.budget)

    print(
        f"\n### Training on {args.data.name} ({len(train)} train / {len(val)} held out, "
        f"{args.budget:.0f} s of training each)\n"
    )
    print(
        "| recipe | crop | training crops/s | training Mpixel/s | time to mIoU 0.80 | mIoU after equal time "
        "| ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run, crop in ((ours, ours_settings.crop_size), (seed, seed_settings.crop_size)):
        reach = f"{run.time_to_target_s:.0f} s" if not math.isnan(run.time_to_target_s) else "not reached"
        ratio = run.final_miou / seed.final_miou
        mpx = run.images_per_s * crop * crop / 1e6
        print(
            f"| {run.name} | {crop} | {run.images_per_s:.2f} | {mpx:.2f} | {reach} | {run.final_miou:.4f} "
            f"| {ratio:.2f}x |"
        )
    return ours.checkpoint  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, nargs="?", default=Path("../shared/data/membrane"))
    parser.add_argument("--holdout", type=int, default=6)
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per recipe")
    parser.add_argument("--latency-only", action="store_true", help="skip training; time prediction only")
    parser.add_argument("--device", default="cpu", help="cpu (the figures in the README), cuda, auto")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="preset trained with SegGUI's recipe")
    parser.add_argument(
        "--model",
        type=Path,
        help="a trained model file: skip training, time it and score it on the held-out images",
    )
    args = parser.parse_args()
    device = choose_device(args.device)

    samples = find_samples(args.data / "images", args.data / "masks")
    images, problems = load_labelled(samples, in_channels=1, num_classes=2)
    if problems or len(images) <= args.holdout:
        raise SystemExit(f"cannot benchmark on {args.data}: {problems or 'too few images'}")
    train, val = images[: -args.holdout], images[-args.holdout :]
    print(f"{device_description(device)}; {len(train)} training and {len(val)} held-out images")
    ceiling = matmul_gflops(device)
    print(f"matmul ceiling: {ceiling:.0f} GFLOP/s")

    config = preset(args.preset, in_channels=1, num_classes=2)
    if args.model is not None:
        checkpoint = load_checkpoint(args.model)
        config = checkpoint.config
    elif args.latency_only:  # latency does not depend on the weights
        checkpoint = Checkpoint(config, build_unet(config).state_dict(), default_classes(2), (0.5,), (0.25,))
    else:
        checkpoint = compare_recipes(args, train, val)
    engines = {
        "float32, batch norms apart": Predictor(checkpoint, device, fold=False, precision="float32"),
        "float32, batch norms folded, ReLUs fused": Predictor(checkpoint, device, precision="float32"),
    }
    half = autocast_dtype(device)
    if half is not None:
        engines[f"{precision_name(half)}, folded and fused (the app's here)"] = Predictor(checkpoint, device)
    else:
        print("no 16-bit engine on this device (a CPU without AMX): the app predicts in float32")
    ceilings = {None: ceiling}
    if half is not None:
        ceilings[half] = matmul_gflops(device, dtype=half)
        print(f"{precision_name(half)} matmul ceiling: {ceilings[half]:.0f} GFLOP/s")
    print(
        f"\n### Prediction latency ({args.preset} preset, {device_description(device)}, "
        f"float32 matmul ceiling {ceiling:.0f} GFLOP/s)\n"
    )
    print(
        "| engine | image | latency | GFLOP | float32 FLOP-count limit | latency / limit "
        "| latency / its own precision's limit |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, repeats in ((512, 5), (1024, 3), (4096, 1)):
        gflop = forward_gflop(config, min(size, 1024)) * (size / min(size, 1024)) ** 2
        limit = gflop / ceiling
        for name, predictor in engines.items():
            seconds = latency_s(predictor, size, repeats)
            own = seconds / (gflop / ceilings[predictor.dtype]) if device.type == "cpu" else math.nan
            print(
                f"| {name} | {size} x {size} | {seconds:.3f} s | {gflop:.1f} | {limit:.3f} s "
                f"| {seconds / limit:.2f}x | {own:.2f}x |"
            )
    if args.model is not None or not args.latency_only:
        print(f"\n| engine | held-out mean IoU ({len(val)} images) | difference to float32 apart |")
        print("| --- | --- | --- |")
        scores = {name: holdout_miou(predictor, val) for name, predictor in engines.items()}
        reference = next(iter(scores.values()))
        for name, score in scores.items():
            print(f"| {name} | {score:.4f} | {score - reference:+.4f} |")
    probs = torch.rand(config.num_classes, 1024, 1024)
    picks = {
        "argmax(dim=0)": lambda: probs.argmax(dim=0),
        "max(dim=0).indices (the app's)": lambda: probs.max(dim=0).indices,
    }
    print("\n| class map of 1024 x 1024 probabilities | time |\n| --- | --- |")
    for name, pick in picks.items():
        pick()
        start = time.perf_counter()
        for _ in range(5):
            pick()
        print(f"| {name} | {(time.perf_counter() - start) / 5 * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
