"""The mask being edited, with painting operations and tile-based undo. Qt-free.

Every operation returns the rectangle it changed, so a view repaints only that. Undo history
stores, per edit, only the 64 x 64 tiles an edit touched (old and new values), so memory follows
what was painted, not the image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from model.classes import IGNORE_INDEX
from model.storage.intensity import intensity_range

TILE = 64


class Rect(NamedTuple):
    """A pixel rectangle: ``x, y`` top-left, ``width x height``."""

    x: int
    y: int
    width: int
    height: int

    def united(self, other: Rect | None) -> Rect:
        if other is None or other.width == 0 or other.height == 0:
            return self
        if self.width == 0 or self.height == 0:
            return other
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.width, other.x + other.width)
        y1 = max(self.y + self.height, other.y + other.height)
        return Rect(x0, y0, x1 - x0, y1 - y0)


EMPTY = Rect(0, 0, 0, 0)


@dataclass(frozen=True)
class Edit:
    """One undoable change: the tiles it touched, before and after."""

    tiles: tuple[tuple[int, int, np.ndarray, np.ndarray], ...]  # (ty, tx, old, new)
    label: str

    @property
    def nbytes(self) -> int:
        return sum(old.nbytes + new.nbytes for _, _, old, new in self.tiles)

    def rect(self) -> Rect:
        out = EMPTY
        for ty, tx, old, _ in self.tiles:
            out = Rect(tx * TILE, ty * TILE, old.shape[1], old.shape[0]).united(out)
        return out


class MaskDocument:
    """An ``H x W`` uint8 mask with painting operations grouped into undoable edits.

    Painting happens between ``begin_edit`` and ``end_edit``: the first change to a tile keeps a
    copy of its old values, and ``end_edit`` returns an ``Edit`` holding only changed tiles.
    """

    def __init__(self, mask: np.ndarray) -> None:
        if mask.ndim != 2 or mask.dtype != np.uint8:
            raise ValueError(f"mask must be a 2-D uint8 array, got {mask.dtype} {mask.shape}")
        self.mask = mask
        self.keep_labels = False
        """Painting a class changes only pixels not labelled yet (napari's "preserve labels");
        erasing and accepting predictions are not held back."""
        self._backup: dict[tuple[int, int], np.ndarray] | None = None
        self._label = ""

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    # -- edits -----------------------------------------------------------------------------
    def begin_edit(self, label: str) -> None:
        self._backup = {}
        self._label = label

    def end_edit(self) -> Edit | None:
        """Finish the edit; ``None`` if nothing changed."""
        backup, self._backup = self._backup or {}, None
        tiles = []
        for (ty, tx), old in sorted(backup.items()):
            new = self._tile_view(ty, tx).copy()
            if not np.array_equal(old, new):
                tiles.append((ty, tx, old, new))
        return Edit(tuple(tiles), self._label) if tiles else None

    def apply(self, edit: Edit, *, undo: bool) -> Rect:
        """Put ``edit``'s old (``undo``) or new values back; returns the changed rectangle."""
        for ty, tx, old, new in edit.tiles:
            self._tile_view(ty, tx)[...] = old if undo else new
        return edit.rect()

    def _tile_view(self, ty: int, tx: int) -> np.ndarray:
        return self.mask[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]

    def _touch(self, rect: Rect) -> None:
        """Back up the tiles under ``rect`` that this edit has not touched yet."""
        if self._backup is None:
            raise RuntimeError("painting outside begin_edit()/end_edit()")
        for ty in range(rect.y // TILE, (rect.y + rect.height - 1) // TILE + 1):
            for tx in range(rect.x // TILE, (rect.x + rect.width - 1) // TILE + 1):
                if (ty, tx) not in self._backup:
                    self._backup[(ty, tx)] = self._tile_view(ty, tx).copy()

    def _clip(self, x0: int, y0: int, x1: int, y1: int) -> Rect:
        h, w = self.mask.shape
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, w), min(y1, h)
        return Rect(x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else EMPTY

    def _write(self, rect: Rect, where: np.ndarray, value: int) -> Rect:
        if rect == EMPTY:
            return EMPTY
        region = self.mask[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
        if self.keep_labels and value != IGNORE_INDEX:
            where = where & (region == IGNORE_INDEX)
        if not where.any():
            return EMPTY
        self._touch(rect)
        region[where] = value
        return rect

    # -- painting ---------------------------------------------------------------------------
    def paint_segment(self, x0: float, y0: float, x1: float, y1: float, radius: float, value: int) -> Rect:
        """Paint every pixel whose centre lies within ``radius`` of the segment (a round brush).

        A single dab is a segment of length zero. Pixel ``(x, y)`` has its centre at
        ``(x + 0.5, y + 0.5)`` in image coordinates.
        """
        r = max(radius, 0.5)
        rect = self._clip(
            int(np.floor(min(x0, x1) - r)),
            int(np.floor(min(y0, y1) - r)),
            int(np.ceil(max(x0, x1) + r)) + 1,
            int(np.ceil(max(y0, y1) + r)) + 1,
        )
        if rect == EMPTY:
            return EMPTY
        ys = np.arange(rect.y, rect.y + rect.height, dtype=np.float32)[:, None] + 0.5
        xs = np.arange(rect.x, rect.x + rect.width, dtype=np.float32)[None, :] + 0.5
        dx, dy = x1 - x0, y1 - y0
        length_sq = dx * dx + dy * dy
        if length_sq > 0:
            t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length_sq, 0.0, 1.0)
            px, py = x0 + t * dx, y0 + t * dy
        else:
            px, py = x0, y0
        inside = (xs - px) ** 2 + (ys - py) ** 2 <= r * r
        return self._write(rect, inside, value)

    def fill_polygon(self, points: list[tuple[float, float]], value: int) -> Rect:
        """Fill the polygon (or closed lasso path) through ``points`` (image coordinates)."""
        if len(points) < 3:
            return EMPTY
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        rect = self._clip(
            int(np.floor(min(xs))),
            int(np.floor(min(ys))),
            int(np.ceil(max(xs))) + 1,
            int(np.ceil(max(ys))) + 1,
        )
        if rect == EMPTY:
            return EMPTY
        canvas = Image.new("1", (rect.width, rect.height), 0)
        ImageDraw.Draw(canvas).polygon(
            [(x - rect.x - 0.5, y - rect.y - 0.5) for x, y in points], fill=1, outline=1
        )
        return self._write(rect, np.asarray(canvas, dtype=bool), value)

    def flood_fill(self, x: int, y: int, value: int) -> Rect:
        """Fill the 4-connected region of equal value around pixel ``(x, y)``."""
        h, w = self.mask.shape
        if not (0 <= x < w and 0 <= y < h) or self.mask[y, x] == value:
            return EMPTY
        return self.fill_connected(x, y, self.mask == self.mask[y, x], value)

    def fill_connected(self, x: int, y: int, candidates: np.ndarray, value: int) -> Rect:
        """Fill the 4-connected part of ``candidates`` (a boolean map) that holds ``(x, y)``."""
        h, w = self.mask.shape
        if not (0 <= x < w and 0 <= y < h) or not candidates[y, x]:
            return EMPTY
        region = _connected_region(candidates, x, y)
        ys, xs = np.nonzero(region)
        rect = Rect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        return self._write(rect, region[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width], value)

    def replace_where(self, where: np.ndarray, values: np.ndarray) -> Rect:
        """Set ``mask[where] = values[where]`` (used to accept predictions)."""
        if where.shape != self.mask.shape or values.shape != self.mask.shape:
            raise ValueError("where and values must have the mask's shape")
        changed = where & (self.mask != values)
        if not changed.any():
            return EMPTY
        ys, xs = np.nonzero(changed)
        rect = Rect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        self._touch(rect)
        self.mask[changed] = values[changed]
        return rect


def _connected_region(candidates: np.ndarray, x: int, y: int) -> np.ndarray:
    """Boolean map of the 4-connected component of ``candidates`` containing ``(x, y)``."""
    components, _ = ndimage.label(candidates)
    return components == components[y, x]


def similar_pixels(raw: np.ndarray, x: int, y: int, tolerance: float) -> np.ndarray:
    """Pixels of ``raw`` (grey or colour, any depth) within ``tolerance`` of pixel ``(x, y)``,
    as a share of the image's intensity range (0.1: 10 %), in every channel (GIMP's and
    QuPath's wand compare the same way)."""
    limits = intensity_range(raw)
    unit = limits.to_unit(raw)
    seed = unit[y, x]
    difference = np.abs(unit - seed)
    if difference.ndim == 3:
        difference = difference.max(axis=2)
    return difference <= tolerance + 1e-6
