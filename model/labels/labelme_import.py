"""A labelme JSON file as a mask, drawn as labelme's own converter (``labelme2voc``) draws it.

labelme fills every shape with Pillow, boundary included (``ImageDraw.polygon(xy, outline=1,
fill=1)``; rectangles, circles, 10 px lines and linestrips, 5 px points the same way; ``mask``
shapes paste their bitmap), in file order, later shapes on top, over a background of class 0.
Its special labels keep their meaning: ``_background_`` is class 0 and ``__ignore__`` is "not
labelled". Files that SegGUI itself exported (marked ``seggui_polygons``) hold polygons along
pixel edges and are drawn exactly, so an export reads back pixel for pixel.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from model.classes import IGNORE_INDEX
from model.errors import MaskError
from model.labels.polygons import rasterize_polygon_box

IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"
EDGE_POLYGONS_KEY = "seggui_polygons"
"""Marks a labelme file written by SegGUI: its polygons follow pixel edges."""
LINE_WIDTH = 10
POINT_RADIUS = 5
OUTSIDE_CHOICES = ("background", "unlabelled")


def labelme_mask(
    document: dict,
    shape: tuple[int, int],
    names: dict[str, int],
    path: Path,
    *,
    outside: str = "background",
    unknown: Callable[[str], int | None] | None = None,
) -> np.ndarray:
    """The mask of a labelme ``document`` for an image of ``shape``.

    Pixels no shape covers are class 0 (``outside="background"``, labelme's rule) or not
    labelled. ``names`` maps labels to classes; a label not in it is passed to ``unknown``, which
    returns its class or None to leave that shape out (without ``unknown``, such shapes are left
    out). A shape that cannot be drawn raises ``MaskError`` naming the file.
    """
    if outside not in OUTSIDE_CHOICES:
        raise ValueError(f"outside must be one of {OUTSIDE_CHOICES}, not {outside!r}")
    exact = bool(document.get(EDGE_POLYGONS_KEY))  # SegGUI's own: background has its polygons
    mask = np.full(shape, 0 if outside == "background" and not exact else IGNORE_INDEX, np.uint8)
    shapes = document.get("shapes") or []
    if not isinstance(shapes, list) or not all(isinstance(item, dict) for item in shapes):
        raise MaskError(f"{path}: 'shapes' must be a list of shapes (objects with a label and points)")
    for number, item in enumerate(shapes, 1):
        label = str(item.get("label"))
        if label == IGNORE_LABEL:
            value: int | None = IGNORE_INDEX
        elif label == BACKGROUND_LABEL:
            value = 0
        elif label in names:
            value = names[label]
        else:
            value = unknown(label) if unknown is not None else None
        if value is None:
            continue
        try:
            region = _region(item, shape, exact)
        except (ValueError, TypeError, KeyError, OSError, Image.DecompressionBombError) as exc:
            # OSError: a mask shape's data that is not an image (Pillow's UnidentifiedImageError)
            kind = item.get("shape_type") or "polygon"
            raise MaskError(f"{path}: shape {number} ({kind} {label!r}) cannot be drawn ({exc})") from exc
        mask[region] = value
    return mask


def _region(item: dict, shape: tuple[int, int], exact: bool) -> np.ndarray:
    height, width = shape
    kind = item.get("shape_type") or "polygon"
    points = [(float(x), float(y)) for x, y in item.get("points") or []]
    if exact and kind == "polygon":
        region = np.zeros(shape, bool)
        y0, x0, inside = rasterize_polygon_box(np.asarray(points), shape)
        region[y0 : y0 + inside.shape[0], x0 : x0 + inside.shape[1]] = inside
        return region
    canvas = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    if kind == "polygon":
        if len(points) < 3:
            raise ValueError(f"a polygon needs 3 points or more, not {len(points)}")
        draw.polygon(points, outline=1, fill=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = _two(points)
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif kind == "circle":
        (cx, cy), (px, py) = _two(points)
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif kind in ("line", "linestrip"):
        draw.line(points, fill=1, width=LINE_WIDTH)
    elif kind == "point":
        (cx, cy), r = points[0], POINT_RADIUS
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif kind == "mask":
        return _bitmap(item, points, shape)
    else:
        raise ValueError(f"unknown shape type {kind!r}")
    return np.asarray(canvas, dtype=bool)


def _two(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) != 2:
        raise ValueError(f"needs 2 points, not {len(points)}")
    return points


def _bitmap(item: dict, points: list[tuple[float, float]], shape: tuple[int, int]) -> np.ndarray:
    """labelme's ``mask`` shape: a base64 PNG covering the box of its two points."""
    (x0, y0), _ = _two(points)
    with Image.open(io.BytesIO(base64.b64decode(item["mask"]))) as image:
        bits = np.asarray(image.convert("L")) > 0
    region = np.zeros(shape, bool)
    top, left = max(0, round(y0)), max(0, round(x0))
    bottom, right = min(shape[0], top + bits.shape[0]), min(shape[1], left + bits.shape[1])
    region[top:bottom, left:right] = bits[: bottom - top, : right - left]
    return region
