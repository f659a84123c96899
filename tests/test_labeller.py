"""The simulated labeller of benchmarks/labelling.py paints what it reports, inside its classes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from model.classes import IGNORE_INDEX

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from labeller import correct, scribble


def _truth() -> np.ndarray:
    truth = np.zeros((160, 200), np.uint8)
    yy, xx = np.mgrid[:160, :200]
    truth[(yy - 80) ** 2 + (xx - 70) ** 2 < 45**2] = 1  # a large disc
    truth[20:30, 150:160] = 2  # a small square: 0.3 % of the image
    truth[100:160, 150:200] = 3
    truth[0:4, :] = IGNORE_INDEX  # a void band, as CamVid has
    return truth


@pytest.mark.parametrize("share", [0.005, 0.02, 0.1])
def test_scribbles_paint_the_share_they_report_inside_their_classes(share):
    truth = _truth()
    mask, painted = scribble(truth, share, np.random.default_rng(0))
    drawn = mask != IGNORE_INDEX
    labelled = (truth != IGNORE_INDEX).sum()
    assert painted.pixels == drawn.sum()
    assert share * labelled <= drawn.sum() <= share * labelled + 600  # at most one stroke over
    assert np.array_equal(mask[drawn], truth[drawn])  # never across a class edge
    assert set(np.unique(mask[drawn]).tolist()) == {0, 1, 2, 3}  # the small class is painted too
    assert painted.strokes >= 4


def test_full_share_is_the_whole_truth():
    truth = _truth()
    mask, painted = scribble(truth, 1.0, np.random.default_rng(0))
    assert np.array_equal(mask, truth) and painted.pixels == (truth != IGNORE_INDEX).sum()


def test_corrections_paint_the_true_class_over_wrong_pixels_within_the_budget():
    truth = _truth()
    prediction = truth.copy()
    prediction[40:120, 40:100] = 3  # a wrong block inside the disc and background
    prediction[0:4, :] = 0
    wrong_before = ((prediction != truth) & (truth != IGNORE_INDEX)).sum()
    before = prediction.copy()
    painted = correct(prediction, truth, budget=5, rng=np.random.default_rng(1))
    changed = prediction != before
    assert painted.strokes == 5
    assert np.array_equal(prediction[changed], truth[changed])  # corrections are always right
    assert ((prediction != truth) & (truth != IGNORE_INDEX)).sum() < wrong_before
