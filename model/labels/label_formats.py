"""What the label formats (``model.labels.formats``, one module each) share: the export context,
atomic file writes, the classes file, and masks to polygons and back.

``model.labels.export_labels`` and ``model.labels.import_labels`` do the folder walking, staging, splits and
reporting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from model.classes import IGNORE_INDEX, ClassInfo
from model.labels.polygons import mask_to_polygons, polygon_area, rasterize_polygon_box
from model.storage.atomic import atomic_write

CLASSES_FILE = "classes.json"


def write_png(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: image.save(fh, format="PNG"))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def classes_json(classes: list[ClassInfo], unlabelled_kept: bool) -> str:
    """The classes file that goes with every export: index, name and colour of each class."""
    return json.dumps(
        {
            "classes": [{"index": i, "name": c.name, "color": list(c.color)} for i, c in enumerate(classes)],
            "unlabelled_index": IGNORE_INDEX if unlabelled_kept else None,
        },
        indent=2,
    )


def shapes_of(mask: np.ndarray, num_classes: int, first_class: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(class, polygon) for every region of every class, largest first, so that drawing them in
    this order puts regions inside holes (a nucleus in a cell) back on top."""
    shapes = []
    for value in range(first_class, num_classes):
        region = mask == value
        if region.any():
            shapes += [(value, polygon) for polygon in mask_to_polygons(region)]
    shapes.sort(key=lambda item: -polygon_area(item[1]))
    yield from shapes


def draw_shapes(
    shapes: list[tuple[int, np.ndarray]],
    shape: tuple[int, int],
    fill: int,
    window: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """A mask of ``shape`` starting as ``fill``, with each polygon drawn in order (later on top);
    or only its ``window`` (top, left, height, width)."""
    top, left, height, width = window or (0, 0, *shape)
    mask = np.full((height, width), fill, np.uint8)
    for value, polygon in shapes:
        y0, x0, inside = rasterize_polygon_box(polygon - [left, top], (height, width))
        mask[y0 : y0 + inside.shape[0], x0 : x0 + inside.shape[1]][inside] = value
    return mask


# -- writers -------------------------------------------------------------------------------------
@dataclass
class ExportContext:
    """What a writer needs besides the mask; ``collected`` holds what goes into one final file."""

    root: Path  # the staging folder; paths inside it mirror the final export folder
    final_root: Path
    classes: list[ClassInfo]
    coco_polygons: bool = False
    collected: dict[str, object] = field(default_factory=dict)
