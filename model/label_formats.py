"""The label formats other tools read: how one mask becomes files, and how those files become a mask.

Each format has a writer (one image's mask into an export folder, plus files written once at the
end) and a reader (an export folder or file back into masks). ``model.export_labels`` and
``model.import_labels`` do the folder walking, staging, splits and reporting.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from model.atomic import atomic_write
from model.classes import IGNORE_COLOR, IGNORE_INDEX, ClassInfo
from model.errors import MaskError
from model.labelme_import import EDGE_POLYGONS_KEY
from model.polygons import mask_to_polygons, polygon_area, rasterize_polygon, rasterize_polygon_box
from model.rle import rle_decode, rle_encode

FORMATS = ("index", "colour", "coco", "voc", "yolo", "labelme")
CLASSES_FILE = "classes.json"
COCO_FILE = "annotations.json"
LABELME_VERSION = "5.5.0"


def voc_palette() -> list[int]:
    """The Pascal VOC colour map (256 entries; 255, "void", is (224, 224, 192))."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return palette


def write_png(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: image.save(fh, format="PNG"))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def classes_json(classes: list[ClassInfo], unlabelled_kept: bool) -> str:
    """The classes file that goes with every export: index, name and colour of each class."""
    return json.dumps(
        {
            "classes": [{"index": i, "name": c.name, "color": list(c.color)} for i, c in enumerate(classes)],
            "unlabelled_index": IGNORE_INDEX if unlabelled_kept else None,
        },
        indent=2,
    )


