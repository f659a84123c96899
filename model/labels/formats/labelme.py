"""labelme JSON: one file per image with a polygon per region, read back as labelme's own
converter draws them (``model.labels.labelme_import``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.errors import SegGUIError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.label_formats import CLASSES_FILE, ExportContext, shapes_of, write_text
from model.labels.labelme_import import EDGE_POLYGONS_KEY
from model.storage.json_files import read_json_object

LABELME_VERSION = "5.5.0"


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    write_shapes(ctx, image, list(shapes_of(mask, len(ctx.classes))), mask.shape, stem)


def write_shapes(
    ctx: ExportContext, image: Path, shapes: list[tuple[int, np.ndarray]], shape: tuple[int, int], stem: str
) -> None:
    """One labelme file of ``shapes`` ((class, polygon), drawn in this order) for an image of
    ``shape``: an image's, or a slide's gathered region by region."""
    classes = ctx.classes
    height, width = shape
    documented = [
        {
            "label": classes[value].name,
            "points": polygon.astype(int).tolist(),  # corners are whole pixels
            "group_id": None,
            "description": "",
            "shape_type": "polygon",
            "flags": {},
            "mask": None,
        }
        for value, polygon in shapes
    ]
    document = {
        "version": LABELME_VERSION,
        "flags": {},
        "shapes": documented,
        "imagePath": os.path.relpath(image, ctx.final_root),
        "imageData": None,
        "imageHeight": int(height),
        "imageWidth": int(width),
        EDGE_POLYGONS_KEY: "polygons follow pixel edges: fill the pixels whose centres are inside",
    }
    write_text(ctx.root / f"{stem}.json", json.dumps(document, separators=(",", ":")))


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    for path in sorted(ctx.source.glob("*.json")):
        if path.name == CLASSES_FILE:
            continue
        try:
            document = read_json_object(path, "this labelme JSON file")
        except SegGUIError as exc:
            ctx.skipped.append(str(exc))
            continue
        image_name = Path(str(document.get("imagePath") or path.name)).name
        image = ctx.match(path, Path(image_name).stem, image_name)
        if image is not None:
            yield path.name, image, ctx.labelme_labels(document, path)


FORMAT = LabelFormat(
    name="labelme",
    names_image_files=True,
    title="labelme JSON (polygons)",
    item_paths=lambda stem: [f"{stem}.json"],
    write_item=_write,
    import_kind="labelme",
    import_title="labelme JSON folder",
    read=_read,
)
