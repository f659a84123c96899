"""Exact pixel-boundary polygons of a binary mask, and rasterising polygons back.

Polygons run along pixel edges (vertices at pixel corners; pixel ``(x, y)`` covers the square
``[x, x+1] x [y, y+1]``), so filling a polygon by the pixel-centre rule gives back exactly the
region it came from. Regions are 4-connected; holes are not represented (a caller that needs them
draws the regions inside a hole after the region around it, e.g. larger polygons first).
"""

from __future__ import annotations

import itertools

import numpy as np


def mask_to_polygons(binary: np.ndarray) -> list[np.ndarray]:
    """Outer boundaries of the 4-connected regions of ``binary``: ``N x 2`` float arrays of (x, y).

    Each polygon runs clockwise on screen, has no repeated or collinear vertices, and encloses
    its region exactly. Hole boundaries are left out. Vectorised: every boundary edge knows its
    successor, loops are found by pointer jumping, so the cost is a few array passes per image.
    """
    binary = np.asarray(binary, bool)
    height, width = binary.shape
    padded = np.zeros((height + 2, width + 2), bool)
    padded[1:-1, 1:-1] = binary
    inside = padded[1:-1, 1:-1]
    # Edges with the region on their right (screen view): start corner and direction of each.
    xs_list, ys_list, ds_list = [], [], []
    for direction, where, (dx, dy) in (
        (0, inside & ~padded[:-2, 1:-1], (0, 0)),  # top side, running east
        (1, inside & ~padded[1:-1, 2:], (1, 0)),  # right side, running south
        (2, inside & ~padded[2:, 1:-1], (1, 1)),  # bottom side, running west
        (3, inside & ~padded[1:-1, :-2], (0, 1)),  # left side, running north
    ):
        ys, xs = np.divmod(np.flatnonzero(where), width)  # faster than a 2-D nonzero
        xs_list.append(xs + dx)
        ys_list.append(ys + dy)
        ds_list.append(np.full(len(xs), direction))
    x = np.concatenate(xs_list).astype(np.int64)
    y = np.concatenate(ys_list).astype(np.int64)
    d = np.concatenate(ds_list).astype(np.int64)
    count = len(x)
    if count == 0:
        return []
    stride = width + 1
    # Edges by (start corner, direction), found by binary search: a table of every corner would
    # cost 32 bytes a pixel however few edges there are.
    keys = (y * stride + x) * 4 + d
    by_key = np.argsort(keys)
    sorted_keys = keys[by_key]

    def lookup(wanted: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(sorted_keys, wanted), count - 1)
        return np.where(sorted_keys[at] == wanted, by_key[at], -1)

    step_x = np.asarray([1, 0, -1, 0])[d]
    step_y = np.asarray([0, 1, 0, -1])[d]
    end = (y + step_y) * stride + (x + step_x)
    # Successor: turn right if possible (keeps diagonal neighbours apart), else straight, else left.
    following = np.full(count, -1, np.int64)
    for turn in (1, 0, 3):
        candidate = lookup(end * 4 + (d + turn) % 4)
        take = (following < 0) & (candidate >= 0)
        following[take] = candidate[take]
    # Loop labels (smallest edge index in each loop) and positions, by pointer jumping.
    label = np.arange(count)
    jump = following.copy()
    for _ in range(int(np.ceil(np.log2(count))) + 1):
        label = np.minimum(label, label[jump])
        jump = jump[jump]
    head = label == np.arange(count)
    # Cut every loop before its head edge, then the distance to the cut orders each loop.
    nxt = np.where(head[following], -1, following)
    distance = (nxt >= 0).astype(np.int64)
    jump = nxt.copy()
    for _ in range(int(np.ceil(np.log2(count))) + 1):
        valid = jump >= 0
        distance = distance + np.where(valid, distance[np.where(valid, jump, 0)], 0)
        jump = np.where(valid, jump[np.where(valid, jump, 0)], -1)
    order = np.lexsort((-distance, label))
    x, y, d, label = x[order], y[order], d[order], label[order]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    previous = np.roll(d, 1)
    previous[starts] = d[np.r_[starts[1:], count] - 1]  # a loop's first edge follows its last
    corner = d != previous
    polygons = []
    bounds = np.r_[starts, count]
    for a, b in itertools.pairwise(bounds.tolist()):
        keep = corner[a:b]
        polygon = np.stack([x[a:b][keep], y[a:b][keep]], axis=1).astype(np.float64)
        if len(polygon) >= 4 and polygon_area(polygon) > 0:  # clockwise on screen: an outer boundary
            polygons.append(polygon)
    return polygons


