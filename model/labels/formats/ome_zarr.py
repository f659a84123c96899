"""OME-Zarr (NGFF): per image, ``<name>.ome.zarr`` with the image as a multiscale pyramid and the
mask as a label image (``model.labels.ome_zarr_masks``), for napari, QuPath, MoBIE and vizarr."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.labels.formats.base import LabelFormat
from model.labels.label_formats import ExportContext
from model.labels.ome_zarr_masks import write_image_masks
from model.storage.imageio import read_image
from model.storage.tiff_files import is_tiff, read_plane, split_plane, tiff_layout


def zarr_name(stem: str) -> str:
    return f"{stem}.ome.zarr"


def _image_pixels(image: Path) -> np.ndarray:
    """The image as SegGUI reads it: every channel, its own dtype; a stack's plane as that plane."""
    source, plane = split_plane(image)
    layout = tiff_layout(source) if is_tiff(source) else None
    if layout is not None and not layout.photographic:
        return read_plane(layout, plane)
    return read_image(image)


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    path = ctx.root / zarr_name(stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image_masks(path, _image_pixels(image), mask, ctx.classes)


FORMAT = LabelFormat(
    name="ome-zarr",
    title="OME-Zarr (the image as a pyramid, the mask as its label image with class colours and names)",
    item_paths=lambda stem: [zarr_name(stem)],
    write_item=_write,
)
