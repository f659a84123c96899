"""The label formats SegGUI exports and imports, one module each; this is their registry.

A new format is one module defining ``FORMAT`` (a ``base.LabelFormat``) and one entry in
``REGISTERED``: export, import, the CLI's choices and the dialogs' lists follow from here.
"""

from __future__ import annotations

from model.labels.formats import coco, colour, geotiff, index, labelme, ome_zarr, voc, yolo
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext

REGISTERED: tuple[LabelFormat, ...] = (
    index.FORMAT,
    geotiff.FORMAT,
    colour.FORMAT,
    coco.FORMAT,
    voc.FORMAT,
    yolo.FORMAT,
    labelme.FORMAT,
    ome_zarr.FORMAT,
)
EXPORT_FORMATS: dict[str, LabelFormat] = {f.name: f for f in REGISTERED if f.write_item is not None}
IMPORT_FORMATS: dict[str, LabelFormat] = {f.import_kind: f for f in REGISTERED if f.import_kind}
FORMATS = tuple(EXPORT_FORMATS)
"""Export format names (``--format``)."""
IMPORT_KINDS = tuple(IMPORT_FORMATS)
"""Import kinds (``--kind``): ``masks`` (index or palette PNGs, also VOC), ``colour``, ``coco``,
``yolo``, ``labelme``."""

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "IMPORT_FORMATS",
    "IMPORT_KINDS",
    "REGISTERED",
    "LabelFormat",
    "MaskMaker",
    "ReadContext",
]
