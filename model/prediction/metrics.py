"""Per-class IoU and Dice from a confusion matrix over labelled pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from model.classes import IGNORE_INDEX


def confusion_matrix(target: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """``num_classes x num_classes`` counts (rows: truth, columns: prediction), ignoring 255."""
    valid = (target != IGNORE_INDEX) & (target < num_classes)
    index = target[valid].astype(np.int64) * num_classes + predicted[valid].astype(np.int64)
    return np.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SegmentationMetrics:
    """IoU and Dice per class (NaN where a class is neither labelled nor predicted)."""

    iou: tuple[float, ...]
    dice: tuple[float, ...]
    pixel_accuracy: float
    class_accuracy: tuple[float, ...] = ()
    """Per class, the share of its labelled pixels predicted as it (recall; NaN if none labelled)."""
    confusion: np.ndarray | None = field(default=None, compare=False, repr=False)
    """Labelled pixels counted by true class (rows) and predicted class (columns)."""

    @property
    def mean_iou(self) -> float:
        return _nanmean(self.iou)

    @property
    def mean_dice(self) -> float:
        return _nanmean(self.dice)

    @property
    def mean_class_accuracy(self) -> float:
        return _nanmean(self.class_accuracy)

    @property
    def foreground_dice(self) -> tuple[float, ...]:
        return self.dice[1:]

    def to_dict(self) -> dict[str, object]:
        return {
            "iou": list(self.iou),
            "dice": list(self.dice),
            "mean_iou": self.mean_iou,
            "mean_dice": self.mean_dice,
            "pixel_accuracy": self.pixel_accuracy,
            "class_accuracy": list(self.class_accuracy),
        }


def _nanmean(values: tuple[float, ...]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def metrics_from_confusion(confusion: np.ndarray) -> SegmentationMetrics:
    """IoU, Dice and pixel accuracy from a confusion matrix."""
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), np.nan)
        dice = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
    total = confusion.sum()
    accuracy = float(tp.sum() / total) if total else math.nan
    return SegmentationMetrics(
        tuple(float(v) for v in iou),
        tuple(float(v) for v in dice),
        accuracy,
        tuple(float(v) for v in recall),
        confusion.copy(),
    )
