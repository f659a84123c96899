"""Segmentation losses that ignore unlabelled pixels (mask value ``IGNORE_INDEX``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F

from model.classes import IGNORE_INDEX
from model.training.settings import LOSSES


def _one_hot_valid(target: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot ``N x C x H x W`` of ``target`` and the ``N x 1 x H x W`` labelled-pixel mask."""
    valid = target != IGNORE_INDEX
    safe = torch.where(valid, target, torch.zeros_like(target))
    one_hot = F.one_hot(safe.long(), num_classes).permute(0, 3, 1, 2).to(torch.float32)
    valid_f = valid.unsqueeze(1).to(torch.float32)
    return one_hot * valid_f, valid_f


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over the classes labelled in the batch; ignored pixels do not count."""
    num_classes = logits.shape[1]
    probs = logits.float().softmax(dim=1)
    one_hot, valid = _one_hot_valid(target, num_classes)
    probs = probs * valid
    dims = (0, 2, 3)
    intersection = (probs * one_hot).sum(dims)
    denominator = probs.sum(dims) + one_hot.sum(dims)
    dice = (2 * intersection + eps) / (denominator + eps)
    present = one_hot.sum(dims) > 0
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - dice[present].mean()


def class_weights(pixel_counts: np.ndarray, power: float = 0.5, limit: float = 10.0) -> np.ndarray:
    """Cross-entropy weights that favour rarely labelled classes: ``(median / count) ** power``.

    The median count gets weight 1 (median frequency balancing, softened by ``power``); weights
    are clipped to ``[1 / limit, limit]``, and classes with no labelled pixel get weight 1.
    """
    counts = np.asarray(pixel_counts, dtype=np.float64)
    present = counts > 0
    weights = np.ones_like(counts)
    if present.sum() > 1:
        median = float(np.median(counts[present]))
        weights[present] = np.clip((median / counts[present]) ** power, 1.0 / limit, limit)
    return weights


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return F.cross_entropy(logits.float(), target, weight=weights, ignore_index=IGNORE_INDEX)


def _cross_entropy_and_dice(
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    return _cross_entropy(logits, target, weights) + soft_dice_loss(logits, target)


def _binary_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    one_hot, valid = _one_hot_valid(target, logits.shape[1])
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), one_hot, reduction="none")
    return (per_pixel * valid).sum() / (valid.sum() * logits.shape[1])


LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]] = {
    "ce+dice": _cross_entropy_and_dice,
    "ce": _cross_entropy,
    "bce": _binary_cross_entropy,
}
"""The losses by name (``model.training.settings.LOSSES``, the CLI's ``--loss``): a new loss is one
function and one entry here (and its name in ``LOSSES``, which a test keeps in step)."""


def segmentation_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    kind: str = "ce+dice",
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Loss of ``logits`` (``N x C x H x W``) against ``target`` (``N x H x W`` class indices).

    ``ce+dice``: cross-entropy plus soft Dice (robust to thin, rare classes);
    ``ce``: cross-entropy alone; ``bce``: per-class binary cross-entropy on one-hot targets.
    ``weights`` (one per class) weight the cross-entropy's pixels by their class (``bce``
    ignores them). Pixels equal to ``IGNORE_INDEX`` contribute neither loss nor gradient.
    """
    function = LOSS_FUNCTIONS.get(kind)
    if function is None:
        raise ValueError(f"unknown loss {kind!r}; choose one of {LOSSES}")
    target = target.long()
    if int((target != IGNORE_INDEX).sum()) == 0:
        return logits.sum() * 0.0
    return function(logits, target, weights)
