"""How far an image is labelled, as the browser lists it."""

from __future__ import annotations

import enum

import numpy as np

from model.classes import IGNORE_INDEX


class Status(enum.Enum):
    NO_MASK = "no mask"
    PARTLY = "partly labelled"
    LABELLED = "labelled"
    PREDICTED = "predicted"
    UNREADABLE = "unreadable"
    MASK_UNREADABLE = "mask unreadable"
    """The image opens, but its mask file cannot be used (it opens as an empty mask)."""


def status_of_mask(mask: np.ndarray) -> Status:
    """``NO_MASK`` for a mask with no labelled pixel (say, a prediction accepted and undone),
    ``LABELLED`` when every pixel is, else ``PARTLY``."""
    unlabelled = int(np.count_nonzero(mask == IGNORE_INDEX))
    if unlabelled == mask.size:
        return Status.NO_MASK
    return Status.LABELLED if unlabelled == 0 else Status.PARTLY
