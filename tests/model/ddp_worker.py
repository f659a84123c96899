"""Run by ``torchrun`` in test_distributed: trains briefly and saves this rank's weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from model.classes import default_classes
from model.compute import distributed
from model.networks.weights import initial_checkpoint
from model.training.train import TrainSettings, fit
from tests.synthetic import shapes_dataset


def main(out_dir: str, preset: str = "fast") -> None:
    torch.set_num_threads(1)
    distributed.init_from_environment(torch.device("cpu"))
    settings = TrainSettings(
        preset=preset, max_steps=4, crop_size=32, batch_size=2, device="cpu", val_fraction=0.0
    )
    images = shapes_dataset(4, size=32)
    init = initial_checkpoint(preset, default_classes(3), "imagenet")
    if init is not None:  # a pretrained encoder takes three channels
        images = [type(i)(i.path, i.image.repeat(3, axis=0), i.mask) for i in images]
    result = fit(settings, images, [], default_classes(3), init=init)
    torch.save(result.checkpoint.state_dict, Path(out_dir) / f"rank{distributed.rank()}.pt")
    torch.save(result.steps, Path(out_dir) / f"steps{distributed.rank()}.pt")
    distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
