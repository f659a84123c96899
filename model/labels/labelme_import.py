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
from dataclasses import dataclass
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
CANVAS_PIXELS = 1 << 25
"""The largest canvas a shape is drawn on for one window of an image (32 MB)."""
REACH = 1 << 20
"""How far beyond its image a shape's points may lie (Pillow draws in 32-bit numbers): a point at
1e300, or a circle of radius 1e9, is no drawing of this image."""


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
    shapes = LabelmeShapes(document, names, path, shape, outside=outside, unknown=unknown)
    return shapes.draw(shape, (0, 0, *shape))


@dataclass(frozen=True)
class _Shape:
    """One shape checked and given its class: what to draw, and the box of pixels it can fill."""

    number: int
    label: str
    kind: str
    value: int
    points: np.ndarray
    """N x 2, (x, y) in image pixels."""
    box: tuple[int, int, int, int]
    """Left, top, right, bottom (exclusive), in image pixels."""
    bits: np.ndarray | None = None
    """A ``mask`` shape's bitmap."""


class LabelmeShapes:
    """A labelme document's shapes for an image of ``size`` (height, width), checked and given
    their classes once, then drawn into any window of the image: the whole mask of an image, or
    a whole slide's region by region, each shape drawn only over its own box. Shapes left out
    (wholly outside the image, or reaching absurdly far) are told in ``notes``."""

    def __init__(
        self,
        document: dict,
        names: dict[str, int],
        path: Path,
        size: tuple[int, int],
        *,
        outside: str = "background",
        unknown: Callable[[str], int | None] | None = None,
    ) -> None:
        if outside not in OUTSIDE_CHOICES:
            raise ValueError(f"outside must be one of {OUTSIDE_CHOICES}, not {outside!r}")
        self._path = path
        self._size = size
        self.notes: list[str] = []
        self._exact = bool(document.get(EDGE_POLYGONS_KEY))  # SegGUI's own: background has polygons
        self._fill = 0 if outside == "background" and not self._exact else IGNORE_INDEX
        items = document.get("shapes") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise MaskError(f"{path}: 'shapes' must be a list of shapes (objects with a label and points)")
        self._shapes: list[_Shape] = []
        for number, item in enumerate(items, 1):
            label = str(item.get("label"))
            if label == IGNORE_LABEL:
                value: int | None = IGNORE_INDEX
            elif label == BACKGROUND_LABEL:
                value = 0
            elif label in names:
                value = names[label]
            else:
                value = unknown(label) if unknown is not None else None
            if value is not None:
                checked = self._checked(number, label, item, value)
                if checked is not None:
                    self._shapes.append(checked)

    def _checked(self, number: int, label: str, item: dict, value: int) -> _Shape | None:
        """The shape ready to draw; None (and a note) for one left out; ``MaskError`` for one
        that cannot be read."""
        kind = str(item.get("shape_type") or "polygon")
        height, width = self._size
        try:
            points = np.asarray(item.get("points") or np.zeros((0, 2)), np.float64)
            if points.ndim != 2 or points.shape[1] != 2:
                raise ValueError("its points must be (x, y) pairs")
            shape = _prepared(number, label, kind, value, points, item, self._exact, self._size)
            x0, y0, x1, y1 = shape.box
            if min(x0, y0) < -REACH or x1 > width + REACH or y1 > height + REACH:
                why = "reaches far beyond"
            elif x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
                why = "lies wholly outside"
            else:
                return shape
            self.notes.append(
                f"{self._path}: shape {number} ({kind} {label!r}) {why} the image "
                f"({width} x {height}); left out"
            )
            return None
        except (ValueError, TypeError, KeyError, OSError, OverflowError, Image.DecompressionBombError) as exc:
            # OSError: a mask shape's data that is not an image (Pillow's UnidentifiedImageError)
            raise MaskError(
                f"{self._path}: shape {number} ({kind} {label!r}) cannot be drawn ({exc})"
            ) from exc

    def draw(self, shape: tuple[int, int], window: tuple[int, int, int, int]) -> np.ndarray:
        """The ``window`` (top, left, height, width) of the mask of an image of ``shape``: the
        shapes in file order, later ones on top."""
        top, left, height, width = window
        mask = np.full((height, width), self._fill, np.uint8)
        for item in self._shapes:
            x0, y0, x1, y1 = item.box
            x0, y0 = max(x0, left, 0), max(y0, top, 0)
            x1, y1 = min(x1, left + width, shape[1]), min(y1, top + height, shape[0])
            if x0 >= x1 or y0 >= y1:
                continue
            try:
                filled = self._fill_box(item, (x0, y0, x1, y1))
            except (ValueError, TypeError) as exc:
                raise MaskError(
                    f"{self._path}: shape {item.number} ({item.kind} {item.label!r}) cannot be drawn ({exc})"
                ) from exc
            mask[y0 - top : y1 - top, x0 - left : x1 - left][filled] = item.value
        return mask

    def _fill_box(self, item: _Shape, box: tuple[int, int, int, int]) -> np.ndarray:
        """The pixels of ``box`` (left, top, right, bottom) that ``item`` fills."""
        x0, y0, x1, y1 = box
        if item.bits is not None:
            left, top = item.box[:2]
            return item.bits[y0 - top : y1 - top, x0 - left : x1 - left]
        if self._exact and item.kind == "polygon":
            filled = np.zeros((y1 - y0, x1 - x0), bool)
            row, column, inside = rasterize_polygon_box(item.points - [x0, y0], filled.shape)
            filled[row : row + inside.shape[0], column : column + inside.shape[1]] = inside
            return filled
        # Pillow's fill of a shape can differ by a pixel where a canvas cuts it on its left or
        # top, so a window's canvas reaches back to where the shape (or the image) begins, within
        # CANVAS_PIXELS: a region of a slide gets the pixels a canvas of the whole image gets.
        reach_x, reach_y = max(item.box[0], 0), max(item.box[1], 0)
        if (x1 - reach_x) * (y1 - reach_y) > CANVAS_PIXELS:
            reach_x, reach_y = x0, y0
        points = item.points - [reach_x, reach_y]  # whole pixels: Pillow gets the same fractions
        canvas = Image.new("1", (x1 - reach_x, y1 - reach_y), 0)
        draw = ImageDraw.Draw(canvas)
        if item.kind == "polygon":
            draw.polygon(points.ravel().tolist(), outline=1, fill=1)
        elif item.kind == "rectangle":
            (ax, ay), (bx, by) = points.tolist()
            draw.rectangle([min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)], outline=1, fill=1)
        elif item.kind == "circle":
            (cx, cy), (px, py) = points.tolist()
            d = math.hypot(cx - px, cy - py)
            draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
        elif item.kind in ("line", "linestrip"):
            draw.line(points.ravel().tolist(), fill=1, width=LINE_WIDTH)
        else:  # point
            (cx, cy), r = points[0].tolist(), POINT_RADIUS
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
        return np.asarray(canvas, dtype=bool)[y0 - reach_y :, x0 - reach_x :]


