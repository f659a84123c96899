"""Which pixels of a prediction the model is sure of (no torch: the window uses it too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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
