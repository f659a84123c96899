"""Pascal VOC: palette PNGs in ``SegmentationClass`` with the VOC colour map, split lists in
``ImageSets/Segmentation`` (imported as index masks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from model.labels.formats.base import LabelFormat
from model.labels.label_formats import ExportContext, write_png


def voc_palette() -> list[int]:
    """The Pascal VOC colour map (256 entries; 255, "void", is (224, 224, 192))."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return palette


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    img = Image.fromarray(mask, mode="L")
    img.putpalette(voc_palette())
    write_png(ctx.root / "SegmentationClass" / f"{stem}.png", img)


FORMAT = LabelFormat(
    name="voc",
    title="Pascal VOC (SegmentationClass + ImageSets)",
    item_paths=lambda stem: [f"SegmentationClass/{stem}.png"],
    write_item=_write,
    lists_folder="ImageSets/Segmentation/",
    trainval=True,
)
