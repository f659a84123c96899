"""The TIFF path costs no quality: CamVid frames written as (3, H, W) uint16 TIFFs train to the
same validation mean IoU as the same frames as 8-bit PNGs, with the same steps and seed.

    python benchmarks/tiff_training.py [--camvid ../shared/data/camvid] [--steps 300]

Both folders hold the same pixels (the 16-bit values are the 8-bit ones x 257); the 8-bit
images are normalised from 0..255, the 16-bit ones from each channel's 0.1 and 99.9
percentiles, so the two runs differ only in that and in the reading path. Scored on CamVid's
validation frames (void value 11 not scored), each run on the frames of its own kind.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.classes import classes_from_names  # noqa: E402
from model.prediction.evaluation import evaluate_images  # noqa: E402
from model.storage.image_cache import DecodedCache  # noqa: E402
from model.storage.imageio import read_image, read_mask, write_mask  # noqa: E402
from model.training.data import find_samples  # noqa: E402
from model.training.settings import TrainSettings  # noqa: E402
from model.training.train import train_from_folders  # noqa: E402
from model.training.training_images import load_training_set  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from transfer import CAMVID_CLASSES, CAMVID_VOID  # noqa: E402


def write_split(source: Path, split: str, count: int, out: Path, kind: str, classes) -> None:
    paths = sorted((source / split / "images").glob("*.jpg"))
    step = max(1, len(paths) // count)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for path in paths[::step][:count]:
        rgb = read_image(path)
        if kind == "png":
            Image.fromarray(rgb).save(out / f"{path.stem}.png")
        else:
            tifffile.imwrite(out / f"{path.stem}.tif", np.moveaxis(rgb.astype(np.uint16) * 257, 2, 0))
        truth = read_mask(source / split / "labels" / f"{path.stem}.png", ignore_value=CAMVID_VOID)
        write_mask(out / "masks" / f"{path.stem}.png", truth, classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid", type=Path, default=ROOT.parent / "shared" / "data" / "camvid")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train", type=int, default=40)
    parser.add_argument("--val", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    classes = classes_from_names(CAMVID_CLASSES)
    settings = TrainSettings(
        preset="lite0",
        max_steps=args.steps,
        crop_size=256,
        batch_size=4,
        device="cpu",
        val_fraction=0.0,
        seed=args.seed,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, title in (("png", "8-bit RGB PNGs"), ("tif", "(3, H, W) uint16 TIFFs")):
            train, val = Path(tmp) / kind / "train", Path(tmp) / kind / "val"
            write_split(args.camvid, "train", args.train, train, kind, classes)
            write_split(args.camvid, "val", args.val, val, kind, classes)
            torch.manual_seed(args.seed)
            start = time.perf_counter()
            result = train_from_folders(train, train / "masks", settings, classes)
            seconds = time.perf_counter() - start
            checkpoint = result.checkpoint
            images, problems = load_training_set(
                find_samples(val, val / "masks"),
                checkpoint.config.in_channels,
                len(classes),
                cache=DecodedCache(0),
            )
            assert not problems, problems
            model = checkpoint.build_model().eval()
            metrics = evaluate_images(model, images, checkpoint.mean, checkpoint.std, torch.device("cpu"))
            rows.append((title, metrics.mean_iou, seconds))
            print(f"{title}: mean IoU {metrics.mean_iou:.3f} ({seconds:.0f} s)", file=sys.stderr)
    print(f"\n### CamVid as 8-bit PNGs and as 16-bit TIFFs: lite0, {args.steps} steps, seed {args.seed}\n")
    print("| frames | validation mean IoU | training time |")
    print("|---|---|---|")
    for title, iou, seconds in rows:
        print(f"| {title} | {iou:.3f} | {seconds:.0f} s |")
    print(f"| difference | {rows[1][1] - rows[0][1]:+.3f} | |")


if __name__ == "__main__":
    main()