def _prepared(
    number: int,
    label: str,
    kind: str,
    value: int,
    points: np.ndarray,
    item: dict,
    exact: bool,
    size: tuple[int, int],
) -> _Shape:
    """A shape checked for what it needs, with the box of every pixel it can fill (Pillow's
    outline and a line's width included, with a pixel to spare). A ``mask`` shape's bitmap is
    decoded only when it is no larger than the image (``size``): 100 kB of PNG can say 30,000²."""
    if kind == "mask":
        (x0, y0), _ = _two(points)
        if not (math.isfinite(x0) and math.isfinite(y0)):
            raise ValueError("its points must be numbers")
        with Image.open(io.BytesIO(base64.b64decode(str(item["mask"])))) as image:
            if image.width > size[1] or image.height > size[0]:
                raise ValueError(
                    f"its bitmap is {image.width} x {image.height}, larger than the image "
                    f"({size[1]} x {size[0]})"
                )
            bits = np.asarray(image.convert("L")) > 0
        top, left = max(0, round(y0)), max(0, round(x0))
        box = (left, top, left + bits.shape[1], top + bits.shape[0])
        return _Shape(number, label, kind, value, points, box, bits)
    if kind in ("polygon", "rectangle", "circle"):
        needed = 3 if kind == "polygon" else 2
        if len(points) < needed or (kind != "polygon" and len(points) != 2):
            what = "3 points or more" if kind == "polygon" else "2 points"
            raise ValueError(f"a {kind} needs {what}, not {len(points)}")
    elif kind in ("line", "linestrip"):
        if len(points) == 0:
            raise ValueError("a line needs points")
    elif kind == "point":
        if len(points) == 0:
            raise ValueError("a point needs 1 point")
    else:
        raise ValueError(f"unknown shape type {kind!r}")
    xs, ys = points.T
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("its points must be numbers")
    if kind == "circle":
        (cx, cy), (px, py) = points.tolist()
        d = math.hypot(cx - px, cy - py)
        xs, ys = np.array([cx - d, cx + d]), np.array([cy - d, cy + d])
    spare = 0 if exact and kind == "polygon" else 1
    spare += {"line": LINE_WIDTH, "linestrip": LINE_WIDTH, "point": POINT_RADIUS}.get(kind, 0)
    box = (
        math.floor(xs.min()) - spare,
        math.floor(ys.min()) - spare,
        math.ceil(xs.max()) + spare + 1,
        math.ceil(ys.max()) + spare + 1,
    )
    return _Shape(number, label, kind, value, points, box)


def _two(points: np.ndarray) -> np.ndarray:
    if len(points) != 2:
        raise ValueError(f"needs 2 points, not {len(points)}")
    return points
