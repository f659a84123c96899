"""OME-Zarr (NGFF): per image, ``<name>.ome.zarr`` with the image as a multiscale pyramid and the
mask as a label image (``model.labels.ome_zarr_masks``), for napari, QuPath, MoBIE and vizarr. A
stack (a TIFF's planes, an OME-Zarr's z or time) is one OME-Zarr, its planes as z; its label
image's planes import back to the stack's planes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.errors import MaskError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.label_formats import ExportContext
from model.labels.ome_zarr_masks import write_image_masks, write_stack_masks
from model.storage.imageio import read_image
from model.storage.ome_zarr_images import is_ome_zarr, label_planes, ome_zarr_header, read_label_image
from model.storage.tiff_files import is_tiff, plane_path, read_plane, split_plane, tiff_layout

STACKS = "ome-zarr stacks"
"""``ExportContext.collected``'s key for the stacks whose planes are being gathered."""


def zarr_name(stem: str) -> str:
    return f"{stem}.ome.zarr"


@dataclass
class _Stack:
    """The masks of a stack's planes, gathered as the export reaches them."""

    stem: str
    planes: int
    masks: dict[int, np.ndarray] = field(default_factory=dict)


def _image_pixels(image: Path) -> np.ndarray:
    """The image as SegGUI reads it: every channel, its own dtype; a stack's plane as that plane."""
    source, plane = split_plane(image)
    layout = tiff_layout(source) if is_tiff(source) else None
    if layout is not None and not layout.photographic:
        return read_plane(layout, plane)
    return read_image(image)


def _channel_names(source: Path) -> tuple[str, ...]:
    """The channels' names the image file gives (a TIFF's metadata, an OME-Zarr's), or none."""
    if is_ome_zarr(source):
        return ome_zarr_header(source).channel_names
    layout = tiff_layout(source) if is_tiff(source) else None
    return layout.channel_names if layout is not None and not layout.photographic else ()


def _planes(source: Path) -> int:
    if is_ome_zarr(source):
        return ome_zarr_header(source).planes
    layout = tiff_layout(source) if is_tiff(source) else None
    return layout.planes if layout is not None and not layout.photographic else 1


def _write(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    source, plane = split_plane(image)
    stacks: dict[Path, _Stack] = ctx.collected.setdefault(STACKS, {})  # type: ignore[assignment]
    for other in [s for s in stacks if s != source]:  # a stack's planes come one after another
        _write_stack(ctx, other, stacks.pop(other))
    planes = stacks[source].planes if source in stacks else _planes(source)
    if planes <= 1:
        path = ctx.root / zarr_name(stem)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image_masks(path, _image_pixels(image), mask, ctx.classes, _channel_names(source))
        return
    stack_stem = stem.rsplit(".z", 1)[0] if plane else stem  # a plane's key: the stack's, ".z002"
    stacks.setdefault(source, _Stack(stack_stem, planes)).masks[plane] = mask


def _write_stack(ctx: ExportContext, source: Path, stack: _Stack) -> None:
    path = ctx.root / zarr_name(stack.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    read = lambda z: _image_pixels(plane_path(source, z))  # noqa: E731
    write_stack_masks(path, stack.planes, read, stack.masks, ctx.classes, _channel_names(source))


def _finish(ctx: ExportContext) -> None:
    stacks: dict[Path, _Stack] = ctx.collected.pop(STACKS, {})  # type: ignore[assignment]
    for source, stack in stacks.items():
        _write_stack(ctx, source, stack)


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    """Every OME-Zarr in the source (or the source itself) with a label image, matched to the
    project image it is (an OME-Zarr the project holds) or was exported from (by stem); a label
    image with planes (z, time) to the planes of that stack, by their names."""
    source = ctx.source
    found = [source] if is_ome_zarr(source) else sorted(p for p in source.iterdir() if is_ome_zarr(p))
    for path in found:
        stem = path.name[: -len(".ome.zarr")] if path.name.lower().endswith(".ome.zarr") else path.stem
        image = ctx.match(path, stem, path.name)
        if image is None:
            continue
        planes = label_planes(path)
        if planes == 1:
            yield path.name, image, lambda shape, p=path: _label_mask(p, shape)
            continue
        for z in range(planes):
            plane = image if z == 0 else ctx.match(path, f"{image.stem}.z{z + 1:03d}")  # the plane's key
            if plane is not None:
                yield (
                    f"{path.name}, plane {z + 1}",
                    plane,
                    lambda shape, p=path, z=z: _label_mask(p, shape, z),
                )


def _label_mask(path: Path, shape: tuple[int, int], plane: int = 0) -> np.ndarray:
    name, values = read_label_image(path, plane=plane)
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
    finish=_finish,
    import_kind="ome-zarr",
    import_title="OME-Zarr label images (labels/segmentation, else the first; a stack's planes as z)",
    read=_read,
)
