"""Colour PNGs: each pixel in its class's colour (not labelled in ``IGNORE_COLOR``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from model.classes import IGNORE_COLOR, IGNORE_INDEX, ClassInfo, read_labels_file
from model.errors import MaskError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.formats.index import label_folder
from model.labels.label_formats import CLASSES_FILE, ExportContext, write_png
from model.storage.imageio import list_images, read_rgb


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = IGNORE_COLOR
    for i, info in enumerate(ctx.classes):
        lut[i] = info.color
    write_png(ctx.root / f"{stem}.png", Image.fromarray(lut[mask], mode="RGB"))


def colour_to_index(rgb: np.ndarray, classes: list[ClassInfo], path: Path) -> np.ndarray:
    """Map an ``H x W x 3`` colour mask to class indices; unknown colours raise ``MaskError``."""
    codes = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    table = {
        (r << 16) | (g << 8) | b: i for i, (r, g, b) in reversed(list(enumerate(c.color for c in classes)))
    }
    r, g, b = IGNORE_COLOR
    table.setdefault((r << 16) | (g << 8) | b, IGNORE_INDEX)
    unique, inverse = np.unique(codes, return_inverse=True)
    unknown = [int(u) for u in unique if int(u) not in table]
    if unknown:
        shown = ", ".join(f"({u >> 16}, {(u >> 8) & 255}, {u & 255})" for u in unknown[:5])
        raise MaskError(f"{path}: colours {shown} are not class colours of this project")
    return np.asarray([table[int(u)] for u in unique], np.uint8)[inverse.reshape(codes.shape)]


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    folder = label_folder(ctx.source)
    palette = list(ctx.classes)
    if (folder / CLASSES_FILE).is_file():  # an export's own colours
        palette = read_labels_file(folder / CLASSES_FILE)
    for path in list_images(folder):
        image = ctx.match(path, path.stem)
        if image is not None:
            yield path.name, image, lambda shape, p=path, pal=palette: colour_to_index(read_rgb(p), pal, p)


FORMAT = LabelFormat(
    name="colour",
    title="Colour PNGs (class colours)",
    item_paths=lambda stem: [f"{stem}.png"],
    write_item=_write,
    distinct_colours=True,
    import_kind="colour",
    import_title="Colour PNG masks (mapped by the class colours)",
    read=_read,
)
