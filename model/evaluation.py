"""Holding images out of training, and scoring a model on images' labelled pixels."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import numpy as np
import torch

from model.errors import SegGUIError
from model.metrics import SegmentationMetrics, confusion_matrix, metrics_from_confusion
from model.predict import predict_standardised
from model.training_images import TrainingImage

log = logging.getLogger(__name__)


def _never() -> bool:
    return False


def _warn(message: str) -> None:
    log.warning("%s", message)


def split_train_val(
    images: list[TrainingImage], val_fraction: float, seed: int
) -> tuple[list[TrainingImage], list[TrainingImage]]:
    """Hold out ``val_fraction`` of the images (by a seeded shuffle).

    With too few images to spare one, nothing is held out and the caller validates on the
    training images' labelled pixels instead.
    """
    order = list(range(len(images)))
    random.Random(seed).shuffle(order)
    n_val = int(len(images) * val_fraction)
    val = [images[i] for i in sorted(order[:n_val])]
    train = [images[i] for i in sorted(order[n_val:])]
    return train, val


def evaluate_images(
    model: torch.nn.Module,
    images: list[TrainingImage],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    should_stop: Callable[[], bool] = _never,
    on_problem: Callable[[str], None] | None = None,
) -> SegmentationMetrics | None:
    """Metrics of ``model`` on ``images`` over their labelled pixels (None if stopped midway).

    An image that cannot be read is reported through ``on_problem`` and left out."""
    num_classes = model.config.num_classes
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    mean_t = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[:, None, None]
    for item in images:
        if should_stop():
            return None
        try:
            raw_planes, mask = item.planes()
        except SegGUIError as exc:
            (on_problem or _warn)(f"{exc} (left out of validation)")
            continue
        planes = (torch.from_numpy(raw_planes) - mean_t) / std_t
        prediction = predict_standardised(model, planes, device=device)
        confusion += confusion_matrix(mask, prediction.classes, num_classes)
    return metrics_from_confusion(confusion)
