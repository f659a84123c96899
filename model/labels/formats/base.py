"""What a label format is: how one mask becomes files (export) and files become masks (import)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import ClassInfo
from model.labels.label_formats import ExportContext

MaskMaker = Callable[[tuple[int, int]], np.ndarray]
"""Makes an image's mask given the image's (height, width)."""

Window = tuple[int, int, int, int]
"""(top, left, height, width) of a region of an image."""


@dataclass(frozen=True)
class ShapeLabels:
    """An image's labels drawn from shapes (labelme, COCO, YOLO): the whole mask, or any window
    of it, so a whole slide's mask is drawn region by region and never held whole.

    ``draw(shape, window)`` draws the window of the mask of an image of ``shape``; ``finish``
    is called once every window is drawn (to report what was seen across them); ``size`` is
    the image size the labels state, where they state one (COCO)."""

    draw: Callable[[tuple[int, int], Window], np.ndarray]
    finish: Callable[[], None] = lambda: None
    size: tuple[int, int] | None = None

    def __call__(self, shape: tuple[int, int]) -> np.ndarray:
        shape = self.size or shape
        mask = self.draw(shape, (0, 0, *shape))
        self.finish()
        return mask


@dataclass
class ReadContext:
    """What a reader needs: where the labels are, how to find their image, the classes."""

    source: Path
    match: Callable[..., Path | None]
    """``match(label_file, stem, image_name=None)``: the project image, or None (reported)."""
    classes: list[ClassInfo]
    names: dict[str, int]
    """Class name -> index (grows when labelme labels are added as classes)."""
    skipped: list[str]
    labelme_labels: Callable[[dict, Path], ShapeLabels]
    notes: list[str] = field(default_factory=list)
    """Files read with something to tell (regions of two classes overlapping)."""


@dataclass(frozen=True)
class LabelFormat:
    """One format: its names and titles, its writer (if SegGUI exports it) and its reader (if
    SegGUI imports it). ``model.labels.formats`` lists them all; the CLI and the dialogs offer what is
    listed there."""

    name: str
    title: str
    item_paths: Callable[[str], list[str]] | None = None
    """Files written for an image with this mask name, relative to the export folder."""
    write_item: Callable[[ExportContext, Path, np.ndarray, str], None] | None = None
    shared_paths: tuple[str, ...] = ()
    """Files written once per export (besides the classes file and the split lists)."""
    finish: Callable[[ExportContext], None] | None = None
    lists_folder: str = ""
    """Where ``train.txt`` and ``val.txt`` go (VOC: ``ImageSets/Segmentation/``)."""
    trainval: bool = False
    """Also a list of every exported item (VOC's ``trainval.txt``)."""
    distinct_colours: bool = False
    """Classes must have distinct colours (colour masks lose classes that share one)."""
    names_image_files: bool = False
    """Its files name the image file they label (COCO, labelme, YOLO), which a plane of a stack
    (after the first) is not: such planes are skipped with a message."""
    import_kind: str | None = None
    import_title: str = ""
    read: Callable[[ReadContext], Iterator[tuple[str, Path, MaskMaker]]] | None = None
    """(label file name, project image, mask maker) for every usable label of ``source``."""
