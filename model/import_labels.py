"""Importing existing labels into a project's mask folder, with a report of what was read and why
anything was skipped. Reads every format ``model.export_labels`` writes (round trip)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import MaskError, SegGUIError
from model.imageio import image_size, list_images, mask_path_for, read_mask, read_rgb, write_mask
from model.label_formats import (
    CLASSES_FILE,
    COCO_FILE,
    coco_masks,
    colour_to_index,
    draw_shapes,
    labelme_shapes,
    read_classes_json,
    yolo_shapes,
)

IMPORT_KINDS = ("masks", "colour", "labelme", "coco", "yolo")
"""``masks``: index or palette PNGs (also a VOC ``SegmentationClass`` folder); ``colour``: RGB
masks mapped through the class colours; ``labelme``: a folder of labelme JSON; ``coco``: a COCO
JSON file (or a folder holding ``annotations.json``); ``yolo``: a folder with ``labels/``."""


@dataclass
class ImportReport:
    imported: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.imported)} masks imported, {len(self.skipped)} skipped"


@dataclass(frozen=True)
class ImportProgress:
    index: int
    total: int
    name: str


def import_labels(
    source: Path,
    kind: str,
    images: Sequence[Path],
    mask_dir: Path,
    classes: list[ClassInfo],
    *,
    overwrite: bool = False,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Turn the labels in ``source`` into index masks in ``mask_dir`` for the project's ``images``.

    Labels are matched to images by file stem. A file that cannot be used (unknown label or
    colour, wrong size, truncated) is skipped with its reason and the rest goes on. Existing masks
    are kept unless ``overwrite``.
    """
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of {', '.join(IMPORT_KINDS)}")
    if not source.exists():
        raise SegGUIError(f"{source}: not found")
    by_stem = {image.stem: image for image in images}
    names = {c.name: i for i, c in enumerate(classes)}
    report = ImportReport()
    jobs = list(_jobs(source, kind, by_stem, names, classes, report))
    for index, (name, image, make_mask) in enumerate(jobs, 1):
        if on_progress is not None:
            on_progress(ImportProgress(index, len(jobs), name))
        target = mask_path_for(image, mask_dir)
        if target.exists() and not overwrite:
            report.skipped.append(
                f"{name}: {image.name} already has a mask (allow overwriting to replace it)"
            )
            continue
        try:
            width, height = image_size(image)
            mask = make_mask((height, width))
            if mask.shape != (height, width):
                raise MaskError(
                    f"{name}: labels are {mask.shape[1]}x{mask.shape[0]} but {image.name} is {width}x{height}"
                )
            bad = np.unique(mask[(mask >= len(classes)) & (mask != IGNORE_INDEX)])
            if bad.size:
                raise MaskError(f"{name}: values {bad[:8].tolist()} are not classes of this project")
            mask_dir.mkdir(parents=True, exist_ok=True)
            write_mask(target, mask, list(classes))
        except (SegGUIError, ValueError, KeyError, TypeError) as exc:
            report.skipped.append(str(exc) if isinstance(exc, SegGUIError) else f"{name}: {exc}")
            continue
        except OSError as exc:
            raise SegGUIError(f"cannot write {target}: {exc.strerror or exc}") from exc
        report.imported.append(image)
    return report


MaskMaker = Callable[[tuple[int, int]], np.ndarray]


def _jobs(source: Path, kind: str, by_stem: dict[str, Path], names: dict[str, int], classes, report):
    """(file name, project image, function from image shape to mask) for every usable label file."""

    def match(label_file: Path, stem: str) -> Path | None:
        image = by_stem.get(stem)
        if image is None:
            report.skipped.append(f"{label_file}: no image named {stem}.* in the project")
        return image

    if kind in ("masks", "colour"):
        folder = source / "SegmentationClass" if (source / "SegmentationClass").is_dir() else source
        palette = list(classes)
        if kind == "colour" and (folder / CLASSES_FILE).is_file():
            palette = read_classes_json(folder / CLASSES_FILE)
        for path in list_images(folder):
            image = match(path, path.stem)
            if image is None:
                continue
            if kind == "masks":
                yield path.name, image, lambda shape, p=path: read_mask(p, shape=shape)
            else:
                yield path.name, image, lambda shape, p=path, pal=palette: _colour_mask(p, pal)
    elif kind == "labelme":
        for path in sorted(source.glob("*.json")):
            if path.name == CLASSES_FILE:
                continue
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                stem = Path(str(document.get("imagePath") or path.name)).stem
            except (OSError, ValueError) as exc:
                report.skipped.append(f"{path}: not a labelme JSON file ({exc})")
                continue
            image = match(path, stem)
            if image is not None:
                yield (
                    path.name,
                    image,
                    lambda shape, d=document, p=path: draw_shapes(
                        labelme_shapes(d, names, p), shape, IGNORE_INDEX
                    ),
                )
    elif kind == "coco":
        path = source / COCO_FILE if source.is_dir() else source
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SegGUIError(f"{path}: not a COCO JSON file ({exc})") from exc
        per_image, problems = coco_masks(data, names, path)
        report.skipped += problems
        for file_name, (size, regions) in per_image.items():
            image = match(path, Path(file_name).stem)
            if image is not None:
                yield file_name, image, lambda shape, s=size, r=regions: _coco_mask(s, r)
    elif kind == "yolo":
        folder = source / "labels" if (source / "labels").is_dir() else source
        for path in sorted(folder.glob("*.txt")):
            if path.stem in ("train", "val", "test"):
                continue
            image = match(path, path.stem)
            if image is not None:
                yield (
                    path.name,
                    image,
                    lambda shape, p=path: draw_shapes(yolo_shapes(p, shape, len(classes)), shape, 0),
                )


def _colour_mask(path: Path, palette: list[ClassInfo]) -> np.ndarray:
    rgb = read_rgb(path)
    return colour_to_index(rgb, palette, path)


def _coco_mask(size: tuple[int, int], regions: list[tuple[int, np.ndarray]]) -> np.ndarray:
    mask = np.full(size, IGNORE_INDEX, np.uint8)
    for value, region in regions:
        mask[region] = value
    return mask
