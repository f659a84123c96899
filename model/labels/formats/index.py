"""Index PNGs: each pixel is its class number (255 not labelled). Imports also palette PNGs and a
VOC ``SegmentationClass`` folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.label_formats import ExportContext, write_png
from model.storage.imageio import list_images, read_mask


def label_folder(source: Path) -> Path:
    """``source``, or its ``SegmentationClass`` folder when it is a VOC export."""
    return source / "SegmentationClass" if (source / "SegmentationClass").is_dir() else source


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    write_png(ctx.root / f"{stem}.png", Image.fromarray(mask, mode="L"))


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    for path in list_images(label_folder(ctx.source)):
        image = ctx.match(path, path.stem)
        if image is not None:
            yield path.name, image, lambda shape, p=path: read_mask(p, shape=shape)


FORMAT = LabelFormat(
    name="index",
    title="Index PNGs (pixel = class number)",
    item_paths=lambda stem: [f"{stem}.png"],
    write_item=_write,
    import_kind="masks",
    import_title="Index or palette PNG masks (also VOC SegmentationClass)",
    read=_read,
)
