"""Turning raw pixel values (8-bit, 16-bit, float; grey or colour) into network input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SAMPLE_PIXELS = 1 << 20


@dataclass(frozen=True)
class IntensityRange:
    """Raw values mapped to 0 and 1, per channel: 8-bit images use 0..255, others robust
    percentiles of each channel (one value each for a grey image)."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def of(cls, limits: np.ndarray) -> IntensityRange:
        """From a ``2 x C`` array of lows and highs (``as_array``)."""
        return cls(tuple(float(v) for v in limits[0]), tuple(float(v) for v in limits[1]))

    def as_array(self) -> np.ndarray:
        return np.array([self.low, self.high], dtype=np.float64)

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        """``raw`` scaled to float32 in [0, 1] (clipped; NaN becomes 0, infinities 0 or 1)."""
        low = np.asarray(self.low, np.float32)
        scale = np.float32(1.0) / np.maximum(np.asarray(self.high, np.float32) - low, np.float32(1e-12))
        if low.size == 1:
            low, scale = low[0], scale[0]
        out = (raw.astype(np.float32) - low) * scale
        if raw.dtype.kind == "f":
            np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(out, 0.0, 1.0, out=out)


def non_finite_pixels(raw: np.ndarray) -> int:
    """How many values of a float image are NaN or infinite (0 for integer images)."""
    return 0 if raw.dtype.kind != "f" else int(raw.size - np.count_nonzero(np.isfinite(raw)))


def channel_count(raw: np.ndarray) -> int:
    """1 for an ``H x W`` image, ``C`` for ``H x W x C``."""
    return 1 if raw.ndim == 2 else int(raw.shape[2])


def intensity_range(raw: np.ndarray, nodata: np.ndarray | None = None) -> IntensityRange:
    """The range to normalise ``raw`` with: the full range for uint8, else the 0.1 and 99.9
    percentiles of each channel, over the pixels that hold data (``nodata``: ``H x W``, true
    where the source says a pixel holds none: its fill value would stretch the range).

    Percentiles are taken on an evenly strided sample so huge images cost little.
    """
    channels = channel_count(raw)
    if raw.dtype == np.uint8:
        return IntensityRange((0.0,) * channels, (255.0,) * channels)
    flat = raw.reshape(-1, channels)
    if nodata is not None and not nodata.all():
        flat = flat[~nodata.ravel()]
    step = max(1, flat.shape[0] // _SAMPLE_PIXELS)
    lows, highs = [], []
    for channel in range(channels):
        low, high = channel_limits(flat[::step, channel])
        lows.append(low)
        highs.append(high)
    return IntensityRange(tuple(lows), tuple(highs))


def channel_limits(values: np.ndarray, percentiles: tuple[float, float] = (0.1, 99.9)) -> tuple[float, float]:
    """The ``percentiles`` of the finite ``values`` of one channel (as ``np.percentile``
    interpolates them), widened to the values' extremes (or one unit) where they coincide.
    8- and 16-bit values are counted rather than sorted: 20x faster on a million values."""
    if values.dtype in (np.uint8, np.uint16):
        return limits_from_counts(np.bincount(values.ravel(), minlength=256), percentiles)
    sample = values.astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(sample, percentiles)
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def limits_from_counts(
    counts: np.ndarray, percentiles: tuple[float, float] = (0.1, 99.9)
) -> tuple[float, float]:
    """``channel_limits`` of values given as counts per value (``np.bincount``)."""
    total = int(counts.sum())
    if total == 0:
        return 0.0, 1.0
    ends = np.cumsum(counts)

    def value_at(rank: int) -> int:  # the rank-th smallest value, from 0
        return int(np.searchsorted(ends, rank + 1))

    limits = []
    for percentile in percentiles:
        position = percentile / 100 * (total - 1)
        below = int(np.floor(position))
        low_value, high_value = value_at(below), value_at(min(below + 1, total - 1))
        limits.append(low_value + (position - below) * (high_value - low_value))
    low, high = limits
    if high <= low:
        present = np.flatnonzero(counts)
        low, high = float(present[0]), float(present[-1])
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


class ChannelMismatch(ValueError):
    """An image whose channel count a network cannot take."""


def to_channels(unit: np.ndarray, in_channels: int) -> np.ndarray:
    """An ``H x W`` or ``H x W x C`` float image as a ``C x H x W`` array of ``in_channels``
    planes: the same count as it is, a grey image repeated for a colour network, a colour image
    as its luminance for a grey one. Any other pair raises ``ChannelMismatch``."""
    planes = unit[None] if unit.ndim == 2 else np.moveaxis(unit, 2, 0)
    if planes.shape[0] == in_channels:
        return np.ascontiguousarray(planes)
    if planes.shape[0] == 1 and in_channels == 3:
        return np.repeat(planes, 3, axis=0)
    if planes.shape[0] == 3 and in_channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)[:, None, None]
        return (planes * weights).sum(axis=0, keepdims=True)
    raise ChannelMismatch(f"the network takes {in_channels}-channel images, this one has {planes.shape[0]}")


def channels_fit(image_channels: int, in_channels: int) -> bool:
    """Whether ``to_channels`` takes an image of ``image_channels`` into ``in_channels``."""
    return image_channels == in_channels or {image_channels, in_channels} == {1, 3}


def select_channels(raw: np.ndarray, channels: tuple[int, ...]) -> np.ndarray:
    """The ``channels`` (counted from 1, in order) of ``raw``; all of them for ``()``. One
    channel comes back as ``H x W``. Raises ``ChannelMismatch`` for a channel ``raw`` lacks."""
    if not channels:
        return raw
    count = channel_count(raw)
    if max(channels) > count:
        raise ChannelMismatch(f"the model reads channel {max(channels)}, this image has {count}")
    if raw.ndim == 2:
        return raw
    picked = raw[..., [c - 1 for c in channels]]
    return picked[..., 0] if len(channels) == 1 else picked


def channel_problem(image_channels: int, picked: tuple[int, ...], in_channels: int) -> str | None:
    """Why an image of ``image_channels`` cannot go into a network of ``in_channels`` that reads
    the ``picked`` channels (``select_channels``), in words; None when it can."""
    s = "s" if image_channels != 1 else ""
    if picked:
        if max(picked) > image_channels:
            return f"has {image_channels} channel{s} but the model reads channel {max(picked)}"
        image_channels = len(picked)
    if channels_fit(image_channels, in_channels):
        return None
    return f"has {image_channels} channel{s} but the model takes {in_channels}"


def image_to_input(raw: np.ndarray, in_channels: int) -> np.ndarray:
    """A raw image as a ``C x H x W`` float32 array in [0, 1] (before mean/std standardisation)."""
    return to_channels(intensity_range(raw).to_unit(raw), in_channels)
