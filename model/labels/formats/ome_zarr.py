"""OME-Zarr (NGFF): per image, ``<name>.ome.zarr`` with the image as a multiscale pyramid and the
mask as a label image (``model.labels.ome_zarr_masks``), for napari, QuPath, MoBIE and vizarr."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.errors import MaskError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.label_formats import ExportContext
from model.labels.ome_zarr_masks import write_image_masks
from model.storage.imageio import read_image
from model.storage.ome_zarr_images import is_ome_zarr, read_label_image
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


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    """Every OME-Zarr in the source (or the source itself) with a label image, matched to the
    project image it is (an OME-Zarr the project holds) or was exported from (by stem)."""
    source = ctx.source
    found = [source] if is_ome_zarr(source) else sorted(p for p in source.iterdir() if is_ome_zarr(p))
    for path in found:
        stem = path.name[: -len(".ome.zarr")] if path.name.lower().endswith(".ome.zarr") else path.stem
        image = ctx.match(path, stem, path.name)
        if image is not None:
            yield path.name, image, lambda shape, p=path: _label_mask(p, shape)


def _label_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    name, values = read_label_image(path)
    if values.shape != tuple(shape):
        raise MaskError(
            f"{path}: its label image {name!r} is {values.shape[1]} x {values.shape[0]}, "
            f"the image {shape[1]} x {shape[0]}"
        )
    return values


FORMAT = LabelFormat(
    name="ome-zarr",
    title="OME-Zarr (the image as a pyramid, the mask as its label image with class colours and names)",
    item_paths=lambda stem: [zarr_name(stem)],
    write_item=_write,
    import_kind="ome-zarr",
    import_title="OME-Zarr label images (labels/segmentation, else the first)",
    read=_read,
)