def shapes_of(mask: np.ndarray, num_classes: int, first_class: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(class, polygon) for every region of every class, largest first, so that drawing them in
    this order puts regions inside holes (a nucleus in a cell) back on top."""
    shapes = []
    for value in range(first_class, num_classes):
        region = mask == value
        if region.any():
            shapes += [(value, polygon) for polygon in mask_to_polygons(region)]
    shapes.sort(key=lambda item: -polygon_area(item[1]))
    yield from shapes


def draw_shapes(shapes: list[tuple[int, np.ndarray]], shape: tuple[int, int], fill: int) -> np.ndarray:
    """A mask of ``shape`` starting as ``fill``, with each polygon drawn in order (later on top)."""
    mask = np.full(shape, fill, np.uint8)
    for value, polygon in shapes:
        y0, x0, inside = rasterize_polygon_box(polygon, shape)
        mask[y0 : y0 + inside.shape[0], x0 : x0 + inside.shape[1]][inside] = value
    return mask


# -- writers -------------------------------------------------------------------------------------
@dataclass
class ExportContext:
    """What a writer needs besides the mask; ``collected`` holds what goes into one final file."""

    root: Path  # the staging folder; paths inside it mirror the final export folder
    final_root: Path
    classes: list[ClassInfo]
    coco_polygons: bool = False
    collected: dict[str, object] = field(default_factory=dict)


def target_paths(fmt: str, stem: str) -> list[str]:
    """Files (relative to the export folder) written for an image with this stem."""
    return {
        "index": [f"{stem}.png"],
        "colour": [f"{stem}.png"],
        "coco": [],
        "voc": [f"SegmentationClass/{stem}.png"],
        "yolo": [f"labels/{stem}.txt"],
        "labelme": [f"{stem}.json"],
    }[fmt]


def shared_paths(fmt: str) -> list[str]:
    """Files written once per export (besides the classes file and split lists)."""
    return {"coco": [COCO_FILE], "yolo": ["data.yaml"]}.get(fmt, [])


def write_item(fmt: str, ctx: ExportContext, image: Path, mask: np.ndarray, stem: str | None = None) -> None:
    """Write one image's mask in ``fmt`` under ``ctx.root``, named ``stem`` (its mask name,
    ``model.mask_names``; the image's stem by default)."""
    stem = stem or image.stem
    classes = ctx.classes
    if fmt == "index":
        write_png(ctx.root / f"{stem}.png", Image.fromarray(mask, mode="L"))
    elif fmt == "colour":
        lut = np.zeros((256, 3), np.uint8)
        lut[:] = IGNORE_COLOR
        for i, info in enumerate(classes):
            lut[i] = info.color
        write_png(ctx.root / f"{stem}.png", Image.fromarray(lut[mask], mode="RGB"))
    elif fmt == "voc":
        img = Image.fromarray(mask, mode="L")
        img.putpalette(voc_palette())
        write_png(ctx.root / "SegmentationClass" / f"{stem}.png", img)
    elif fmt == "coco":
        _collect_coco(ctx, image, mask)
    elif fmt == "yolo":
        height, width = mask.shape
        lines = []
        for value, polygon in shapes_of(mask, len(classes), first_class=1):
            coords = (polygon / [width, height]).ravel()
            lines.append(" ".join([str(value - 1), *(f"{v:.6f}" for v in coords)]))
        write_text(ctx.root / "labels" / f"{stem}.txt", "\n".join(lines) + ("\n" if lines else ""))
    elif fmt == "labelme":
        height, width = mask.shape
        shapes = [
            {
                "label": classes[value].name,
                "points": polygon.astype(int).tolist(),  # corners are whole pixels
                "group_id": None,
                "description": "",
                "shape_type": "polygon",
                "flags": {},
                "mask": None,
            }
            for value, polygon in shapes_of(mask, len(classes))
        ]
        document = {
            "version": LABELME_VERSION,
            "flags": {},
            "shapes": shapes,
            "imagePath": os.path.relpath(image, ctx.final_root),
            "imageData": None,
            "imageHeight": int(height),
            "imageWidth": int(width),
            EDGE_POLYGONS_KEY: "polygons follow pixel edges: fill the pixels whose centres are inside",
        }
        write_text(ctx.root / f"{stem}.json", json.dumps(document, separators=(",", ":")))
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")


def _collect_coco(ctx: ExportContext, image: Path, mask: np.ndarray) -> None:
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


def finish(fmt: str, ctx: ExportContext) -> None:
    """Write the files that cover the whole export (COCO JSON, YOLO data.yaml)."""
    if fmt == "coco":
        coco = ctx.collected.get("coco") or {"images": [], "annotations": [], "categories": []}
        write_text(ctx.root / COCO_FILE, json.dumps(coco))
    elif fmt == "yolo":
        names = "".join(f"  {i - 1}: {json.dumps(c.name)}\n" for i, c in enumerate(ctx.classes) if i)
        write_text(ctx.root / "data.yaml", f"path: .\ntrain: train.txt\nval: val.txt\nnames:\n{names}")


# -- readers -------------------------------------------------------------------------------------
def colour_to_index(rgb: np.ndarray, classes: list[ClassInfo], path: Path) -> np.ndarray:
    """Map an ``H x W x 3`` colour mask to class indices; unknown colours raise ``MaskError``."""
    codes = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    table = {
        (r << 16) | (g << 8) | b: i for i, (r, g, b) in reversed(list(enumerate(c.color for c in classes)))
    }
    r, g, b = IGNORE_COLOR
    table.setdefault((r << 16) | (g << 8) | b, IGNORE_INDEX)
    unique, inverse = np.unique(codes, return_inverse=True)
    unknown = [int(u) for u in unique if int(u) not in table]
    if unknown:
        shown = ", ".join(f"({u >> 16}, {(u >> 8) & 255}, {u & 255})" for u in unknown[:5])
        raise MaskError(f"{path}: colours {shown} are not class colours of this project")
    return np.asarray([table[int(u)] for u in unique], np.uint8)[inverse.reshape(codes.shape)]


def yolo_shapes(path: Path, shape: tuple[int, int], num_classes: int) -> list[tuple[int, np.ndarray]]:
    """(class, polygon in pixels) from a YOLO segmentation label file."""
    height, width = shape
    shapes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            value = int(parts[0]) + 1
            coords = np.asarray([float(v) for v in parts[1:]], np.float64).reshape(-1, 2)
        except ValueError as exc:
            raise MaskError(f"{path}, line {number}: not a YOLO polygon ({exc})") from exc
        if not 1 <= value < num_classes:
            raise MaskError(f"{path}, line {number}: class {value - 1} is not a class of this project")
        shapes.append((value, coords * [width, height]))
    return shapes


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
