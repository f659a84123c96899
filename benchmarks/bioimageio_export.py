"""bioimage.io packages of three kinds of SegGUI model: the package's size, the export's time,
bioimageio.core's model test (its verdict and time), and the package opened back in SegGUI (as
Model > Open Model and ``predict --model NAME.zip`` open it) predicting two held-out images, one
of an odd size (301 x 333, padded to the package's step) and one predicted tile by tile (1200 x
1400): its classes against those of the model it came from through SegGUI's own Predictor (the
baseline, run in the same process: pixels differing, as a share, and both times).

    python benchmarks/bioimageio_export.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from limit_share import cpu_name

from model.classes import default_classes
from model.networks.bioimageio_export import export_bioimageio
from model.networks.checkpoint import Checkpoint
from model.networks.config import preset
from model.networks.package_info import PackageInfo
from model.networks.package_model import load_package
from model.networks.unet import build_unet
from model.prediction.predict import Predictor, machine_predictors

CLASSES = default_classes(3)


def scratch_grey() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from model.training.train import TrainSettings, fit
    from tests.synthetic import shapes_dataset, shapes_image

    settings = TrainSettings(max_steps=80, crop_size=64, batch_size=8, learning_rate=3e-3, device="cpu")
    checkpoint = fit(settings, shapes_dataset(12), [], CLASSES).checkpoint
    rng = np.random.default_rng(1)
    held_out = np.vstack([np.hstack([shapes_image(rng, 200)[0] for _ in range(7)]) for _ in range(6)])
    return checkpoint, shapes_image(rng, 256)[0], held_out


def pretrained_colour() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    from model.networks.weights import initial_checkpoint

    checkpoint = initial_checkpoint("lite0", CLASSES, "imagenet", allow_download=False)
    rng = np.random.default_rng(2)
    return checkpoint, *(rng.integers(0, 255, s, dtype=np.uint8) for s in ((256, 256, 3), (*LARGE, 3)))


def four_channels() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    config = preset("fast", num_classes=3, in_channels=4)
    checkpoint = Checkpoint(config, build_unet(config).state_dict(), CLASSES, (0.4,) * 4, (0.25,) * 4)
    rng = np.random.default_rng(3)
    return checkpoint, *(rng.integers(0, 60000, s, dtype=np.uint16) for s in ((256, 256, 4), (*LARGE, 4)))


LARGE = (1200, 1400)
ODD = (301, 333)


def timed_classes(predictor, image: np.ndarray) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = predictor.predict(image).classes
    return classes, time.perf_counter() - start


def main() -> None:
    from bioimageio.core import test_model

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for title, make in (
            ("1-channel scratch U-Net", scratch_grey),
            ("3-channel ImageNet encoder (lite0)", pretrained_colour),
            ("4-channel 16-bit", four_channels),
        ):
            checkpoint, test_image, held_out = make()
            out = Path(folder) / f"{len(rows)}.zip"
            start = time.perf_counter()
            export_bioimageio(checkpoint, test_image, out, PackageInfo(name=title))
            exported = time.perf_counter() - start
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                verdict = test_model(out).status
            tested = time.perf_counter() - start
            ours = Predictor(checkpoint, "cpu", precision="float32")
            package = machine_predictors(load_package(out), "cpu")[0]  # as the window opens it
            held = []
            for image in (held_out[: ODD[0], : ODD[1]], held_out[: LARGE[0], : LARGE[1]]):
                (baseline, base_s), (theirs, package_s) = (
                    timed_classes(ours, image),
                    timed_classes(package, image),
                )
                held.append((float(np.mean(baseline != theirs)), base_s, package_s))
            rows.append((title, out.stat().st_size / 1e6, exported, verdict, tested, held))
    print(f"\n{cpu_name()}, {os.cpu_count()} cores\n")
    print(
        "| model | package | export | bioimageio.core test | test time | 301 x 333 differing "
        "| 1200 x 1400 (tiled) differing | 1200 x 1400: model / package |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for title, size, exported, verdict, tested, held in rows:
        (odd, _, _), (large, base_s, package_s) = held
        cells = [
            title,
            f"{size:.1f} MB",
            f"{exported:.1f} s",
            verdict,
            f"{tested:.1f} s",
            f"{100 * odd:.3f} %",
            f"{100 * large:.3f} %",
            f"{base_s:.1f} s / {package_s:.1f} s",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
