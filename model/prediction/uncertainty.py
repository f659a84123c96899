"""Which pixels of a prediction the model is sure of (no torch: the window uses it too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.classes import IGNORE_INDEX

if TYPE_CHECKING:
    from model.prediction.predict import Prediction

SURE_BELOW = 0.5
"""A pixel whose normalised entropy is under this counts as one the model is sure of: Show
Uncertainty leaves it clear and Accept Prediction takes it (two classes: the likelier above
89 %; eleven: above about 75 %)."""


def sure_pixels(prediction: Prediction) -> np.ndarray:
    """Where the model is sure of its class (entropy under ``SURE_BELOW``), ``H x W`` bool; all
    of the image for a prediction without an uncertainty map (one read back from a file)."""
    if prediction.uncertainty_map is None:
        return np.ones(prediction.classes.shape, bool)
    return prediction.uncertainty_map < round(SURE_BELOW * 255)


def accepted_pixels(
    mask: np.ndarray, prediction: Prediction, *, only_unpainted: bool, sure_only: bool
) -> tuple[np.ndarray, int]:
    """Where accepting ``prediction`` into ``mask`` writes its classes, and how many unpainted
    pixels it leaves because the model is unsure of them. ``only_unpainted``: the pixels not
    labelled yet (Accept Prediction), else every pixel (Replace Mask with Prediction);
    ``sure_only``: of those, only where the model is sure (``sure_pixels``)."""
    if prediction.classes.shape != mask.shape:
        raise ValueError(f"a {prediction.classes.shape} prediction for a {mask.shape} mask")
    return accepted_where(
        mask, prediction.uncertainty_map, only_unpainted=only_unpainted, sure_only=sure_only
    )


def accepted_where(
    mask: np.ndarray, uncertainty_map: np.ndarray | None, *, only_unpainted: bool, sure_only: bool
) -> tuple[np.ndarray, int]:
    """``accepted_pixels`` from the uncertainty map itself (0..255, as ``Prediction`` holds it;
    None: sure everywhere), for a part of a slide as for an image."""
    if not only_unpainted:
        return np.ones(mask.shape, bool), 0
    where = mask == IGNORE_INDEX
    if not sure_only or uncertainty_map is None:
        return where, 0
    sure = uncertainty_map < round(SURE_BELOW * 255)
    unsure = int(np.count_nonzero(where & ~sure))
    return where & sure, unsure
