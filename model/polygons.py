"""Exact pixel-boundary polygons of a binary mask, and rasterising polygons back.

Polygons run along pixel edges (vertices at pixel corners; pixel ``(x, y)`` covers the square
``[x, x+1] x [y, y+1]``), so filling a polygon by the pixel-centre rule gives back exactly the
region it came from. Regions are 4-connected; holes are not represented (a caller that needs them
draws the regions inside a hole after the region around it, e.g. larger polygons first).
"""

from __future__ import annotations

import numpy as np

# Directions, clockwise on screen (y points down): east, south, west, north.
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def mask_to_polygons(binary: np.ndarray) -> list[np.ndarray]:
    """Outer boundaries of the 4-connected regions of ``binary``: ``N x 2`` float arrays of (x, y).

    Each polygon runs clockwise on screen, has no repeated or collinear vertices, and encloses
    its region exactly. Hole boundaries are left out.
    """
    binary = np.asarray(binary, bool)
    height, width = binary.shape
    padded = np.zeros((height + 2, width + 2), bool)
    padded[1:-1, 1:-1] = binary
    inside = padded[1:-1, 1:-1]
    # Edges with the region on their right (screen view), one array of start corners per direction.
    top = inside & ~padded[:-2, 1:-1]
    right = inside & ~padded[1:-1, 2:]
    bottom = inside & ~padded[2:, 1:-1]
    left = inside & ~padded[1:-1, :-2]
    starts: dict[tuple[int, int], list[int]] = {}
    edges: list[tuple[int, int, int]] = []  # (x, y, direction) of the start corner
    for direction, where, (dx, dy) in (
        (0, top, (0, 0)),
        (1, right, (1, 0)),
        (2, bottom, (1, 1)),
        (3, left, (0, 1)),
    ):
        ys, xs = np.nonzero(where)
        for x, y in zip((xs + dx).tolist(), (ys + dy).tolist()):
            starts.setdefault((x, y), []).append(len(edges))
            edges.append((x, y, direction))
    used = [False] * len(edges)
    polygons = []
    for first in range(len(edges)):
        if used[first]:
            continue
        loop: list[tuple[int, int, int]] = []
        index = first
        while not used[index]:
            used[index] = True
            x, y, direction = edges[index]
            loop.append((x, y, direction))
            dx, dy = _STEPS[direction]
            candidates = [i for i in starts[(x + dx, y + dy)] if not used[i]]
            if not candidates:
                break
            if len(candidates) > 1:  # a corner where two regions touch diagonally: turn right
                turn_right = (direction + 1) % 4
                candidates = [i for i in candidates if edges[i][2] == turn_right] or candidates
            index = candidates[0]
        corners = [(x, y) for (x, y, d), (_, _, prev) in zip(loop, [loop[-1], *loop[:-1]]) if d != prev]
        polygon = np.asarray(corners, dtype=np.float64)
        if len(polygon) >= 4 and polygon_area(polygon) > 0:  # clockwise on screen: an outer boundary
            polygons.append(polygon)
    return polygons


def polygon_area(points: np.ndarray) -> float:
    """Signed shoelace area; positive for polygons that run clockwise on screen (y down)."""
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def rasterize_polygon(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of ``shape`` whose centres lie inside the polygon (even-odd rule)."""
    height, width = shape
    out = np.zeros((height, width), bool)
    points = np.asarray(points, np.float64)
    if len(points) < 3:
        return out
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
