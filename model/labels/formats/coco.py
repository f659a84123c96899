"""COCO JSON: one ``annotations.json`` with a category per class and one annotation per class
and image (run-length encoded, or polygons)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext
from model.labels.label_formats import ExportContext, write_text
from model.labels.polygons import mask_to_polygons, rasterize_polygon
from model.labels.rle import rle_decode, rle_encode
from model.storage.json_files import read_json_object

COCO_FILE = "annotations.json"


def _collect(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
    coco = _coco(ctx)
    image_id = _add_image(coco, image, mask.shape)
    for value in range(len(ctx.classes)):
        region = mask == value
        area = int(region.sum())
        if not area:
            continue
        ys, xs = np.nonzero(region)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
        if ctx.coco_polygons:
            segmentation: object = [polygon.ravel().tolist() for polygon in mask_to_polygons(region)]
        else:
            segmentation = rle_encode(region)
        coco["annotations"].append(
            {
                "id": len(coco["annotations"]) + 1,
                "image_id": image_id,
                "category_id": value + 1,
                "segmentation": segmentation,
                "area": area,
                "bbox": bbox,
                "iscrowd": 0 if ctx.coco_polygons else 1,
            }
        )


def _coco(ctx: ExportContext) -> dict:
    """The export's one COCO document, begun by its first image."""
    coco = ctx.collected.setdefault(
        "coco",
        {
            "info": {"description": "SegGUI semantic segmentation export", "version": "1.0"},
            "licenses": [],
            "images": [],
            "annotations": [],
            "categories": [
                {"id": i + 1, "name": c.name, "supercategory": "", "seggui_index": i}
                for i, c in enumerate(ctx.classes)
            ],
        },
    )
    assert isinstance(coco, dict)
    return coco


def _add_image(coco: dict, image: Path, shape: tuple[int, int]) -> int:
    image_id = len(coco["images"]) + 1
    height, width = shape
    entry = {"id": image_id, "file_name": image.name, "width": int(width), "height": int(height)}
    coco["images"].append(entry)
    return image_id


def collect_shapes(
    ctx: ExportContext,
    image: Path,
    shapes: list[tuple[int, np.ndarray]],
    shape: tuple[int, int],
    areas: dict[int, int],
) -> None:
    """A slide's classes as COCO polygon annotations, one per class, from ``shapes`` gathered
    region by region ((class, polygon) in slide coordinates) and the pixels of each class."""
    coco = _coco(ctx)
    image_id = _add_image(coco, image, shape)
    for value in range(len(ctx.classes)):
        polygons = [polygon for of, polygon in shapes if of == value]
        if not polygons:
            continue
        corners = np.concatenate(polygons)
        x0, y0 = corners.min(axis=0)
        x1, y1 = corners.max(axis=0)
        coco["annotations"].append(
            {
                "id": len(coco["annotations"]) + 1,
                "image_id": image_id,
                "category_id": value + 1,
                "segmentation": [polygon.ravel().tolist() for polygon in polygons],
                "area": int(areas.get(value, 0)),
                "bbox": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)],
                "iscrowd": 0,
            }
        )


def _finish(ctx: ExportContext) -> None:
    coco = ctx.collected.get("coco") or {"images": [], "annotations": [], "categories": []}
    write_text(ctx.root / COCO_FILE, json.dumps(coco))


Regions = list[tuple[int, int | None, np.ndarray]]
"""(class, annotation id, binary mask) of one image, in file order."""


