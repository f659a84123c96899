"""A whole slide's mask in an export, never the whole mask in memory: as a tiled, pyramidal index
TIFF (``model.storage.tiled_tiff``), tile by tile, or as labelme or COCO polygons gathered
region by region (``slide_shapes``: a shape that crosses a region's border comes as two that
meet there, which fill the same pixels), or as COCO run-length encoding streamed in strips
(``slide_runs``) where the slide has few enough pixels for it. The formats that hold a whole
image per file (colour PNGs, VOC, YOLO) refuse a slide with a message that names it and the
formats that hold it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.labels.label_formats import shapes_of
from model.storage.chunked_mask import SLIDE_MASK_SUFFIX, ChunkedMask, holds_labels, slide_mask_folder
from model.storage.mask_names import MaskNames
from model.storage.slide import SlideReader, TileCache, opens_as_slide
from model.storage.tiff_files import image_title

SLIDE_EXPORT_FORMAT = "index"
SLIDE_EXPORT_SUFFIX = ".tif"


def slide_masks_of(
    images: Iterable[Path],
    names: MaskNames,
    mask_dir: Path,
    open_masks: Mapping[Path, ChunkedMask] | None = None,
    problems: list[str] | None = None,
) -> dict[Path, ChunkedMask]:
    """The chunked mask of each of ``images`` that is a slide with labels: the window's open one
    (strokes not saved yet included) or the folder on disk. One listing of ``mask_dir`` says
    which images have a mask folder at all. A folder that cannot be used (not a chunked mask,
    of another size than its slide) is left out, named in ``problems``."""
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
        elif folder.name in folders and opens_as_slide(image):
            try:
                if holds_labels(folder):
                    found[image] = _checked(folder, image)
            except SegGUIError as exc:
                if problems is None:
                    raise
                problems.append(f"{exc}; its slide is left out")
    return found


def _checked(folder: Path, image: Path) -> ChunkedMask:
    """The chunked mask in ``folder``, refused unless it is the size of ``image``."""
    mask = ChunkedMask.open(folder)
    with SlideReader(image, TileCache(0)) as reader:
        mask.check_fits(reader.shape)
    return mask


def slide_export_name(key: str) -> str:
    """The file a slide's mask is exported to, relative to the export folder."""
    return f"{key}{SLIDE_EXPORT_SUFFIX}"


EXPORT_REGION = 2048
"""The side of the regions a slide's polygons are gathered from."""


def refusal(image: Path, format_title: str) -> str:
    """Why a slide's mask is not exported in a format that holds whole images."""
    return (
        f"{image_title(image)}: a whole slide's mask is exported as a tiled index TIFF, labelme "
        f"polygons or COCO (polygons, or run-length encoding up to {RLE_MAX_PIXELS:,} pixels); "
        f"{format_title} holds whole images. Export again in one of those to include it"
    )


RLE_MAX_PIXELS = (1 << 32) - 1
"""The most pixels a COCO run-length encoding can span: pycocotools counts runs in 32 bits."""


def rle_refusal(image: Path, shape: tuple[int, int]) -> str | None:
    """Why a slide's mask cannot be run-length encoded for COCO, or None if it can."""
    height, width = shape
    if height * width <= RLE_MAX_PIXELS:
        return None
    return (
        f"{image_title(image)}: COCO run-length encoding counts runs in 32 bits (pycocotools), so it "
        f"spans at most {RLE_MAX_PIXELS:,} pixels; this slide has {width:,} x {height:,}. Export it "
        "as COCO polygons, labelme polygons or a tiled index TIFF"
    )


@dataclass
class ClassRuns:
    """One class of a slide as COCO run-length encoding: where its value flips in the
    column-major pixels (from not-the-class at 0), its pixels and its bounding box."""

    flips: list[int] = field(default_factory=list)
    area: int = 0
    box: list[int] = field(default_factory=lambda: [1 << 62, 1 << 62, -1, -1])
    """Left, top, right, bottom (inclusive)."""

    def counts(self, pixels: int) -> list[int]:
        """The run lengths over ``pixels`` pixels, beginning with a run of not-the-class."""
        return np.diff(np.asarray([0, *self.flips, pixels], np.int64)).tolist()


def slide_runs(mask: ChunkedMask, num_classes: int, *, background: bool = False) -> dict[int, ClassRuns]:
    """Each class of a slide's mask as run lengths (``ClassRuns``), read in strips the full
    height of the slide and one chunk wide: such a strip is one stretch of the column-major
    order, so the runs of each strip follow on from the last. Only strips with labels are read,
    unless not-labelled pixels are exported as ``background``."""
    height, width = mask.shape
    size = mask.chunk
    labelled = {cx for _, cx in mask.stored_chunks()}
    runs: dict[int, ClassRuns] = {}
    previous = IGNORE_INDEX  # the label of the last pixel read, in column-major order
    for cx in range(-(-width // size)):
        left = cx * size
        if cx not in labelled and not background:
            if previous != IGNORE_INDEX:  # its run ends where the strip without labels begins
                runs[previous].flips.append(left * height)
                previous = IGNORE_INDEX
            continue
        strip = mask.read(0, left, height, min(size, width - left))
        if background:
            strip[strip == IGNORE_INDEX] = 0
        _add_strip(runs, strip, left, previous, num_classes)
        previous = int(strip[-1, -1])
    return runs


def _add_strip(
    runs: dict[int, ClassRuns], strip: np.ndarray, left: int, previous: int, num_classes: int
) -> None:
    """The runs of one strip (columns from ``left``, after a pixel labelled ``previous``), from
    where its labels change alone: one pass over the strip for every class."""
    height, width = strip.shape
    row, column = np.nonzero(strip[1:] != strip[:-1])  # a change between row and row + 1
    before, after = strip[row, column], strip[row + 1, column]
    at = (left + column) * height + row + 1
    top, bottom = strip[0], strip[-1]
    above_top = np.concatenate([[previous], bottom[:-1]])  # a column follows the one before
    top_at = (left + np.arange(width, dtype=np.int64)) * height
    pixels = np.bincount(strip.ravel(), minlength=256)
    for value in range(num_classes):
        if not pixels[value] and value != previous:
            continue
        of = runs.setdefault(value, ClassRuns())
        flips = np.concatenate(
            [at[(before == value) != (after == value)], top_at[(above_top == value) != (top == value)]]
        )
        of.flips += np.sort(flips).tolist()
        if pixels[value]:
            starts = after == value  # every column holding the class has a run of it begin
            columns = np.concatenate([column[starts], np.flatnonzero(top == value)])
            first_rows = np.concatenate([row[starts] + 1, [0] if np.any(top == value) else []])
            last_rows = np.concatenate(
                [row[before == value], [height - 1] if np.any(bottom == value) else []]
            )
            of.area += int(pixels[value])
            of.box = [
                min(of.box[0], left + int(columns.min())),
                min(of.box[1], int(first_rows.min())),
                max(of.box[2], left + int(columns.max())),
                max(of.box[3], int(last_rows.max())),
            ]


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
        for value, number in enumerate(np.bincount(labels.ravel(), minlength=256)[:IGNORE_INDEX].tolist()):
            if number:
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
