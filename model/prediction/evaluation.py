"""Holding images out of training, and scoring a model on images' labelled pixels."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.prediction.calibration import held_out_pixels
from model.prediction.metrics import SegmentationMetrics, confusion_matrix, metrics_from_confusion
from model.prediction.predict import Prediction, predict_standardised
from model.training.training_images import TrainingImage

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
    windows = predicted_windows(model, images, mean, std, device, should_stop, on_problem or _warn)
    for prediction, labels in windows:
        confusion += confusion_matrix(labels, prediction.classes, num_classes)
    return None if should_stop() else metrics_from_confusion(confusion)


def scored_with_sample(
    model: torch.nn.Module,
    images: list[TrainingImage],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    should_stop: Callable[[], bool] = _never,
    on_problem: Callable[[str], None] | None = None,
) -> tuple[SegmentationMetrics, tuple[torch.Tensor, torch.Tensor]] | None:
    """``evaluate_images`` and, from the same predictions, the sample of labelled pixels that
    calibrates these weights (``held_out_pixels``): a run's end predicts its held-out images
    once, where scoring and calibrating took two passes. None if stopped midway."""
    num_classes = model.config.num_classes
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def scored() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        windows = predicted_windows(
            model, images, mean, std, device, should_stop, on_problem or _warn, probabilities=True
        )
        for prediction, labels in windows:
            confusion[...] += confusion_matrix(labels, prediction.classes, num_classes)
            assert prediction.probabilities is not None
            yield prediction.probabilities, labels

    pixels = held_out_pixels(scored(), should_stop)
    if pixels is None or should_stop():
        return None
    return metrics_from_confusion(confusion), pixels


def predicted_windows(
    model: torch.nn.Module,
    images: list[TrainingImage],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    should_stop: Callable[[], bool] = _never,
    on_problem: Callable[[str], None] | None = None,
    *,
    probabilities: bool = False,
) -> Iterator[tuple[Prediction, np.ndarray]]:
    """``model``'s prediction of each window of ``images`` to score (``labelled_windows``) with
    its labels, until ``should_stop`` (asked before each window). An image that cannot be read
    is told to ``on_problem`` and left out."""
    for item in images:
        try:
            for planes, labels in labelled_windows(item, mean, std):
                if should_stop():
                    return
                yield predict_standardised(model, planes, device=device, probabilities=probabilities), labels
        except SegGUIError as exc:
            if on_problem is not None:
                on_problem(f"{exc} (left out of validation)")


def labelled_windows(
    item: TrainingImage, mean: tuple[float, ...], std: tuple[float, ...]
) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
    """Standardised planes of each window of ``item`` to score (``scored_windows``: the whole of
    a small image) and the labels of the window's inner part, which lies ``CONTEXT`` in from the
    planes' edges where the image goes on. A large image
    is converted window by window, never whole. May raise ``SegGUIError``."""
    mean_t = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.tensor(std, dtype=torch.float32)[:, None, None]
    labels = item.labels()
    windows = scored_windows(labels)
    if len(windows) == 1 and windows[0][0] == (0, labels.shape[0], 0, labels.shape[1]):
        planes, labels = item.planes()
        yield (torch.from_numpy(planes) - mean_t) / std_t, labels
        return
    for (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in windows:
        planes = torch.from_numpy(np.ascontiguousarray(item.planes_in(y0, y1, x0, x1)))
        inner = np.zeros((y1 - y0, x1 - x0), bool)
        inner[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = True
        window_labels = np.where(inner, labels[y0:y1, x0:x1], IGNORE_INDEX).astype(np.uint8)
        yield (planes - mean_t) / std_t, window_labels


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
