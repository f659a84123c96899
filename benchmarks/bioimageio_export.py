"""bioimage.io packages of three kinds of SegGUI model: the package's size, the export's time,
bioimageio.core's model test (its verdict and time), and on a held-out image the classes the
package predicts through bioimageio.core against the classes SegGUI's own Predictor gives
(the baseline: pixels differing, as a share).

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
from model.networks.unet import build_unet
from model.prediction.predict import Predictor

CLASSES = default_classes(3)


def scratch_grey() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from model.training.train import TrainSettings, fit
    from tests.synthetic import shapes_dataset, shapes_image

    settings = TrainSettings(max_steps=80, crop_size=64, batch_size=8, learning_rate=3e-3, device="cpu")
    checkpoint = fit(settings, shapes_dataset(12), [], CLASSES).checkpoint
    rng = np.random.default_rng(1)
    return checkpoint, shapes_image(rng, 256)[0], shapes_image(rng, 320)[0]


def pretrained_colour() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    from model.networks.weights import initial_checkpoint

    checkpoint = initial_checkpoint("lite0", CLASSES, "imagenet", allow_download=False)
    rng = np.random.default_rng(2)
    return checkpoint, *(rng.integers(0, 255, (s, s, 3), dtype=np.uint8) for s in (256, 320))


def four_channels() -> tuple[Checkpoint, np.ndarray, np.ndarray]:
    config = preset("fast", num_classes=3, in_channels=4)
    checkpoint = Checkpoint(config, build_unet(config).state_dict(), CLASSES, (0.4,) * 4, (0.25,) * 4)
    rng = np.random.default_rng(3)
    return checkpoint, *(rng.integers(0, 60000, (s, s, 4), dtype=np.uint16) for s in (256, 320))


def package_classes(package: Path, image: np.ndarray) -> np.ndarray:
    from bioimageio.core import load_description, predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_description(package)
        tensor = np.moveaxis(image if image.ndim == 3 else image[..., None], -1, 0)[None].astype(np.float32)
        sample = predict(model=model, inputs=tensor)
    (output,) = sample.members.values()
    return np.asarray(output.data)[0].argmax(axis=0)


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
            ours = Predictor(checkpoint, "cpu", precision="float32").predict(held_out).classes
            theirs = package_classes(out, held_out)
            differ = float(np.mean(ours != theirs))
            rows.append((title, out.stat().st_size / 1e6, exported, verdict, tested, differ))
    print(f"\n{cpu_name()}, {os.cpu_count()} cores\n")
    print("| model | package | export | bioimageio.core test | test time | held-out pixels differing |")
    print("| --- | --- | --- | --- | --- | --- |")
    for title, size, exported, verdict, tested, differ in rows:
        cells = [
            title,
            f"{size:.1f} MB",
            f"{exported:.1f} s",
            verdict,
            f"{tested:.1f} s",
            f"{100 * differ:.3f} %",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