def polygon_area(points: np.ndarray) -> float:
    """Signed shoelace area; positive for polygons that run clockwise on screen (y down)."""
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def rasterize_polygon(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of ``shape`` whose centres lie inside the polygon (even-odd rule)."""
    out = np.zeros(shape, bool)
    y0, x0, inside = rasterize_polygon_box(points, shape)
    out[y0 : y0 + inside.shape[0], x0 : x0 + inside.shape[1]] = inside
    return out


def rasterize_polygon_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """Like ``rasterize_polygon`` but only over the polygon's bounding box (clipped to ``shape``):
    returns its top row, left column and the pixels inside."""
    height, width = shape
    points = np.asarray(points, np.float64)
    if len(points) < 3:
        return 0, 0, np.zeros((0, 0), bool)
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, width))
    x1 = int(np.clip(np.ceil(points[:, 0].max()), x0, width))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, height))
    y1 = int(np.clip(np.ceil(points[:, 1].max()), y0, height))
    local = points - [x0, y0]
    box = (y1 - y0, x1 - x0)
    rounded = np.rint(local)
    if np.abs(local - rounded).max() < 1e-3 and _rectilinear(rounded):
        return y0, x0, _fill_rectilinear(rounded.astype(np.int64), box)
    return y0, x0, _fill_scanlines(local, box)


def _fill_scanlines(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Even-odd fill by pixel-centre scan lines (any polygon)."""
    height, width = shape
    out = np.zeros((height, width), bool)
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    row_lo = max(int(np.floor(y0.min() - 0.5)), 0)
    row_hi = min(int(np.ceil(y0.max() + 0.5)), height)
    if row_lo >= row_hi:
        return out
    centres = np.arange(row_lo, row_hi) + 0.5
    # Edges crossing each row's centre line (half-open in y, so vertices count once).
    crosses = ((y0[None] <= centres[:, None]) & (y1[None] > centres[:, None])) | (
        (y1[None] <= centres[:, None]) & (y0[None] > centres[:, None])
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (centres[:, None] - y0[None]) / (y1 - y0)[None]
    xs = x0[None] + t * (x1 - x0)[None]
    for row, (hit, x) in enumerate(zip(crosses, xs)):
        cuts = np.sort(x[hit])
        for a, b in zip(cuts[0::2], cuts[1::2]):
            first = max(int(np.ceil(a - 0.5)), 0)
            last = min(int(np.ceil(b - 0.5)), width)  # centres c with a <= c + 0.5 < b
            if first < last:
                out[row_lo + row, first:last] = True
    return out


def _rectilinear(points: np.ndarray) -> bool:
    following = np.roll(points, -1, axis=0)
    return bool(((points[:, 0] == following[:, 0]) | (points[:, 1] == following[:, 1])).all())


def _fill_rectilinear(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Even-odd fill of a polygon with integer corners and axis-parallel sides, in array passes:
    each vertical side flips the parity of the pixels to its right, over the rows it spans."""
    height, width = shape
    following = np.roll(points, -1, axis=0)
    vertical = points[:, 0] == following[:, 0]
    x = np.clip(points[vertical, 0], 0, width)
    y0 = np.clip(np.minimum(points[vertical, 1], following[vertical, 1]), 0, height)
    y1 = np.clip(np.maximum(points[vertical, 1], following[vertical, 1]), 0, height)
    flips = np.zeros((height + 1, width + 1), np.int32)
    np.add.at(flips, (y0, x), 1)
    np.add.at(flips, (y1, x), -1)
    return (np.cumsum(np.cumsum(flips, axis=0), axis=1)[:height, :width] % 2).astype(bool)
