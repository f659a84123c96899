"""A whole slide's labels imported into the slide's chunked mask (``masks/<name>.zarr``), never
held whole: a one-channel label TIFF (QuPath's or Fiji's export of a labelled slide, or
SegGUI's own tiled export) streamed chunk by chunk (``model.storage.slide_masks``), or shapes
(labelme, COCO, YOLO; ``model.labels.formats.base.ShapeLabels``) drawn ``IMPORT_REGION`` pixels
at a time.

The new mask is written beside the old one and takes its place only when complete, so a label
file that turns out bad halfway leaves the slide's mask as it was."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import SegGUIError
from model.labels.formats.base import ShapeLabels
from model.storage.chunked_mask import ChunkedMask, holds_labels
from model.storage.slide import SlideReader
from model.storage.slide_masks import stream_label_tiff
from model.storage.tiff_files import is_tiff
from model.words import TO_REPLACE

log = logging.getLogger(__name__)


def import_slide_labels(
    label_file: Path,
    image: Path,
    folder: Path,
    classes: list[ClassInfo],
    *,
    overwrite: bool,
    along: Callable[[float], None] | None = None,
) -> str | None:
    """Stream ``label_file`` into ``folder``, the chunked mask of the slide ``image``; a reason
    if it was not imported (the slide has labels and ``overwrite`` is off), None if it was.
    ``along`` hears the share read after each row of chunks.
    Raises ``SegGUIError`` naming the file for one that cannot be a slide's labels."""
    if not is_tiff(label_file):
        return (
            f"{label_file.name}: {image.name} is a whole slide; its labels are read from a one-channel "
            "label TIFF of its size (a PNG that large cannot be read)"
        )
    shape = _slide_shape(label_file.name, image, folder, overwrite)
    if isinstance(shape, str):
        return shape
    with SlideReader(label_file) as labels:  # its size before any of it is streamed
        size = labels.shape
    if size != shape:
        raise SegGUIError(
            f"{label_file}: the labels are {size[1]} x {size[0]}, the slide {image.name} "
            f"{shape[1]} x {shape[0]}; they must be the same size (labels of the full-resolution level)"
        )

    def fill(staging: Path) -> None:
        _, counts = stream_label_tiff(label_file, staging, along=along)
        unknown = sorted(value for value in counts if value >= len(classes))
        if unknown:
            raise SegGUIError(f"{label_file}: values {unknown[:8]} are not classes of this project")

    _staged(folder, fill)
    return None


IMPORT_REGION = 2048
"""The side of the regions a slide's shapes are drawn in, one at a time."""


def import_slide_shapes(
    labels: ShapeLabels,
    name: str,
    image: Path,
    folder: Path,
    classes: list[ClassInfo],
    *,
    overwrite: bool,
    along: Callable[[float], None] | None = None,
) -> str | None:
    """Draw ``labels`` (from the label file ``name``) into ``folder``, the chunked mask of the
    slide ``image``, region by region; a reason if they were not imported (the slide has labels
    and ``overwrite`` is off), None if they were; ``along`` hears the share drawn after each
    row of regions. Raises ``SegGUIError`` naming the file for labels of another size or with
    values that are not classes."""
    shape = _slide_shape(name, image, folder, overwrite)
    if isinstance(shape, str):
        return shape
    height, width = shape
    if labels.size is not None and labels.size != shape:
        raise SegGUIError(
            f"{name}: the labels are for an image of {labels.size[1]} x {labels.size[0]}, the slide "
            f"{image.name} is {width} x {height}; they must be the same size (labels of the "
            "full-resolution level)"
        )

    def fill(staging: Path) -> None:
        mask = ChunkedMask.create(staging, shape)
        for top in range(0, height, IMPORT_REGION):
            for left in range(0, width, IMPORT_REGION):
                window = (top, left, min(IMPORT_REGION, height - top), min(IMPORT_REGION, width - left))
                block = labels.draw(shape, window)
                bad = np.unique(block[(block >= len(classes)) & (block != IGNORE_INDEX)])
                if bad.size:
                    raise SegGUIError(f"{name}: values {bad[:8].tolist()} are not classes of this project")
                if np.any(block != IGNORE_INDEX):
                    mask.write(top, left, block)
            mask.save()  # row by row: the unsaved chunks stay few
            if along is not None:
                along(min(top + IMPORT_REGION, height) / height)
        labels.finish()

    _staged(folder, fill)
    return None


def _slide_shape(name: str, image: Path, folder: Path, overwrite: bool) -> tuple[int, int] | str:
    """The slide's (height, width), or why the labels in ``name`` are not imported into
    ``folder``, its mask: it has labels and ``overwrite`` is off."""
    if holds_labels(folder) and not overwrite:
        return f"{name}: {image.name} already has a mask ({TO_REPLACE})"
    with SlideReader(image) as slide:
        return slide.shape


def _staged(folder: Path, fill: Callable[[Path], None]) -> None:
    """A new mask made by ``fill`` in a staging folder beside ``folder``, put in its place only
    when ``fill`` returns; on any error the old mask stays as it was."""
    staging = folder.with_name(f".{folder.name}.importing-{secrets.token_hex(4)}")
    try:
        fill(staging)
        _replace(folder, staging)
    except OSError as exc:
        raise SegGUIError(f"cannot write {folder}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _replace(folder: Path, staging: Path) -> None:
    """Put ``staging`` where ``folder`` is: the old folder moved aside first, removed after."""
    old = folder.with_name(f".{folder.name}.replaced-{secrets.token_hex(4)}")
    if folder.exists():
        os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except OSError:
        if old.exists():
            os.replace(old, folder)  # the old mask back where it was
        raise
    shutil.rmtree(old, ignore_errors=True)
    if old.exists():
        log.warning("%s: the replaced mask could not be removed; delete it by hand", old)
