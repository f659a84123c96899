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


def rle_decode(rle: dict[str, object]) -> np.ndarray:
    """The binary mask of a COCO RLE (compressed string or uncompressed list of counts)."""
    height, width = (int(v) for v in rle["size"])  # type: ignore[union-attr]
    raw = rle["counts"]
    counts = decode_counts(raw) if isinstance(raw, str) else [int(c) for c in raw]  # type: ignore[union-attr]
    if sum(counts) != height * width or any(c < 0 for c in counts):
        raise ValueError(f"RLE runs cover {sum(counts)} pixels, not {height} x {width}")
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape((width, height)).T.copy()
