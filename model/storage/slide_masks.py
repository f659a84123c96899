"""Label images of slides brought into chunked masks: a tiled label TIFF (QuPath's and Fiji's
export of a labelled slide: one channel of class indices) streamed chunk by chunk into a
``model.storage.chunked_mask.ChunkedMask``, or a chunked mask folder opened as it is; and a
slide's own mask in a project opened, or begun anew when the one there cannot be its."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.storage.chunk_files import ChunkedMaskError, aside_name, stored_keys
from model.storage.chunked_mask import DEFAULT_CLEAN_BYTES, ChunkedMask
from model.storage.slide import SlideReader


def open_slide_mask(
    source: str | os.PathLike[str], shape: tuple[int, int], scratch: Path, *, ignore_value: int | None = None
) -> tuple[ChunkedMask, dict[int, int]]:
    """The labels of a slide of ``shape``, and the pixels of each class value: a chunked mask
    folder as it is, or a label TIFF streamed into a new one under ``scratch``. ``ignore_value``
    in a TIFF reads as not labelled (255 always does)."""
    path = Path(source)
    if (path / ".zarray").is_file():
        mask = ChunkedMask.open(path)
        counts = _counts(mask)
    else:
        mask, counts = stream_label_tiff(path, scratch / f"{path.name}.zarr", ignore_value)
    if mask.shape != shape:
        raise SegGUIError(
            f"{path}: the labels are {mask.shape[1]} x {mask.shape[0]}, the slide {shape[1]} x {shape[0]}; "
            "they must be the same size (labels of the full-resolution level)"
        )
    return mask, counts


def stream_label_tiff(
    path: Path,
    folder: Path,
    ignore_value: int | None = None,
    along: Callable[[float], None] | None = None,
) -> tuple[ChunkedMask, dict[int, int]]:
    """A label TIFF streamed chunk by chunk into a new chunked mask at ``folder``, and the pixels
    of each class value (``ignore_value`` and 255 read as not labelled); ``along`` hears the
    share read after each row of chunks."""
    with SlideReader(path) as labels:
        if labels.channels != 1 or labels.dtype not in (np.uint8, np.uint16):
            raise SegGUIError(
                f"{path}: a label image has one channel of class indices (8 or 16 bit); this one has "
                f"{labels.channels} channel(s) of {labels.dtype}"
            )
        mask = ChunkedMask.create(folder, labels.shape)
        counts: dict[int, int] = {}
        size = mask.chunk
        rows, columns = mask.grid
        for cy in range(rows):
            for cx in range(columns):
                block = labels.read_region(0, cy * size, cx * size, size, size).astype(np.int64)
                block = block[: labels.shape[0] - cy * size, : labels.shape[1] - cx * size]
                if ignore_value is not None:
                    block[block == ignore_value] = IGNORE_INDEX
                if block.max() > IGNORE_INDEX:
                    raise SegGUIError(
                        f"{path}: holds the value {int(block.max())} (at chunk {cy}, {cx}); class indices "
                        f"go up to 254, and {IGNORE_INDEX} means not labelled"
                    )
                if _add_counts(counts, block):
                    mask.write(cy * size, cx * size, block.astype(np.uint8))
            mask.save()  # row by row: the unsaved chunks stay few
            if along is not None:
                along((cy + 1) / rows)
    return mask, counts


def _counts(mask: ChunkedMask) -> dict[int, int]:
    counts: dict[int, int] = {}
    size = mask.chunk
    for cy, cx in mask.stored_chunks():
        _add_counts(counts, mask.read(cy * size, cx * size, size, size))
    return counts


def _add_counts(counts: dict[int, int], block: np.ndarray) -> bool:
    """Add the labelled pixels of ``block`` per class to ``counts``; whether it has any."""
    values, numbers = np.unique(block, return_counts=True)
    labelled = False
    for value, number in zip(values.tolist(), numbers.tolist(), strict=True):
        if value != IGNORE_INDEX:
            counts[value] = counts.get(value, 0) + number
            labelled = True
    return labelled


def open_or_plan(
    folder: Path, shape: tuple[int, int], clean_bytes: int = DEFAULT_CLEAN_BYTES
) -> tuple[ChunkedMask, list[str]]:
    """A slide's mask in ``folder``: opened, or planned when there is none. One that cannot be
    the slide's (of another size, not a chunked mask, unreadable) is never used, nor written
    over: it is named with the reason, and the slide gets a new, empty mask, which moves it aside
    when its first edit is kept (as a PNG mask that cannot be read is kept until you paint), so
    a stroke is never taken and then dropped. Returns the mask and what was said."""
    if not os.path.lexists(folder):
        return ChunkedMask.planned(folder, shape, clean_bytes=clean_bytes), []
    try:
        mask = ChunkedMask.open(folder, clean_bytes=clean_bytes)
        mask.check_fits(shape)
        stored_keys(folder)  # an entry that stops the folder being listed is named now
    except ChunkedMaskError as exc:
        mask = ChunkedMask.planned(folder, shape, clean_bytes=clean_bytes, replacing=True)
        aside = aside_name(folder).name
        return mask, [f"{exc}. The slide starts a new mask; the old one is moved to {aside} when you paint"]
    messages = []
    if mask.restored_edits:
        messages.append(f"{folder}: {mask.restored_edits} edits a crash left unsaved were restored")
    if mask.journal_problem:
        messages.append(mask.journal_problem)
    return mask, messages
