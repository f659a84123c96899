"""Masks as OME-Zarr (NGFF) label images, written with ome-zarr-py: one ``<name>.ome.zarr`` per
image (per stack, its planes as z), the image as a multiscale pyramid and the mask under
``labels/segmentation`` with its own pyramid and ``image-label`` metadata (each class's colour,
a property naming each class), so napari-ome-zarr, QuPath, Fiji's MoBIE and vizarr show the
classes as SegGUI does. A slide's image and chunked mask are streamed window by window (dask
arrays over the readers), never whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.composite import default_colours

LABEL_NAME = "segmentation"
SMALLEST_LEVEL = 256
"""The pyramid halves until its smallest level is under this many pixels a side."""
CHUNK = 1024
UNLABELLED_NAME = "not labelled"


def pyramid_factors(shape: tuple[int, int]) -> tuple[int, ...]:
    """Downscale factors of the levels after the first: 2, 4, 8, ... while a level keeps at
    least ``SMALLEST_LEVEL`` pixels on its longer side."""
    factors, factor = [], 2
    while max(shape) // factor >= SMALLEST_LEVEL:
        factors.append(factor)
        factor *= 2
    return tuple(factors)


def label_metadata(classes: Sequence[ClassInfo], values: Sequence[int]) -> dict[str, object]:
    """NGFF ``image-label`` metadata: a colour and a class name for each value the mask may
    hold (``IGNORE_INDEX``, "not labelled", see-through)."""
    colours, properties = [], []
    for value in values:
        if value == IGNORE_INDEX:
            colours.append({"label-value": IGNORE_INDEX, "rgba": [0, 0, 0, 0]})
            properties.append({"label-value": IGNORE_INDEX, "class": UNLABELLED_NAME})
        elif value < len(classes):
            colours.append({"label-value": int(value), "rgba": [*classes[value].color, 255]})
            properties.append({"label-value": int(value), "class": classes[value].name})
    return {"colors": colours, "properties": properties}


def _axes(raw_ndim: int) -> str:
    return "yx" if raw_ndim == 2 else "cyx"


def channel_metadata(raw: np.ndarray, names: Sequence[str]) -> dict[str, object]:
    """NGFF ``omero`` metadata naming each channel of ``raw`` (H x W x C, or H x W), with the
    colour SegGUI shows it in and its display window (its 0.1 and 99.9 percentiles, within the
    dtype's range); none without names."""
    planes = raw if raw.ndim == 3 else raw[..., None]
    if not names or len(names) != planes.shape[2] or not all(names):
        return {}
    if np.issubdtype(raw.dtype, np.integer):
        low, high = float(np.iinfo(raw.dtype).min), float(np.iinfo(raw.dtype).max)
    else:
        low, high = float(np.nanmin(planes)), float(np.nanmax(planes))
    channels = []
    for index, (name, colour) in enumerate(zip(names, default_colours(len(names)))):
        sample = planes[::4, ::4, index]
        start, end = (float(v) for v in np.nanpercentile(sample, (0.1, 99.9)))
        window = {"start": start, "end": max(end, start + 1e-6), "min": low, "max": high}
        hex_colour = "".join(f"{c:02X}" for c in colour)
        channels.append({"label": str(name), "color": hex_colour, "active": True, "window": window})
    return {"omero": {"channels": channels}}


def write_image_masks(
    path: Path,
    raw: np.ndarray,
    mask: np.ndarray,
    classes: Sequence[ClassInfo],
    channel_names: Sequence[str] = (),
) -> None:
    """``raw`` (H x W or H x W x C, its own dtype: no channel dropped, 16-bit kept; its channels
    named ``channel_names``, if given) and ``mask`` (H x W) as the OME-Zarr ``path``."""
    import zarr
    from ome_zarr.writer import write_image, write_labels

    image = raw if raw.ndim == 2 else np.moveaxis(raw, -1, 0)
    factors = pyramid_factors(mask.shape)
    root = zarr.open_group(str(path), mode="w")
    chunks = (CHUNK, CHUNK) if raw.ndim == 2 else (1, CHUNK, CHUNK)
    write_image(
        image,
        root,
        scale_factors=factors,
        axes=_axes(raw.ndim),
        storage_options={"chunks": chunks},
        **channel_metadata(raw, channel_names),  # type: ignore[arg-type]
    )
    values = [int(v) for v in np.unique(mask)] + [
        v for v in range(len(classes)) if v not in set(np.unique(mask))
    ]
    write_labels(
        np.ascontiguousarray(mask, np.uint8),
        root,
        name=LABEL_NAME,
        scaler=None,
        scale_factors=factors,
        axes="yx",
        label_metadata=label_metadata(classes, sorted(set(values))),
        storage_options={"chunks": (CHUNK, CHUNK)},
    )


def write_stack_masks(
    path: Path,
    planes: int,
    read_plane: Callable[[int], np.ndarray],
    masks: Mapping[int, np.ndarray],
    classes: Sequence[ClassInfo],
    channel_names: Sequence[str] = (),
) -> None:
    """A stack of ``planes`` planes as the OME-Zarr ``path``, its planes as z: the image
    (``read_plane(z)``, each H x W or H x W x C, its own dtype, read as it is written; its
    channels named ``channel_names``, if given) as a (c,) z, y, x pyramid, the masks (``masks``:
    plane -> H x W; a plane without one is not labelled) as a z, y, x label image."""
    import dask
    import dask.array as da
    import zarr
    from ome_zarr.writer import write_image, write_labels

    first = read_plane(0)
    height, width = first.shape[:2]
    lazy = [da.from_array(first)] + [
        da.from_delayed(dask.delayed(read_plane)(z), first.shape, first.dtype) for z in range(1, planes)
    ]
    image = da.stack(lazy)  # z, y, x (, c)
    if first.ndim == 3:
        image = da.moveaxis(image, -1, 0)  # c, z, y, x
    labels = np.full((planes, height, width), IGNORE_INDEX, np.uint8)
    for z, mask in masks.items():
        labels[z] = mask
    factors = pyramid_factors((height, width))
    root = zarr.open_group(str(path), mode="w")
    axes = "zyx" if first.ndim == 2 else "czyx"
    chunks = (1, CHUNK, CHUNK) if first.ndim == 2 else (1, 1, CHUNK, CHUNK)
    write_image(
        image,
        root,
        scale_factors=factors,
        axes=axes,
        storage_options={"chunks": chunks},
        **channel_metadata(first, channel_names),  # type: ignore[arg-type]
    )
    values = sorted({*np.unique(labels).tolist(), *range(len(classes))})
    write_labels(
        labels,
        root,
        name=LABEL_NAME,
        scaler=None,
        scale_factors=factors,
        axes="zyx",
        label_metadata=label_metadata(classes, values),
        storage_options={"chunks": (1, CHUNK, CHUNK)},
    )


class WindowedArray:
    """A large array read window by window, as dask's ``from_array`` asks for it: ``read(top,
    left, height, width)`` gives one window of ``shape``."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, read) -> None:
        self.shape, self.dtype, self.ndim, self._read = shape, np.dtype(dtype), len(shape), read

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        rows, columns = key[0], key[1]
        top, left = rows.start or 0, columns.start or 0
        bottom = self.shape[0] if rows.stop is None else rows.stop
        right = self.shape[1] if columns.stop is None else columns.stop
        window = self._read(top, left, bottom - top, right - left)
        return window[(slice(None), slice(None), *key[2:])] if len(key) > 2 else window


def write_slide_masks(
    path: Path, reader, mask, classes: Sequence[ClassInfo], *, unlabelled: int = IGNORE_INDEX
) -> None:
    """A slide (``model.storage.slide.SlideReader``) and its chunked mask as the OME-Zarr
    ``path``, streamed: the image pyramid is the slide's own levels, each read once window by
    window; the mask's levels are every 2nd, 4th, ... pixel of its chunks (nearest). Memory
    holds a few windows at a time, whatever the slide's size. ``unlabelled``: what
    not-labelled pixels are written as (``IGNORE_INDEX``, or 0 for background)."""
    import dask.array as da
    import zarr
    from ome_zarr.writer import write_multiscale, write_multiscale_labels

    height, width = reader.shape
    channels = reader.channels
    root = zarr.open_group(str(path), mode="w")
    images, image_scales = [], []
    for level in reader.levels:
        shape = (level.height, level.width) if channels == 1 else (level.height, level.width, channels)

        def read(top, left, h, w, index=level.index):
            return reader.read_region(index, top, left, h, w)

        chunks = (CHUNK, CHUNK) if channels == 1 else (CHUNK, CHUNK, channels)
        array = da.from_array(WindowedArray(shape, reader.dtype, read), chunks=chunks, asarray=False)
        images.append(array if channels == 1 else da.moveaxis(array, -1, 0))
        scale = [height / level.height, width / level.width]
        image_scales.append([{"type": "scale", "scale": scale if channels == 1 else [1.0, *scale]}])
    axes = _axes(2 if channels == 1 else 3)
    image_chunks = (CHUNK, CHUNK) if channels == 1 else (channels, CHUNK, CHUNK)
    labels, label_scales = [], []
    for factor in (1, *pyramid_factors((height, width))):
        shape = (-(-height // factor), -(-width // factor))

        def read_mask(top, left, h, w, step=factor):
            window = mask.read_strided(top * step, left * step, h * step, w * step, step)[:h, :w]
            if unlabelled != IGNORE_INDEX:
                window[window == IGNORE_INDEX] = unlabelled
            return window

        windows = WindowedArray(shape, np.uint8, read_mask)
        labels.append(da.from_array(windows, chunks=(CHUNK, CHUNK), asarray=False))
        label_scales.append([{"type": "scale", "scale": [float(factor), float(factor)]}])
    with warnings.catch_warnings():
        # ome-zarr-py 0.18 would rather derive each level's scale from one factor; a slide's own
        # levels need not be halvings (an SVS's are 4x apart), so each level's scale is given as
        # NGFF states it.
        warnings.filterwarnings("ignore", "The 'coordinate_transformations' argument", DeprecationWarning)
        write_multiscale(
            images,
            root,
            axes=axes,
            coordinate_transformations=image_scales,
            storage_options={"chunks": image_chunks},
            name="image",
        )
        write_multiscale_labels(
            labels,
            root,
            name=LABEL_NAME,
            axes="yx",
            coordinate_transformations=label_scales,
            storage_options={"chunks": (CHUNK, CHUNK)},
            label_metadata=label_metadata(classes, [*range(len(classes)), IGNORE_INDEX]),
        )
