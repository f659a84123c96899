"""COCO run-length encoding of binary masks (column-major runs, compressed to a string).

The same format pycocotools writes and reads, implemented here so the engine needs no C
extension; the tests check both directions against pycocotools.
"""

from __future__ import annotations

import numpy as np


def rle_counts(binary: np.ndarray) -> list[int]:
    """Run lengths over the column-major pixels, starting with a run of zeros (maybe empty)."""
    flat = np.asarray(binary, bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return counts


def encode_counts(counts: list[int]) -> str:
    """COCO's compressed string of run lengths (LEB128-like, differences to the run two back)."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def decode_counts(text: str) -> list[int]:
    """Run lengths from COCO's compressed string."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            if p >= len(text):
                raise ValueError("truncated RLE string")
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(binary: np.ndarray) -> dict[str, object]:
    """``{"size": [h, w], "counts": str}`` as in COCO annotations."""
    height, width = binary.shape
    return {"size": [int(height), int(width)], "counts": encode_counts(rle_counts(binary))}


def rle_runs(rle: dict[str, object]) -> tuple[tuple[int, int], list[int]]:
    """The (height, width) and run lengths of a COCO RLE (compressed string or list of counts),
    checked to cover the image exactly."""
    height, width = (int(v) for v in rle["size"])  # type: ignore[union-attr]
    raw = rle["counts"]
    counts = decode_counts(raw) if isinstance(raw, str) else [int(c) for c in raw]  # type: ignore[union-attr]
    if sum(counts) != height * width or any(c < 0 for c in counts):
        raise ValueError(f"RLE runs cover {sum(counts)} pixels, not {height} x {width}")
    return (height, width), counts


def rle_decode(rle: dict[str, object]) -> np.ndarray:
    """The binary mask of a COCO RLE (compressed string or uncompressed list of counts)."""
    (height, width), counts = rle_runs(rle)
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape((width, height)).T.copy()


def rle_window_pixels(
    bounds: np.ndarray, height: int, window: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns, within ``window`` (top, left, rows, columns), of the pixels set in
    a binary mask ``height`` rows tall given by the ends of its runs (``np.cumsum`` of the run
    lengths), decoded from the run ends inside the window alone: a whole slide's RLE is never
    expanded, nor the window (a class covers few of a slide's pixels)."""
    top, left, rows, columns = window
    starts = (left + np.arange(columns, dtype=np.int64)) * height + top  # each column's first pixel
    first = np.searchsorted(bounds, starts, side="right") % 2 == 1  # flips passed: odd means inside
    span = bounds[np.searchsorted(bounds, starts[0], "right") : np.searchsorted(bounds, starts[-1] + rows)]
    column, row = np.divmod(span - top, height)
    column -= left
    inside = (row > 0) & (row < rows)
    # The window's pixels column by column: a segment begins at each column's top and at each
    # run end inside a column; its value is the column's first, flipped once per run end passed.
    at = np.concatenate([np.arange(columns, dtype=np.int64) * rows, column[inside] * rows + row[inside]])
    ends = np.concatenate([np.zeros(columns, np.int64), np.ones(int(inside.sum()), np.int64)])
    order = np.argsort(at, kind="stable")
    at, ends = at[order], ends[order]
    passed = np.cumsum(ends)
    passed -= passed[ends == 0][at[ends == 0] // rows][at // rows]  # counted from the column's top
    values = first[at // rows] ^ (passed % 2 == 1)
    lengths = np.diff(np.append(at, columns * rows))
    set_at, set_lengths = at[values], lengths[values]  # a segment never crosses a column
    offsets = np.arange(int(set_lengths.sum())) - np.repeat(np.cumsum(set_lengths) - set_lengths, set_lengths)
    return np.repeat(set_at % rows, set_lengths) + offsets, np.repeat(set_at // rows, set_lengths)
