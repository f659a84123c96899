"""Training crops/s before and after the CPU precision choice, with this machine's ceilings.

    python benchmarks/training_precision.py [--membrane ../shared/data/membrane]
        [--camvid ../shared/data/camvid] [--budget 45]

"Before" trains in float32 (``amp`` off, what every CPU run did); "after" is the app's default
(``amp`` on: on a CPU with AMX the first steps time bfloat16 against float32 and keep the faster,
``model.compute.precision``). ``fast`` trains on the membrane slices (grey, 2 classes) from
scratch, ``lite0`` on CamVid frames (colour, 11 classes) from ImageNet, both with the app's
default settings for the same wall-clock time, in the order before, after, after, before (the
host drifts; each figure is the mean of its two runs). Crops/s counts the steps after the
precision trial; the held-out mean IoU is scored in float32. The float32 and bfloat16 matmul
ceilings are measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine import matmul_gflops  # noqa: E402
from transfer import CAMVID_CLASSES, load_camvid, load_membrane  # noqa: E402

from model.classes import classes_from_names, default_classes  # noqa: E402
from model.compute.precision import cpu_has_amx  # noqa: E402
from model.networks.weights import initial_checkpoint  # noqa: E402
from model.prediction.evaluation import evaluate_images, split_train_val  # noqa: E402
from model.training.settings import TrainSettings  # noqa: E402
from model.training.train import StepEnded, fit  # noqa: E402

TRIAL_STEPS = 14
"""Steps not counted in crops/s: the precision trial (two candidates, 1 + 5 steps each) and two."""


def train_once(preset: str, amp: bool, classes, train, test, budget_s: float, start: str) -> dict:
    settings = TrainSettings(preset=preset, amp=amp, time_budget_s=budget_s, epochs=10_000, device="cpu")
    fit_train, fit_val = split_train_val(train, settings.val_fraction, settings.seed)
    init = initial_checkpoint(preset, classes, start)
    marks: dict[str, float] = {}

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            if event.step == TRIAL_STEPS:
                marks["from_s"], marks["from_step"] = event.train_s, event.step
            marks["to_s"], marks["to_step"] = event.train_s, event.step

    result = fit(settings, fit_train, fit_val, classes, init=init, on_event=on_event)
    crops = (marks["to_step"] - marks["from_step"]) * settings.batch_size
    model = result.checkpoint.build_model()
    metrics = evaluate_images(model, test, result.checkpoint.mean, result.checkpoint.std, torch.device("cpu"))
    assert metrics is not None
    return {
        "crops_per_s": crops / max(marks["to_s"] - marks["from_s"], 1e-9),
        "precision": result.precision,
        "steps": result.steps,
        "miou": metrics.mean_iou,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--membrane", type=Path, default=ROOT.parent / "shared" / "data" / "membrane")
    parser.add_argument("--camvid", type=Path, default=ROOT.parent / "shared" / "data" / "camvid")
    parser.add_argument("--budget", type=float, default=45.0, help="training seconds per run")
    parser.add_argument("--camvid-train", type=int, default=60, help="CamVid train frames used")
    args = parser.parse_args()

    name = torch.backends.cpu.get_cpu_capability()
    print(
        f"CPU: {_cpu_model()} ({name}, AMX: {'yes' if cpu_has_amx() else 'no'}), "
        f"{torch.get_num_threads()} threads"
    )
    cpu = torch.device("cpu")
    f32, bf16 = matmul_gflops(cpu), matmul_gflops(cpu, dtype=torch.bfloat16)
    print(f"matmul ceiling: float32 {f32:.0f} GFLOP/s, bfloat16 {bf16:.0f} GFLOP/s")

    membrane_train, membrane_test = load_membrane(args.membrane, 1)
    camvid_train = load_camvid(args.camvid, "train", 3)[:: max(1, 367 // args.camvid_train)][
        : args.camvid_train
    ]
    camvid_test = load_camvid(args.camvid, "val", 3)[::5]
    camvid_classes = classes_from_names(CAMVID_CLASSES)
    cases = [
        ("fast", "membrane (grey, 2 classes)", default_classes(2), membrane_train, membrane_test, "scratch"),
        ("lite0", "CamVid (colour, 11 classes)", camvid_classes, camvid_train, camvid_test, "imagenet"),
    ]
    rows = []
    for preset, data, classes, train, test, start in cases:
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for amp in (False, True, True, False):
            began = time.perf_counter()
            run = train_once(preset, amp, classes, train, test, args.budget, start)
            runs[amp].append(run)
            print(
                f"  {preset} amp={amp}: {run['crops_per_s']:.1f} crops/s in {run['precision']}, "
                f"mIoU {run['miou']:.3f} ({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
        rows.append((preset, data, runs))

    print(
        f"\n### Training crops/s, float32 against the app's choice ({args.budget:.0f} s of training each)\n"
    )
    print("| preset | data | before: float32 crops/s | after: chosen | after: crops/s | after / before "
          "| held-out mIoU before | after |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for preset, data, runs in rows:
        before = float(np.mean([r["crops_per_s"] for r in runs[False]]))
        after = float(np.mean([r["crops_per_s"] for r in runs[True]]))
        chosen = "/".join(sorted({r["precision"] for r in runs[True]}))
        miou_before = np.mean([r["miou"] for r in runs[False]])
        miou_after = np.mean([r["miou"] for r in runs[True]])
        print(
            f"| {preset} | {data} | {before:.1f} | {chosen} | {after:.1f} | {after / before:.2f}x "
            f"| {miou_before:.3f} | {miou_after:.3f} |"
        )


def _cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else "unknown CPU"


if __name__ == "__main__":
    main()
