"""The mask being edited, with painting operations and tile-based undo. Qt-free.

Every operation returns the rectangle it changed, so a view repaints only that. Undo history
stores, per edit, only the 64 x 64 tiles an edit touched (old and new values), so memory follows
what was painted, not the image size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
        self._start_editing()

    def _start_editing(self) -> None:
        """The editing state every document starts with (a slide's too)."""
        self.keep_labels = False
        """Painting a class changes only pixels not labelled yet (napari's "preserve labels");
        erasing and accepting predictions are not held back."""
        self.nodata: np.ndarray | None = None
        """Pixels the image says hold no data (``model.storage.nodata``): no class is painted there."""
        self._backup: dict[tuple[int, int], np.ndarray] | None = None
        self._label = ""
        self.fill_stopped: str | None = None
        """Why the last fill stopped short of the whole region (never here: it may reach the
        whole mask), for the status bar."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    def label_at(self, x: int, y: int) -> int:
        """The value of pixel ``(x, y)``."""
        return int(self.mask[y, x])

    def fill_bounds(self, x: int, y: int) -> Rect:
        """The rectangle a fill from pixel ``(x, y)`` may reach: the whole mask here."""
        height, width = self.shape
        return Rect(0, 0, width, height)

    # -- pixel access: the mask array here; a chunked mask on disk for a slide -------------------
    def _region(self, rect: Rect) -> np.ndarray:
        """The pixels of ``rect``, to change and hand to ``_store`` (a view here)."""
        return self.mask[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]

    def _store(self, rect: Rect, values: np.ndarray) -> None:
        """Make ``values`` (from ``_region``, changed) the pixels of ``rect``: a view was
        changed in place already here."""

    def _tiles(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        """Copies of the undo tiles ``keys``, each run of neighbours in a tile row read at once
        (a slide's chunked mask is read a run at a time, not a tile at a time)."""
        tiles = {}
        for ty, first, last, rect in self._tile_runs(keys):
            region = self._region(rect)
            for tx in range(first, last + 1):
                tiles[(ty, tx)] = region[:, (tx - first) * TILE : (tx - first + 1) * TILE].copy()
        return tiles

    def _set_tiles(self, values: dict[tuple[int, int], np.ndarray]) -> None:
        """Put back the undo tiles ``values``, a run of neighbours in a tile row at a time."""
        for ty, first, last, rect in self._tile_runs(values):
            region = self._region(rect)
            for tx in range(first, last + 1):
                region[:, (tx - first) * TILE : (tx - first + 1) * TILE] = values[(ty, tx)]
            self._store(rect, region)

    def _tile_runs(self, keys: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int, int, Rect]]:
        """(tile row, first and last tile column, the pixels they cover) for each run of
        neighbouring tiles in a row among ``keys``."""
        keys = sorted(keys)
        start = 0
        for index in range(1, len(keys) + 1):
            if index == len(keys) or keys[index] != (keys[index - 1][0], keys[index - 1][1] + 1):
                (ty, first), (_, last) = keys[start], keys[index - 1]
                left, right = self._tile_rect(ty, first), self._tile_rect(ty, last)
                yield ty, first, last, Rect(left.x, left.y, right.x + right.width - left.x, left.height)
                start = index

    def _tile_rect(self, ty: int, tx: int) -> Rect:
        height, width = self.shape
        y, x = ty * TILE, tx * TILE
        return Rect(x, y, min(TILE, width - x), min(TILE, height - y))

    # -- edits -----------------------------------------------------------------------------
    def begin_edit(self, label: str) -> None:
        self._backup = {}
        self._label = label

    def end_edit(self) -> Edit | None:
        """Finish the edit; ``None`` if nothing changed."""
        backup, self._backup = self._backup or {}, None
        now = self._tiles(backup)
        tiles = []
        for (ty, tx), old in sorted(backup.items()):
            new = now[(ty, tx)]
            if not np.array_equal(old, new):
                tiles.append((ty, tx, old, new))
        return Edit(tuple(tiles), self._label) if tiles else None

    def apply(self, edit: Edit, *, undo: bool) -> Rect:
        """Put ``edit``'s old (``undo``) or new values back; returns the changed rectangle."""
        self._set_tiles({(ty, tx): old if undo else new for ty, tx, old, new in edit.tiles})
        return edit.rect()

    def _touch(self, rect: Rect) -> None:
        """Back up the tiles under ``rect`` that this edit has not touched yet."""
        if self._backup is None:
            raise RuntimeError("painting outside begin_edit()/end_edit()")
        under = [
            (ty, tx)
            for ty in range(rect.y // TILE, (rect.y + rect.height - 1) // TILE + 1)
            for tx in range(rect.x // TILE, (rect.x + rect.width - 1) // TILE + 1)
            if (ty, tx) not in self._backup
        ]
        self._backup.update(self._tiles(under))

    def _clip(self, x0: int, y0: int, x1: int, y1: int) -> Rect:
        h, w = self.shape
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, w), min(y1, h)
        return Rect(x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else EMPTY

    def _write(self, rect: Rect, where: np.ndarray, value: int) -> Rect:
        if rect == EMPTY:
            return EMPTY
        region = self._region(rect)
        if self.keep_labels and value != IGNORE_INDEX:
            where = where & (region == IGNORE_INDEX)
        if self.nodata is not None and value != IGNORE_INDEX:
            where = where & ~self.nodata[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]
        if not where.any():
            return EMPTY
        self._touch(rect)
        region[where] = value
        self._store(rect, region)
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
        """Fill the 4-connected region of equal value around pixel ``(x, y)`` (within
        ``fill_bounds``)."""
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h) or self.label_at(x, y) == value:
            return EMPTY
        bounds = self.fill_bounds(x, y)
        labels = self._region(bounds)
        return self.fill_connected(x, y, labels == labels[y - bounds.y, x - bounds.x], value, bounds)

    def fill_connected(
        self, x: int, y: int, candidates: np.ndarray, value: int, bounds: Rect | None = None
    ) -> Rect:
        """Fill the 4-connected part of ``candidates`` (a boolean map of ``bounds``, the whole
        mask if None) that holds ``(x, y)``."""
        h, w = self.shape
        bounds = bounds or Rect(0, 0, w, h)
        cx, cy = x - bounds.x, y - bounds.y
        if not (0 <= x < w and 0 <= y < h) or not candidates[cy, cx]:
            return EMPTY
        region = _connected_region(candidates, cx, cy)
        ys, xs = np.nonzero(region)
        inner = Rect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        rect = Rect(bounds.x + inner.x, bounds.y + inner.y, inner.width, inner.height)
        where = region[inner.y : inner.y + inner.height, inner.x : inner.x + inner.width]
        return self._write(rect, where, value)

    def paint_where(self, rect: Rect, where: np.ndarray, value: int) -> Rect:
        """Paint ``value`` where ``where`` (``rect``'s size) is true, under the rules of a
        stroke (Paint Only Unlabelled Pixels, no class on nodata): a prompt's object accepted."""
        clipped = self._clip(rect.x, rect.y, rect.x + rect.width, rect.y + rect.height)
        if clipped == EMPTY:
            return EMPTY
        dy, dx = clipped.y - rect.y, clipped.x - rect.x
        return self._write(clipped, where[dy : dy + clipped.height, dx : dx + clipped.width], value)

    def read(self, rect: Rect) -> np.ndarray:
        """A copy of the pixels of ``rect``."""
        return self._region(rect).copy()

    def replace_in(self, rect: Rect, where: np.ndarray, values: np.ndarray) -> Rect:
        """Set the pixels of ``rect`` where ``where`` to ``values`` (both of the rect's size):
        a part of a slide's prediction accepted."""
        region = self._region(rect)
        changed = where & (region != values)
        if not changed.any():
            return EMPTY
        self._touch(rect)
        np.copyto(region, values, where=changed)  # a boolean index costs 4x more on millions
        self._store(rect, region)
        return rect

    def replace_where(self, where: np.ndarray, values: np.ndarray) -> Rect:
        """Set ``mask[where] = values[where]`` (used to accept predictions)."""
        if where.shape != self.shape or values.shape != self.shape:
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
