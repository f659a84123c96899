"""The objects of a prediction the model is least sure of, as places to click with a prompt:
each connected region of one predicted class (not background) over pixels nobody painted,
ranked by how many of its pixels the model is unsure of (then by the entropy it holds), with the
point deepest inside it to click."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from model.classes import IGNORE_INDEX
from model.prediction.uncertainty import SURE_BELOW

MIN_PIXELS = 16
"""Smaller regions are specks, not objects to click."""


@dataclass(frozen=True)
class UncertainObject:
    """One predicted object worth a prompt."""

    x: int
    y: int
    """The pixel deepest inside the object: where to click."""
    box: tuple[int, int, int, int]
    """x0, y0, x1, y1 (inclusive) around it."""
    class_index: int
    pixels: int
    unsure: int
    """How many of its pixels the model is unsure of (``SURE_BELOW`` or over)."""
    uncertainty: float
    """Its pixels' mean normalised entropy, 0 (sure) .. 1 (a coin toss)."""


def uncertain_objects(
    classes: np.ndarray,
    uncertainty_map: np.ndarray,
    mask: np.ndarray,
    *,
    background: int = 0,
    min_pixels: int = MIN_PIXELS,
) -> list[UncertainObject]:
    """The predicted objects (``classes``, H x W) over unpainted pixels of ``mask`` that hold a
    pixel the model is unsure of (``uncertainty_map`` 0..255 at or over ``SURE_BELOW``), those
    with the most unsure pixels first."""
    unsure_level = round(SURE_BELOW * 255)
    found: list[tuple[float, UncertainObject]] = []
    unpainted = mask == IGNORE_INDEX
    for value in np.unique(classes):
        if value in (background, IGNORE_INDEX):
            continue
        regions, count = ndimage.label((classes == value) & unpainted)
        if not count:
            continue
        sizes = np.bincount(regions.ravel(), minlength=count + 1)
        mass = np.bincount(
            regions.ravel(), weights=uncertainty_map.ravel().astype(np.float64), minlength=count + 1
        )
        unsure = np.bincount(
            regions.ravel(), weights=(uncertainty_map >= unsure_level).ravel(), minlength=count + 1
        )
        for label, where in enumerate(ndimage.find_objects(regions), start=1):
            if where is None or sizes[label] < min_pixels or not unsure[label]:
                continue
            inside = regions[where] == label
            depth = ndimage.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1]
            dy, dx = np.unravel_index(int(np.argmax(depth)), depth.shape)
            y0, x0 = where[0].start, where[1].start
            item = UncertainObject(
                x=int(x0 + dx),
                y=int(y0 + dy),
                box=(int(x0), int(y0), int(where[1].stop - 1), int(where[0].stop - 1)),
                class_index=int(value),
                pixels=int(sizes[label]),
                unsure=int(unsure[label]),
                uncertainty=float(mass[label] / sizes[label] / 255),
            )
            found.append(((float(unsure[label]), float(mass[label])), item))
    found.sort(key=lambda pair: (-pair[0][0], -pair[0][1]))
    return [item for _, item in found]
