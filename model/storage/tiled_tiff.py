"""A chunked mask of any size written out as a tiled, pyramidal TIFF, tile by tile.

The file is a BigTIFF of 512 x 512 zlib tiles holding the class indices (255: not labelled),
with reduced levels as sub-IFDs (each half the size of the one before, nearest pixel, down to
about 1024 pixels a side), the layout OME-TIFF uses and QuPath, napari (through tifffile) and
Fiji (Bio-Formats) open. The class names go into the description. Tiles are generated from the
mask as tifffile writes them, so memory stays at a few tiles, never the image.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

from model.classes import IGNORE_INDEX, ClassInfo
from model.storage.atomic import free_name
from model.storage.chunked_mask import ChunkedMask

TILE = 512
SMALLEST_LEVEL = 1024
MAX_STEP = 16
"""The coarsest reduction written: a level's tile reads a ``TILE * step`` square of the mask."""


def pyramid_steps(shape: tuple[int, int]) -> list[int]:
    """The reductions written: 1, 2, 4, ... while the level is over ``SMALLEST_LEVEL`` a side."""
    steps = [1]
    while max(shape) // (steps[-1] * 2) >= SMALLEST_LEVEL and steps[-1] * 2 <= MAX_STEP:
        steps.append(steps[-1] * 2)
    return steps


def write_tiled_mask(
    mask: ChunkedMask,
    path: str | os.PathLike[str],
    classes: list[ClassInfo],
    *,
    unlabelled: int = IGNORE_INDEX,
) -> Path:
    """Write ``mask`` to ``path`` (replaced atomically: a temporary file, then renamed), its
    not-labelled pixels as ``unlabelled`` (255, or 0 to make them background)."""
    target = Path(path)
    height, width = mask.shape
    steps = pyramid_steps(mask.shape)
    description = json.dumps(
        {"classes": [c.name for c in classes], "not_labelled": 255 if unlabelled == IGNORE_INDEX else None}
    )
    temporary = free_name(target.with_name(f".{target.name}"), "writing")
    options = {"tile": (TILE, TILE), "compression": "zlib", "photometric": "minisblack", "dtype": np.uint8}
    try:
        with tifffile.TiffWriter(temporary, bigtiff=True) as tif:
            tif.write(
                _tiles(mask, 1, unlabelled),
                shape=(height, width),
                subifds=len(steps) - 1,
                description=description,
                metadata=None,
                **options,
            )
            for step in steps[1:]:
                tif.write(
                    _tiles(mask, step, unlabelled),
                    shape=(-(-height // step), -(-width // step)),
                    subfiletype=1,
                    metadata=None,
                    **options,
                )
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def _tiles(mask: ChunkedMask, step: int, unlabelled: int) -> Iterator[np.ndarray]:
    """The level's tiles row by row, each read from a ``TILE * step`` square of the mask."""
    height, width = -(-mask.shape[0] // step), -(-mask.shape[1] // step)
    span = TILE * step
    for ty in range(-(-height // TILE)):
        for tx in range(-(-width // TILE)):
            tile = np.ascontiguousarray(mask.read(ty * span, tx * span, span, span)[::step, ::step])
            if unlabelled != IGNORE_INDEX:
                tile[tile == IGNORE_INDEX] = unlabelled
            yield tile
