"""Holding images out of training, and scoring a model on images' labelled pixels."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import numpy as np
import torch

from model.calibration import fit_temperature, held_out_pixels
from model.classes import IGNORE_INDEX
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
        for (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in scored_windows(mask):
            if should_stop():
                return None
            window = torch.from_numpy(np.ascontiguousarray(raw_planes[:, y0:y1, x0:x1]))
            prediction = predict_standardised(model, (window - mean_t) / std_t, device=device)
            inner = prediction.classes[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            confusion += confusion_matrix(mask[cy0:cy1, cx0:cx1], inner, num_classes)
    return metrics_from_confusion(confusion)


def fit_model_temperature(
    model: torch.nn.Module,
    images: list[TrainingImage],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    should_stop: Callable[[], bool] = _never,
) -> float | None:
    """The temperature that calibrates ``model``'s probabilities on the labelled pixels of
    ``images`` (``model.calibration``), None if stopped."""
    mean_t = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[:, None, None]

    def probabilities(planes: np.ndarray, outer: Box) -> np.ndarray:
        y0, y1, x0, x1 = outer
        window = torch.from_numpy(np.ascontiguousarray(planes[:, y0:y1, x0:x1]))
        prediction = predict_standardised(model, (window - mean_t) / std_t, device=device, probabilities=True)
        assert prediction.probabilities is not None
        return prediction.probabilities

    pixels = held_out_pixels(probabilities, images, scored_windows, should_stop)
    return None if pixels is None else fit_temperature(*pixels)


WHOLE_IMAGE_PIXELS = 2048 * 2048
"""Images up to this size are scored whole; larger ones only in the windows holding labels."""
WINDOW = 896
CONTEXT = 64
"""A window's prediction sees this much of the image around it (896 + 2 x 64 = 1024: one pass)."""


Box = tuple[int, int, int, int]  # y0, y1, x0, x1


def scored_windows(mask: np.ndarray) -> list[tuple[Box, Box]]:
    """Where to predict and where to score an image with ``mask``: the whole image when it is
    small, else each ``WINDOW``-square holding labelled pixels (with ``CONTEXT`` around it to
    predict from). A few strokes on an 8000 x 8000 image cost a few windows, not 64 Mpixels,
    and Stop is asked between them."""
    height, width = mask.shape
    whole = (0, height, 0, width)
    if height * width <= WHOLE_IMAGE_PIXELS:
        return [(whole, whole)]
    labelled = mask != IGNORE_INDEX
    out = []
    for cy0 in range(0, height, WINDOW):
        for cx0 in range(0, width, WINDOW):
            cy1, cx1 = min(cy0 + WINDOW, height), min(cx0 + WINDOW, width)
            if labelled[cy0:cy1, cx0:cx1].any():
                outer = (
                    max(0, cy0 - CONTEXT),
                    min(height, cy1 + CONTEXT),
                    max(0, cx0 - CONTEXT),
                    min(width, cx1 + CONTEXT),
                )
                out.append((outer, (cy0, cy1, cx0, cx1)))
    return out
