"""A whole slide's mask in an export: its chunked mask written as a tiled, pyramidal index TIFF
(``model.storage.tiled_tiff``), tile by tile, never the whole mask in memory. The other export
formats (PNGs, polygons, COCO, YOLO) hold a whole image per file or per record; a slide's mask is
refused there with a message that names the slide and the format that holds it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.storage.chunked_mask import SLIDE_MASK_SUFFIX, ChunkedMask, holds_labels
from model.storage.mask_names import MaskNames
from model.storage.slide import opens_as_slide
from model.storage.tiff_files import image_title

SLIDE_EXPORT_FORMAT = "index"
SLIDE_EXPORT_SUFFIX = ".tif"


def slide_mask_of(
    image: Path, names: MaskNames, mask_dir: Path, open_masks: Mapping[Path, ChunkedMask] | None = None
) -> ChunkedMask | None:
    """The chunked mask of ``image`` if it is a slide with labels: the window's open one (strokes
    not saved yet included) or the folder on disk; None for any other image."""
    folder = names.mask_path(image, mask_dir).with_suffix(SLIDE_MASK_SUFFIX)
    opened = (open_masks or {}).get(folder)
    if opened is not None:
        return opened
    if holds_labels(folder) and opens_as_slide(image):
        return ChunkedMask.open(folder)
    return None


def slide_export_name(key: str) -> str:
    """The file a slide's mask is exported to, relative to the export folder."""
    return f"{key}{SLIDE_EXPORT_SUFFIX}"


def refusal(image: Path, format_title: str) -> str:
    """Why a slide's mask is not exported in a format that holds whole images."""
    return (
        f"{image_title(image)}: a whole slide's mask is exported only as a tiled index TIFF; "
        f"{format_title} holds whole images. Export again as index masks to include it"
    )


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
