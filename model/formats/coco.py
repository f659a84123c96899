"""COCO JSON: one ``annotations.json`` with a category per class and one annotation per class
and image (run-length encoded, or polygons)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.formats.base import LabelFormat, MaskMaker, ReadContext
from model.label_formats import ExportContext, write_text
from model.polygons import mask_to_polygons, rasterize_polygon
from model.rle import rle_decode, rle_encode

COCO_FILE = "annotations.json"


def _collect(ctx: ExportContext, image: Path, mask: np.ndarray, stem: str) -> None:
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
    height, width = mask.shape
    image_id = len(coco["images"]) + 1
    coco["images"].append(
        {"id": image_id, "file_name": image.name, "width": int(width), "height": int(height)}
    )
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


def _finish(ctx: ExportContext) -> None:
    coco = ctx.collected.get("coco") or {"images": [], "annotations": [], "categories": []}
    write_text(ctx.root / COCO_FILE, json.dumps(coco))


def coco_masks(
    data: dict, names: dict[str, int], path: Path
) -> tuple[dict[str, tuple[tuple[int, int], list[tuple[int, np.ndarray]]]], list[str]]:
    """Per image file name: its size and (class, binary mask) pairs; plus messages for what was skipped."""
    problems = []
    categories = {}
    for category in data.get("categories", []):
        if category.get("name") in names:
            categories[category["id"]] = names[category["name"]]
        else:
            problems.append(
                f"{path}: category {category.get('name')!r} is not a class of this project; skipped"
            )
    images = {img["id"]: img for img in data.get("images", [])}
    out: dict[str, tuple[tuple[int, int], list[tuple[int, np.ndarray]]]] = {
        img["file_name"]: ((int(img["height"]), int(img["width"])), []) for img in images.values()
    }
    for annotation in data.get("annotations", []):
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
        out[image["file_name"]][1].append((value, region))
    return out, problems


def _coco_mask(size: tuple[int, int], regions: list[tuple[int, np.ndarray]]) -> np.ndarray:
    mask = np.full(size, IGNORE_INDEX, np.uint8)
    for value, region in regions:
        mask[region] = value
    return mask


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    path = ctx.source / COCO_FILE if ctx.source.is_dir() else ctx.source
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SegGUIError(f"{path}: not a COCO JSON file ({exc})") from exc
    per_image, problems = coco_masks(data, ctx.names, path)
    ctx.skipped += problems
    for file_name, (size, regions) in per_image.items():
        image = ctx.match(path, Path(file_name).stem, Path(file_name).name)
        if image is not None:
            yield file_name, image, lambda shape, s=size, r=regions: _coco_mask(s, r)


FORMAT = LabelFormat(
    name="coco",
    title="COCO JSON",
    item_paths=lambda stem: [],
    write_item=_collect,
    shared_paths=(COCO_FILE,),
    finish=_finish,
    import_kind="coco",
    import_title="COCO JSON file",
    read=_read,
)
