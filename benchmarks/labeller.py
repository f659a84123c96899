"""A simulated labeller: paints what a person would, with the app's own brush, from ground truth.

Scribbles are brush strokes (``MaskDocument.paint_segment``, the brush of the app) along short
random paths inside each class region, kept a brush radius away from the region's edge so a
stroke never crosses into another class, until a target share of the image's labelled pixels is
painted. Every class present gets at least one stroke, however small. Corrections paint the
true class over pixels a prediction got wrong, one stroke per wrong region, largest first.
Used by ``benchmarks/labelling.py``; tested in ``tests/test_labeller.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.classes import IGNORE_INDEX
from seggui.state.document import MaskDocument

RADIUS = 3.0
"""Brush radius in pixels (a 7 px brush)."""
STEP = 12.0
"""Length of each segment of a stroke's path."""
SEGMENTS = 4
"""Segments per stroke at most (a stroke of about 50 px)."""


@dataclass
class Painted:
    """What the labeller did to one mask."""

    strokes: int = 0
    pixels: int = 0


def eroded(region: np.ndarray, radius: float) -> np.ndarray:
    """``region`` shrunk so that a disc of ``radius`` centred anywhere inside stays in ``region``."""
    r = int(np.ceil(radius))
    padded = np.pad(region, r, constant_values=False)
    h, w = region.shape
    out = region.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx <= radius * radius + 1e-9:
                out &= padded[r + dy : r + dy + h, r + dx : r + dx + w]
    return out


def _stroke(
    document: MaskDocument,
    inside: np.ndarray,
    value: int,
    rng: np.random.Generator,
    start: tuple[float, float] | None = None,
    radius: float = RADIUS,
    segments: int = SEGMENTS,
) -> int:
    """One stroke of ``value`` along a random path whose centre line stays in ``inside``;
    returns the pixels it changed."""
    if start is None:
        ys, xs = np.nonzero(inside)
        if ys.size == 0:
            return 0
        pick = rng.integers(ys.size)
        start = (float(xs[pick]) + 0.5, float(ys[pick]) + 0.5)
    before = int((document.mask == value).sum())  # pixels of value before: the stroke adds
    x, y = start
    angle = rng.uniform(0, 2 * np.pi)
    document.begin_edit("brush")
    document.paint_segment(x, y, x, y, radius, value)
    for _ in range(segments):
        for _try in range(6):  # turn until the next segment stays inside
            nx, ny = x + STEP * np.cos(angle), y + STEP * np.sin(angle)
            if _segment_inside(inside, x, y, nx, ny):
                document.paint_segment(x, y, nx, ny, radius, value)
                x, y = nx, ny
                angle += rng.normal(0, 0.4)
                break
            angle = rng.uniform(0, 2 * np.pi)
        else:
            break
    document.end_edit()
    return int((document.mask == value).sum()) - before


def _segment_inside(inside: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> bool:
    n = int(np.hypot(x1 - x0, y1 - y0)) + 2
    xs = np.linspace(x0, x1, n).astype(int)
    ys = np.linspace(y0, y1, n).astype(int)
    h, w = inside.shape
    if xs.min() < 0 or ys.min() < 0 or xs.max() >= w or ys.max() >= h:
        return False
    return bool(inside[ys, xs].all())


def scribble(truth: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, Painted]:
    """A mask with about ``share`` of ``truth``'s labelled pixels painted by strokes (``share``
    1 gives the whole truth, as a fully painted mask); and what it took."""
    if share >= 1:
        return truth.copy(), Painted(strokes=0, pixels=int((truth != IGNORE_INDEX).sum()))
    document = MaskDocument(np.full(truth.shape, IGNORE_INDEX, np.uint8))
    painted = Painted()
    labelled = int((truth != IGNORE_INDEX).sum())
    values = [int(v) for v in np.unique(truth) if v != IGNORE_INDEX]
    interiors = {}
    for value in values:
        region = truth == value
        inside = eroded(region, RADIUS)
        # A class too thin for the brush is painted with a one-pixel brush.
        interiors[value] = (inside, RADIUS) if inside.any() else (region, 0.5)
    target = share * labelled
    # Every class gets a stroke (as long as its share of the target allows: a dab at least);
    # then classes in proportion to their area until the share is met.
    for value in values:
        inside, radius = interiors[value]
        segments = _segments_for(target / len(values))
        painted.pixels += _stroke(document, inside, value, rng, radius=radius, segments=segments)
        painted.strokes += 1
    areas = np.array([(truth == v).sum() for v in values], np.float64)
    weights = areas / areas.sum()
    misses = 0
    while painted.pixels < target and misses < 50:
        value = values[rng.choice(len(values), p=weights)]
        inside, radius = interiors[value]
        segments = _segments_for(target - painted.pixels)
        added = _stroke(document, inside, value, rng, radius=radius, segments=segments)
        misses = misses + 1 if added == 0 else 0
        painted.pixels += added
        painted.strokes += added > 0
    return document.mask, painted


def _segments_for(pixels: float) -> int:
    """Segments of a stroke that paints about ``pixels`` (a dab alone for a few)."""
    per_segment = STEP * 2 * RADIUS
    return int(min(SEGMENTS, max(0, np.ceil((pixels - np.pi * RADIUS**2) / per_segment))))


def correct(mask: np.ndarray, truth: np.ndarray, budget: int, rng: np.random.Generator) -> Painted:
    """Paint the true class over wrongly labelled pixels of ``mask`` (in place; pixels left not
    labelled are not wrong), one stroke at a time from a random wrong pixel, so large wrong
    areas are found first; at most ``budget`` strokes."""
    document = MaskDocument(mask)
    painted = Painted()
    for _ in range(budget):
        wrong = (mask != truth) & (truth != IGNORE_INDEX) & (mask != IGNORE_INDEX)
        if not wrong.any():
            break
        ys, xs = np.nonzero(wrong)
        pick = rng.integers(ys.size)  # a wrong pixel, so large wrong areas are found most often
        y, x = int(ys[pick]), int(xs[pick])
        value = int(truth[y, x])
        region = truth == value
        interior = eroded(region, RADIUS)
        # Near an edge a careful user zooms in and paints with a one-pixel brush.
        inside, radius = (interior, RADIUS) if interior[y, x] else (region, 0.5)
        changed = _stroke(document, inside, value, rng, start=(x + 0.5, y + 0.5), radius=radius)
        painted.strokes += 1
        painted.pixels += max(changed, 0)
    return painted