def coco_masks(
    data: dict, names: dict[str, int], path: Path
) -> tuple[dict[str, tuple[tuple[int, int], Regions]], list[str]]:
    """Per image file name: its size and regions; plus messages for what was skipped. Every
    entry is checked, since the file may come from anywhere: an image or category that lacks a
    field, or has one of the wrong type, is skipped with its place in the file named."""
    problems: list[str] = []
    categories = {}
    for number, category in enumerate(_list(data, "categories", path), 1):
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            problems.append(f"{path}: categories entry {number} has no whole-number 'id'; skipped")
        elif category.get("name") in names:
            categories[category["id"]] = names[category["name"]]
        else:
            problems.append(
                f"{path}: category {category.get('name')!r} is not a class of this project; skipped"
            )
    images: dict[object, dict] = {}
    for number, image in enumerate(_list(data, "images", path), 1):
        missing = _image_problem(image)
        if missing:
            problems.append(f"{path}: images entry {number} {missing}; skipped")
        else:
            images[image["id"]] = image
    out: dict[str, tuple[tuple[int, int], Regions]] = {
        img["file_name"]: ((int(img["height"]), int(img["width"])), []) for img in images.values()
    }
    for annotation in _list(data, "annotations", path):
        if not isinstance(annotation, dict):
            continue
        image = images.get(annotation.get("image_id"))
        value = categories.get(annotation.get("category_id"))
        if image is None or value is None:
            continue
        shape = (int(image["height"]), int(image["width"]))
        segmentation = annotation.get("segmentation")
        try:
            if isinstance(segmentation, dict):
                region = rle_decode(segmentation)
            else:
                region = np.zeros(shape, bool)
                for flat in segmentation or []:
                    region ^= rasterize_polygon(np.asarray(flat, np.float64).reshape(-1, 2), shape)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"{path}: annotation {annotation.get('id')} of {image['file_name']}: {exc}")
            continue
        if region.shape != shape:
            problems.append(f"{path}: annotation {annotation.get('id')} does not fit {image['file_name']}")
            continue
        out[image["file_name"]][1].append((value, annotation.get("id"), region))
    return out, problems


def _list(data: dict, key: str, path: Path) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise SegGUIError(f"{path}: not a COCO file ('{key}' must be a list)")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _image_problem(image: object) -> str | None:
    """What a COCO image entry lacks, or None."""
    if not isinstance(image, dict):
        return "is not an object"
    if "id" not in image:
        return "has no 'id'"
    if not isinstance(image.get("file_name"), str) or not image["file_name"]:
        return "has no 'file_name'"
    for key in ("height", "width"):
        if not _is_int(image.get(key)) or not 0 < image[key] <= 1 << 20:
            return f"has no usable '{key}' (a whole number of pixels)"
    return None


def _coco_mask(
    size: tuple[int, int], regions: Regions, file_name: str, classes: list, notes: list[str], path: Path
) -> np.ndarray:
    """The annotations drawn in file order (a later one over an earlier one, as COCO's own
    semantic conversions do); pixels claimed by two classes are counted and told in ``notes``."""
    mask = np.full(size, IGNORE_INDEX, np.uint8)
    overlaps: dict[tuple[int, int], int] = {}
    for value, _, region in regions:
        taken = region & (mask != IGNORE_INDEX) & (mask != value)
        if taken.any():
            for earlier, count in zip(*np.unique(mask[taken], return_counts=True)):
                pair = (int(earlier), value)
                overlaps[pair] = overlaps.get(pair, 0) + int(count)
        mask[region] = value
    if overlaps:
        told = ", ".join(
            f"{count} pixels of {classes[a].name} covered by a later {classes[b].name}"
            for (a, b), count in sorted(overlaps.items())
        )
        notes.append(
            f"{path}: {file_name}: annotations of two classes overlap; the later one was kept ({told})"
        )
    return mask


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    path = ctx.source / COCO_FILE if ctx.source.is_dir() else ctx.source
    data = read_json_object(path, "this COCO JSON file")
    per_image, problems = coco_masks(data, ctx.names, path)
    ctx.skipped += problems
    for file_name, (size, regions) in per_image.items():
        image = ctx.match(path, Path(file_name).stem, Path(file_name).name)
        if image is not None:

            def make(shape, s=size, r=regions, n=file_name):
                return _coco_mask(s, r, n, ctx.classes, ctx.notes, path)

            yield file_name, image, make


FORMAT = LabelFormat(
    name="coco",
    names_image_files=True,
    title="COCO JSON",
    item_paths=lambda stem: [],
    write_item=_collect,
    shared_paths=(COCO_FILE,),
    finish=_finish,
    import_kind="coco",
    import_title="COCO JSON file",
    read=_read,
)
