"""COCO JSON: one ``annotations.json`` with a category per class and one annotation per class
and image (run-length encoded, or polygons)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.labels.formats.base import LabelFormat, MaskMaker, ReadContext, ShapeLabels, Window
from model.labels.label_formats import ExportContext, write_text
from model.labels.polygons import mask_to_polygons, rasterize_polygon_box
from model.labels.rle import encode_counts, rle_encode, rle_runs, rle_window_pixels
from model.storage.json_files import read_json_object

if TYPE_CHECKING:
    from model.labels.slide_export import ClassRuns

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


def collect_runs(
    ctx: ExportContext, image: Path, runs: Mapping[int, ClassRuns], shape: tuple[int, int]
) -> None:
    """A slide's classes as COCO run-length annotations, one per class, from the run lengths
    streamed from its mask (``model.labels.slide_export.slide_runs``: class -> ``ClassRuns``)."""
    coco = _coco(ctx)
    image_id = _add_image(coco, image, shape)
    height, width = shape
    for value in sorted(runs):
        of = runs[value]
        if not of.area:
            continue
        left, top, right, bottom = of.box
        coco["annotations"].append(
            {
                "id": len(coco["annotations"]) + 1,
                "image_id": image_id,
                "category_id": value + 1,
                "segmentation": {"size": [height, width], "counts": encode_counts(of.counts(height * width))},
                "area": of.area,
                "bbox": [left, top, right - left + 1, bottom - top + 1],
                "iscrowd": 1,
            }
        )


def _finish(ctx: ExportContext) -> None:
    coco = ctx.collected.get("coco") or {"images": [], "annotations": [], "categories": []}
    write_text(ctx.root / COCO_FILE, json.dumps(coco))


@dataclass(frozen=True)
class _Annotation:
    """One annotation, checked when the file is read and drawn into any window later: its
    class, and its polygons or its run lengths."""

    value: int
    polygons: tuple[np.ndarray, ...] = ()
    bounds: np.ndarray | None = None
    """Where each run ends (the cumulative run lengths), for a run-length encoding."""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The pixels it can fill: left, top, right, bottom (exclusive)."""
    polygon_boxes: np.ndarray | None = None
    """Each polygon's box as ``box`` is, so a window draws only the polygons that reach it."""

    def pixels(self, size: tuple[int, int], window: Window) -> tuple[np.ndarray, np.ndarray]:
        """The rows and columns within ``window`` of its pixels, in an image of ``size``."""
        top, left, height, width = window
        x0, y0 = max(self.box[0], left), max(self.box[1], top)
        x1, y1 = min(self.box[2], left + width), min(self.box[3], top + height)
        if x0 >= x1 or y0 >= y1:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if self.bounds is not None:
            rows, columns = rle_window_pixels(self.bounds, size[0], (y0, x0, y1 - y0, x1 - x0))
            return rows + (y0 - top), columns + (x0 - left)
        region = np.zeros((y1 - y0, x1 - x0), bool)
        assert self.polygon_boxes is not None
        b = self.polygon_boxes
        reaching = np.flatnonzero((b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0))
        for polygon in (self.polygons[i] for i in reaching):  # even-odd, as pycocotools merges them
            row, column, inside = rasterize_polygon_box(polygon - [x0, y0], region.shape)
            region[row : row + inside.shape[0], column : column + inside.shape[1]] ^= inside
        rows, columns = np.divmod(np.flatnonzero(region), region.shape[1])  # faster than a 2-D nonzero
        return rows + (y0 - top), columns + (x0 - left)


def coco_masks(
    data: dict, names: dict[str, int], path: Path
) -> tuple[dict[str, tuple[tuple[int, int], list[_Annotation]]], list[str]]:
    """Per image file name: its size and annotations; plus messages for what was skipped. Every
    entry is checked, since the file may come from anywhere: an image or category that lacks a
    field, or has one of the wrong type, is skipped with its place in the file named."""
    problems: list[str] = []
    categories: dict[int, int | None] = {}
    for number, category in enumerate(_list(data, "categories", path), 1):
        if not isinstance(category, dict) or not _is_int(category.get("id")):
            problems.append(f"{path}: categories entry {number} has no whole-number 'id'; skipped")
        elif not isinstance(category.get("name"), str):
            problems.append(f"{path}: categories entry {number} has no name (text); skipped")
        elif category["id"] in categories:
            problems.append(
                f"{path}: categories entry {number} repeats the id {category['id']} of an earlier one; "
                "the annotations of that id are left out, as which category they mean cannot be known"
            )
            categories[category["id"]] = None
        elif category["name"] in names:
            categories[category["id"]] = names[category["name"]]
        else:
            problems.append(
                f"{path}: category {category.get('name')!r} is not a class of this project; skipped"
            )
    images: dict[object, dict | None] = {}
    for number, image in enumerate(_list(data, "images", path), 1):
        missing = _image_problem(image)
        if missing:
            problems.append(f"{path}: images entry {number} {missing}; skipped")
        elif image["id"] in images:
            problems.append(
                f"{path}: images entry {number} ({image['file_name']}) repeats the id {image['id']} of an "
                "earlier one; the annotations of that id are left out, as which image they belong to "
                "cannot be known"
            )
            images[image["id"]] = None
        else:
            images[image["id"]] = image
    out: dict[str, tuple[tuple[int, int], list[_Annotation]]] = {
        img["file_name"]: ((int(img["height"]), int(img["width"])), []) for img in images.values() if img
    }
    unmatched = 0
    for annotation in _list(data, "annotations", path):
        if not isinstance(annotation, dict):
            unmatched += 1
            continue
        image_id, category_id = _id(annotation.get("image_id")), _id(annotation.get("category_id"))
        image = images.get(image_id) if image_id is not None else None
        value = categories.get(category_id) if isinstance(category_id, int) else None
        if image is None or value is None:
            unmatched += 1
            continue
        shape = (int(image["height"]), int(image["width"]))
        try:
            checked = _checked(annotation, value, shape)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"{path}: annotation {annotation.get('id')} of {image['file_name']}: {exc}")
            continue
        if checked is None:
            problems.append(f"{path}: annotation {annotation.get('id')} does not fit {image['file_name']}")
            continue
        out[image["file_name"]][1].append(checked)
    if unmatched:
        problems.append(
            f"{path}: {unmatched} annotation(s) name no image or category the file lists (or one "
            "skipped above); left out"
        )
    return out, problems


