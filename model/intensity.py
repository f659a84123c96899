"""Turning raw pixel values (8-bit, 16-bit, float; grey or colour) into network input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SAMPLE_PIXELS = 1 << 20


@dataclass(frozen=True)
class IntensityRange:
    """Raw values mapped to 0 and 1: 8-bit images use 0..255, others robust percentiles."""

    low: float
    high: float

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` scaled to float32 in [0, 1] (clipped; NaN becomes 0, infinities 0 or 1)."""
        scale = 1.0 / max(self.high - self.low, 1e-12)
        out = (raw.astype(np.float32) - np.float32(self.low)) * np.float32(scale)
        if out.dtype.kind == "f" and raw.dtype.kind == "f":
            np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(out, 0.0, 1.0, out=out)


def non_finite_pixels(raw: np.ndarray) -> int:
    """How many values of a float image are NaN or infinite (0 for integer images)."""
    return 0 if raw.dtype.kind != "f" else int(raw.size - np.count_nonzero(np.isfinite(raw)))


def intensity_range(raw: np.ndarray) -> IntensityRange:
    """The range to normalise ``raw`` with: the full range for uint8, else 0.1 and 99.9 percentiles.

    Percentiles are taken on an evenly strided sample so huge images cost little.
    """
    if raw.dtype == np.uint8:
        return IntensityRange(0.0, 255.0)
    flat = raw.reshape(-1)
    step = max(1, flat.size // _SAMPLE_PIXELS)
    sample = flat[::step].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return IntensityRange(0.0, 1.0)
    low, high = np.percentile(sample, [0.1, 99.9])
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        high = low + 1.0
    return IntensityRange(float(low), float(high))


def to_channels(unit: np.ndarray, in_channels: int) -> np.ndarray:
    """``H x W`` or ``H x W x 3`` float image as a ``C x H x W`` array with ``in_channels`` planes."""
    if unit.ndim == 2:
        planes = unit[None]
    elif unit.ndim == 3 and unit.shape[2] == 3:
        planes = np.moveaxis(unit, 2, 0)
    else:
        raise ValueError(f"expected an H x W or H x W x 3 image, got shape {unit.shape}")
    if planes.shape[0] == in_channels:
        return np.ascontiguousarray(planes)
    if in_channels == 3:
        return np.repeat(planes, 3, axis=0)
    if in_channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None, None]
        return (planes * weights).sum(axis=0, keepdims=True)
    raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")


def image_to_input(raw: np.ndarray, in_channels: int) -> np.ndarray:
    """A raw image as a ``C x H x W`` float32 array in [0, 1] (before mean/std standardisation)."""
    return to_channels(intensity_range(raw).to_unit(raw), in_channels)
