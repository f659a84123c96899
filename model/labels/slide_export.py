"""A whole slide's mask in an export, never the whole mask in memory: as a tiled, pyramidal index
TIFF (``model.storage.tiled_tiff``), tile by tile, or as labelme or COCO polygons gathered
region by region (``slide_shapes``: a shape that crosses a region's border comes as two that
meet there, which fill the same pixels). The formats that hold a whole image per file or run
(colour PNGs, VOC, YOLO, COCO run-length encoding) refuse a slide with a message that names it
and the formats that hold it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.labels.label_formats import shapes_of
from model.storage.chunked_mask import SLIDE_MASK_SUFFIX, ChunkedMask, holds_labels, slide_mask_folder
from model.storage.mask_names import MaskNames
from model.storage.slide import opens_as_slide
from model.storage.tiff_files import image_title

SLIDE_EXPORT_FORMAT = "index"
SLIDE_EXPORT_SUFFIX = ".tif"


def slide_masks_of(
    images: Iterable[Path],
    names: MaskNames,
    mask_dir: Path,
    open_masks: Mapping[Path, ChunkedMask] | None = None,
) -> dict[Path, ChunkedMask]:
    """The chunked mask of each of ``images`` that is a slide with labels: the window's open one
    (strokes not saved yet included) or the folder on disk. One listing of ``mask_dir`` says
    which images have a mask folder at all."""
    open_masks = open_masks or {}
    try:
        folders = {entry.name for entry in os.scandir(mask_dir) if entry.name.endswith(SLIDE_MASK_SUFFIX)}
    except FileNotFoundError:
        folders = set()
    found = {}
    for image in images:
        folder = slide_mask_folder(names.mask_path(image, mask_dir))
        if folder in open_masks:
            found[image] = open_masks[folder]
        elif folder.name in folders and holds_labels(folder) and opens_as_slide(image):
            found[image] = ChunkedMask.open(folder)
    return found


def slide_export_name(key: str) -> str:
    """The file a slide's mask is exported to, relative to the export folder."""
    return f"{key}{SLIDE_EXPORT_SUFFIX}"


EXPORT_REGION = 2048
"""The side of the regions a slide's polygons are gathered from."""


def refusal(image: Path, format_title: str) -> str:
    """Why a slide's mask is not exported in a format that holds whole images."""
    return (
        f"{image_title(image)}: a whole slide's mask is exported as a tiled index TIFF, labelme "
        f"polygons or COCO polygons; {format_title} holds whole images. Export again in one of "
        "those to include it"
    )


def slide_shapes(
    mask: ChunkedMask, num_classes: int, *, background: bool = False
) -> tuple[list[tuple[int, np.ndarray]], dict[int, int]]:
    """(class, polygon in slide coordinates) for every region of every class, read
    ``EXPORT_REGION`` pixels at a time (only the labelled regions, unless not-labelled pixels
    are exported as ``background``), and the pixels of each class."""
    height, width = mask.shape
    size, per = EXPORT_REGION, EXPORT_REGION // mask.chunk
    if background:
        starts = [(y, x) for y in range(0, height, size) for x in range(0, width, size)]
    else:
        starts = sorted({(cy // per * size, cx // per * size) for cy, cx in mask.stored_chunks()})
    shapes: list[tuple[int, np.ndarray]] = []
    counts: dict[int, int] = {}
    for y, x in starts:
        labels = mask.read(y, x, min(size, height - y), min(size, width - x))
        if background:
            labels = np.where(labels == IGNORE_INDEX, np.uint8(0), labels)
        offset = np.array([x, y], dtype=float)
        shapes += [(value, polygon + offset) for value, polygon in shapes_of(labels, num_classes)]
        values, numbers = np.unique(labels, return_counts=True)
        for value, number in zip(values.tolist(), numbers.tolist(), strict=True):
            if value != IGNORE_INDEX:
                counts[value] = counts.get(value, 0) + number
    return shapes, counts


def is_complete(mask: ChunkedMask) -> bool:
    """Whether every pixel of ``mask`` is labelled (read chunk by chunk, stopping at the first gap)."""
    rows, columns = mask.grid
    if len(mask.stored_chunks()) < rows * columns:
        return False
    size = mask.chunk
    height, width = mask.shape
    for cy in range(rows):
        for cx in range(columns):
            block = mask.read(
                cy * size, cx * size, min(size, height - cy * size), min(size, width - cx * size)
            )
            if np.any(block == IGNORE_INDEX):
                return False
    return True
