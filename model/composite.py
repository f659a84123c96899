"""An image of any channel count as one colour picture: each channel its colour and contrast
limits, the visible ones added (Fiji's and napari's composite). Qt-free: runs on worker threads."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.storage.intensity import channel_count, channel_limits, limits_from_counts

GREY = (255, 255, 255)
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
MAGENTA, CYAN, YELLOW, ORANGE = (255, 0, 255), (0, 255, 255), (255, 255, 0), (255, 128, 0)
MORE_COLOURS = (RED, GREEN, BLUE, GREY, CYAN, MAGENTA, YELLOW, ORANGE)
"""Channels 1, 2, 3, ... of an image of four or more (Fiji's order, then the secondaries)."""
HISTOGRAM_BINS = 128
_SAMPLE_PIXELS = 1 << 20


@dataclass(frozen=True)
class ChannelView:
    """How one channel is shown: its name, colour, contrast limits (raw values shown black and
    full colour), whether it is visible, and the limits it had automatically."""

    name: str
    colour: tuple[int, int, int]
    low: float
    high: float
    visible: bool = True
    auto: tuple[float, float] = (0.0, 1.0)

    @property
    def adjusted(self) -> bool:
        return (self.low, self.high) != self.auto


def default_colours(channels: int) -> list[tuple[int, int, int]]:
    """Grey for one channel, green and magenta for two, red, green and blue for three, then
    ``MORE_COLOURS`` in turn."""
    if channels == 1:
        return [GREY]
    if channels == 2:
        return [GREEN, MAGENTA]
    return [MORE_COLOURS[i % len(MORE_COLOURS)] for i in range(channels)]


def default_views(limits: list[tuple[float, float]], names: tuple[str, ...] = ()) -> tuple[ChannelView, ...]:
    """The views a newly seen image starts with, from its automatic ``limits`` per channel
    (``channel_statistics``)."""
    colours = default_colours(len(limits))
    views = []
    for c, (low, high) in enumerate(limits):
        name = names[c] if c < len(names) and names[c] else f"channel {c + 1}"
        views.append(ChannelView(name, colours[c], low, high, True, (low, high)))
    return tuple(views)


def carried_views(
    previous: tuple[ChannelView, ...], limits: list[tuple[float, float]], names: tuple[str, ...] = ()
) -> tuple[ChannelView, ...]:
    """The views of the next image: an image of as many channels keeps the colours and
    visibility chosen, and the limits where the user set them (the rest automatic again);
    another kind of image starts afresh (``default_views``)."""
    fresh = default_views(limits, names)
    if len(previous) != len(fresh):
        return fresh
    kept = []
    for old, new in zip(previous, fresh):
        low, high = (old.low, old.high) if old.adjusted else (new.low, new.high)
        kept.append(replace(new, colour=old.colour, visible=old.visible, low=low, high=high))
    return tuple(kept)


def composite(raw: np.ndarray, views: tuple[ChannelView, ...]) -> np.ndarray:
    """``raw`` (``H x W`` or ``H x W x C``, any dtype) as an ``H x W x 3`` uint8 picture: each
    visible channel scaled from its limits to 0..255, tinted by its colour, the tints added
    (saturating). A grey image shown grey and an 8-bit RGB image with its automatic views come
    back as they are."""
    height, width = raw.shape[:2]
    planes = raw[..., None] if raw.ndim == 2 else raw
    sums = [np.zeros((height, width), np.uint16) for _ in range(3)]  # contiguous: adds 3x faster
    for c, view in enumerate(views):
        if not view.visible:
            continue
        level = _scaled(planes[..., c], view.low, view.high)
        for total, strength in zip(sums, view.colour):
            if strength == 255:
                total += level
            elif strength:
                total += (level.astype(np.uint16) * strength + 127) // 255
    out = np.empty((height, width, 3), np.uint8)
    for k, total in enumerate(sums):
        np.minimum(total, 255, out=total)
        out[..., k] = total
    return out


def _scaled(plane: np.ndarray, low: float, high: float) -> np.ndarray:
    """One channel's values from ``low..high`` to 0..255 (uint8); a table lookup for 8- and
    16-bit channels, arithmetic for float."""
    span = max(high - low, 1e-12)
    if plane.dtype in (np.uint8, np.uint16):
        levels = np.arange(256 if plane.dtype == np.uint8 else 65536, dtype=np.float32)
        table = np.clip((levels - low) * (255.0 / span) + 0.5, 0, 255).astype(np.uint8)
        return table[plane]
    values = np.nan_to_num(plane.astype(np.float32), nan=low, posinf=high, neginf=low)
    return np.clip((values - low) * (255.0 / span) + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Histogram:
    """Counts of one channel's values in ``HISTOGRAM_BINS`` bins from ``start`` to ``stop``."""

    counts: np.ndarray
    start: float
    stop: float
    constant: float | None = None
    """The one value of a channel that holds no other (then it is shown at half its colour)."""


def channel_statistics(
    raw: np.ndarray, nodata: np.ndarray | None = None
) -> tuple[list[tuple[float, float]], tuple[Histogram, ...]]:
    """Per channel, from an evenly strided sample (a huge image costs little): the automatic
    contrast limits (8-bit: 0..255, so colours stay as they are; else the 0.1 and 99.9
    percentiles of ``model.storage.intensity``, so a dim 16-bit stain is seen) and a histogram over
    the channel's range, both over the pixels that hold data (``nodata`` left out). 8- and
    16-bit channels are counted once for both."""
    channels = channel_count(raw)
    flat = raw.reshape(-1, channels)
    if nodata is not None and not nodata.all():  # the fill value is no intensity of the image
        flat = flat[~nodata.ravel()]
    step = max(1, flat.shape[0] // _SAMPLE_PIXELS)
    limits, out = [], []
    for c in range(channels):
        sample = flat[::step, c]
        if sample.dtype in (np.uint8, np.uint16):
            counts = np.bincount(sample, minlength=256)
            present = np.flatnonzero(counts)
            start, stop = (0, 255) if raw.dtype == np.uint8 else (int(present[0]), int(present[-1]))
            constant = float(start) if start == stop and raw.dtype != np.uint8 else None
            limits.append(
                (0.0, 255.0)
                if raw.dtype == np.uint8
                else _constant_limits(constant) or limits_from_counts(counts)
            )
            edges = np.linspace(start, stop + 1, HISTOGRAM_BINS + 1).astype(np.int64)
            binned = np.add.reduceat(counts[: stop + 1], np.minimum(edges[:-1], stop))
            out.append(Histogram(binned, float(start), float(max(stop, start + 1)), constant))
            continue
        finite = sample[np.isfinite(sample)].astype(np.float64)
        start, stop = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        constant = start if finite.size and stop == start else None
        limits.append(_constant_limits(constant) or channel_limits(sample))
        stop = stop if stop > start else start + 1.0
        counts, _ = np.histogram(finite, bins=HISTOGRAM_BINS, range=(start, stop))
        out.append(Histogram(counts, start, stop, constant))
    return limits, tuple(out)


def _constant_limits(value: float | None) -> tuple[float, float] | None:
    """Limits that show a constant channel at half its colour (limits of one unit above the
    value showed it black, as if it held nothing)."""
    return None if value is None else (value - 1.0, value + 1.0)