def _id(value: object) -> int | str | None:
    """An id as a dict key: a whole number or text (a list or object in a file is no id)."""
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _checked(annotation: dict, value: int, shape: tuple[int, int]) -> _Annotation | None:
    """An annotation's segmentation checked (raising for one that cannot be read), or None for
    a run-length encoding of another image size."""
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        size, counts = rle_runs(segmentation)
        if size != shape:
            return None
        bounds = np.cumsum(np.asarray(counts, np.int64))
        height = shape[0]
        box = (0, 0, 0, 0)
        if len(counts) >= 2:  # the columns from its first pixel to its last
            box = (int(bounds[0]) // height, 0, (int(bounds[-1 - len(counts) % 2]) - 1) // height + 1, height)
        return _Annotation(value, bounds=bounds, box=box)
    polygons = tuple(np.asarray(flat, np.float64).reshape(-1, 2) for flat in segmentation or [])
    polygons = tuple(polygon for polygon in polygons if len(polygon) >= 3)
    if not polygons:
        return _Annotation(value)
    if not all(np.isfinite(polygon).all() for polygon in polygons):
        raise ValueError("its polygon coordinates must be numbers")
    boxes = np.array([np.r_[np.floor(p.min(axis=0)), np.ceil(p.max(axis=0)) + 1] for p in polygons], np.int64)
    box = (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max()))
    return _Annotation(value, polygons, box=box, polygon_boxes=boxes)


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
    if _id(image.get("id")) is None:
        return "has no 'id' (a whole number or text)"
    if not isinstance(image.get("file_name"), str) or not image["file_name"]:
        return "has no 'file_name'"
    for key in ("height", "width"):
        if not _is_int(image.get(key)) or not 0 < image[key] <= 1 << 20:
            return f"has no usable '{key}' (a whole number of pixels)"
    return None


def _coco_labels(
    size: tuple[int, int],
    annotations: list[_Annotation],
    file_name: str,
    classes: list,
    notes: list[str],
    path: Path,
) -> ShapeLabels:
    """The annotations drawn in file order (a later one over an earlier one, as COCO's own
    semantic conversions do), window by window; pixels claimed by two classes are counted over
    every window and told in ``notes`` when the drawing is finished."""
    overlaps: dict[tuple[int, int], int] = {}

    def draw(shape: tuple[int, int], window: Window) -> np.ndarray:
        mask = np.full(window[2:], IGNORE_INDEX, np.uint8)
        for annotation in annotations:
            rows, columns = annotation.pixels(size, window)
            value = annotation.value
            earlier = mask[rows, columns]
            taken = earlier[(earlier != IGNORE_INDEX) & (earlier != value)]
            if taken.size:
                for was, count in enumerate(np.bincount(taken, minlength=256).tolist()):
                    if count:
                        overlaps[(was, value)] = overlaps.get((was, value), 0) + count
            mask[rows, columns] = value
        return mask

    def finish() -> None:
        if overlaps:
            told = ", ".join(
                f"{count} pixels of {classes[a].name} covered by a later {classes[b].name}"
                for (a, b), count in sorted(overlaps.items())
            )
            notes.append(
                f"{path}: {file_name}: annotations of two classes overlap; the later one was kept ({told})"
            )

    return ShapeLabels(draw, finish, size)


def _read(ctx: ReadContext) -> Iterator[tuple[str, Path, MaskMaker]]:
    path = ctx.source / COCO_FILE if ctx.source.is_dir() else ctx.source
    data = read_json_object(path, "this COCO JSON file")
    per_image, problems = coco_masks(data, ctx.names, path)
    ctx.skipped += problems
    for file_name, (size, checked) in per_image.items():
        image = ctx.match(path, Path(file_name).stem, Path(file_name).name)
        if image is not None:
            yield file_name, image, _coco_labels(size, checked, file_name, ctx.classes, ctx.notes, path)


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
