"""Labelled images for training, held in memory or read from disk as needed.

Both kinds answer the same questions (``TrainingImage``): where their labelled pixels of each
class lie (``ClassSampling``, a few thousand positions per class, not every pixel), a square cut
of image and mask, and the whole image for validation. ``StoredImage`` keeps only that summary
and decodes through a ``DecodedCache`` bounded by a memory budget, so a project of thousands of
images trains in the memory of a few hundred.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from model.classes import IGNORE_INDEX
from model.errors import DatasetError, SegGUIError
from model.storage.image_cache import DecodedCache
from model.storage.imageio import check_mask, image_header, read_image, read_mask
from model.storage.intensity import (
    IntensityRange,
    channel_problem,
    intensity_range,
    non_finite_pixels,
    select_channels,
    to_channels,
)
from model.storage.nodata import nodata_pixels

log = logging.getLogger(__name__)

POSITIONS_PER_CLASS = 2048
"""Labelled positions kept per class and image to centre crops on (all of them if fewer)."""
IMAGES_IN_FLIGHT = 64
"""Most images one stretch of training crops is drawn from (fewer if the cache holds fewer)."""
BYTES_PER_PIXEL_ESTIMATE = 4
"""Decoded image and mask per pixel, for planning the cache (8-bit colour: 3 + 1)."""
BYTES_PER_IMAGE_ESTIMATE = 1024
"""And per image (the intensity limits kept with it, rounding)."""
STATS_IMAGES = 64
"""Images (evenly spread) that the input mean and standard deviation are measured on."""


@dataclass(frozen=True)
class ClassSampling:
    """Where an image's labelled pixels lie: counts per class and a fixed sample of positions."""

    shape: tuple[int, int]
    counts: dict[int, int]
    positions: dict[int, np.ndarray]
    """Flat pixel positions (int32) per class: all of them, or ``POSITIONS_PER_CLASS`` drawn
    uniformly with a fixed seed (the same mask always gives the same sample)."""

    @classmethod
    def of(cls, mask: np.ndarray) -> ClassSampling:
        flat = mask.ravel()
        counts = np.bincount(flat, minlength=256)
        rng = np.random.default_rng(0)
        positions: dict[int, np.ndarray] = {}
        for value in np.flatnonzero(counts).tolist():
            if value == IGNORE_INDEX:
                continue
            pixels = np.flatnonzero(flat == value)
            if pixels.size > POSITIONS_PER_CLASS:
                pixels = np.sort(pixels[rng.choice(pixels.size, POSITIONS_PER_CLASS, replace=False)])
            positions[value] = pixels.astype(np.int32)
        kept = {int(v): int(counts[v]) for v in positions}
        return cls((int(mask.shape[0]), int(mask.shape[1])), kept, positions)

    @property
    def labelled_pixels(self) -> int:
        return sum(self.counts.values())


class TrainingImage(Protocol):
    """What training and validation need of one labelled image."""

    path: Path | None

    @property
    def sampling(self) -> ClassSampling: ...

    @property
    def channels(self) -> int: ...

    def cut(self, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A ``size`` square at (top, left) as float32 planes in [0, 1] and a uint8 mask;
        outside the image: planes 0, mask ``IGNORE_INDEX``. May raise ``SegGUIError``."""
        ...

    def planes(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole image as ``C x H x W`` float32 in [0, 1], and its mask."""
        ...

    def labels(self) -> np.ndarray:
        """The mask alone (no image converted). May raise ``SegGUIError``."""
        ...

    def planes_in(self, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        """Planes of a window of the image only (a large image is never converted whole)."""
        ...


def cut_square(
    planes: np.ndarray, mask: np.ndarray, top: int, left: int, size: int, convert=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``size`` square of ``planes`` (``C x H x W``, or raw ``H x W[x3]`` turned into planes by
    ``convert``) and ``mask`` at (top, left), padded with 0 and ``IGNORE_INDEX``."""
    height, width = mask.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size, height), min(left + size, width)
    part = planes[..., y0:y1, x0:x1] if convert is None else convert(planes[y0:y1, x0:x1])
    out_image = torch.zeros((part.shape[0], size, size), dtype=torch.float32)
    out_mask = torch.full((size, size), IGNORE_INDEX, dtype=torch.uint8)
    if y1 > y0 and x1 > x0:
        out_image[:, y0 - top : y1 - top, x0 - left : x1 - left] = torch.from_numpy(part)
        out_mask[y0 - top : y1 - top, x0 - left : x1 - left] = torch.from_numpy(mask[y0:y1, x0:x1])
    return out_image, out_mask


_reported_non_finite: set[Path] = set()


def warn_non_finite(path: Path | None, raw: np.ndarray) -> None:
    """Say once per file and process how many pixels of a float image are NaN or infinite."""
    bad = non_finite_pixels(raw)
    if bad and path not in _reported_non_finite:
        _reported_non_finite.add(path)  # type: ignore[arg-type]
        log.warning(
            "%s: %d pixels are NaN or infinite; they are read as the darkest (NaN, -inf) or "
            "brightest (+inf) value",
            path,
            bad,
        )


@dataclass(frozen=True, eq=False)
class StoredImage:
    """A labelled image on disk, decoded through ``cache`` when its pixels are needed.

    ``override`` is a mask newer than the file (strokes not yet saved), used instead of it.
    """

    path: Path
    mask_file: Path | None
    override: np.ndarray | None
    channels: int
    num_classes: int
    ignore_value: int | None
    sampling: ClassSampling
    cache: DecodedCache
    axes: str | None = None
    picked: tuple[int, ...] = ()
    """The channels the network reads (``TrainSettings.channels``); only they are kept."""

    @property
    def planned_bytes(self) -> int:
        height, width = self.sampling.shape
        return height * width * BYTES_PER_PIXEL_ESTIMATE + BYTES_PER_IMAGE_ESTIMATE

    def decode(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw image, mask and intensity limits, from the cache or the files."""
        return self.cache.get(self.path, self._load)  # type: ignore[return-value]

    def _load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raw = select_channels(read_image(self.path, self.axes), self.picked)
        if raw.shape[:2] != self.sampling.shape:
            raise DatasetError(f"{self.path}: the image changed size while training; it is left out")
        warn_non_finite(self.path, raw)
        if self.override is not None:
            mask = self.override
        else:
            assert self.mask_file is not None
            mask = read_mask(
                self.mask_file,
                shape=raw.shape[:2],
                num_classes=self.num_classes,
                ignore_value=self.ignore_value,
            )
        nodata = nodata_pixels(self.path, raw)
        if nodata is not None:  # never trained on, whatever a mask says there
            mask = np.where(nodata, np.uint8(IGNORE_INDEX), mask)
        limits = intensity_range(raw, nodata)
        return raw, mask, limits.as_array()

    def _converter(self, limits: np.ndarray):
        unit = IntensityRange.of(limits)
        return lambda raw: to_channels(unit.to_unit(raw), self.channels)

    def cut(self, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        raw, mask, limits = self.decode()
        return cut_square(raw, mask, top, left, size, self._converter(limits))

    def planes(self) -> tuple[np.ndarray, np.ndarray]:
        raw, mask, limits = self.decode()
        return self._converter(limits)(raw), mask

    def labels(self) -> np.ndarray:
        return self.decode()[1]

    def planes_in(self, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        raw, _, limits = self.decode()
        return self._converter(limits)(raw[top:bottom, left:right])


def index_labelled(
    samples: Sequence[object],
    in_channels: int,
    num_classes: int,
    *,
    cache: DecodedCache,
    overrides: Mapping[Path, np.ndarray] | None = None,
    ignore_value: int | None = None,
    picked: tuple[int, ...] = (),
) -> tuple[list[StoredImage], list[str]]:
    """Every sample (``model.training.data.Sample``) whose mask has a labelled pixel, as a ``StoredImage``.

    Reads each mask and the image's header only (several at a time); images are decoded when
    training needs them. Returns the images in the samples' order and one message per file
    that cannot be used (reported by the caller). ``overrides`` maps image paths to masks newer
    than the files; ``ignore_value`` in the mask files reads as not labelled.
    """
    overrides = overrides or {}

    def index(sample) -> StoredImage | str | None:
        override = overrides.get(sample.image)
        if sample.problem is not None:
            return f"{sample.image}: {sample.problem}"
        if sample.mask is None and override is None:
            return None
        try:
            width, height, channels = image_header(sample.image, sample.axes)  # one read of the header
            problem = channel_problem(channels, picked, in_channels)
            if problem is not None:
                return f"{sample.image}: {problem}; every image of a model needs the same channels"
            if override is not None:
                check_mask(override, (height, width), num_classes, sample.image)
                mask = override
            else:
                mask = read_mask(
                    sample.mask, shape=(height, width), num_classes=num_classes, ignore_value=ignore_value
                )
        except SegGUIError as exc:
            return str(exc)
        sampling = ClassSampling.of(mask)
        if not sampling.counts:
            return None
        return StoredImage(
            sample.image,
            sample.mask,
            override,
            in_channels,
            num_classes,
            ignore_value,
            sampling,
            cache,
            sample.axes,
            picked,
        )

    with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
        results = list(pool.map(index, samples))
    images = [r for r in results if isinstance(r, StoredImage)]
    problems = [r for r in results if isinstance(r, str)]
    return images, problems


def load_training_set(
    samples: Sequence[object],
    in_channels: int,
    num_classes: int,
    *,
    cache: DecodedCache,
    overrides: Mapping[Path, np.ndarray] | None = None,
    ignore_value: int | None = None,
    picked: tuple[int, ...] = (),
) -> tuple[list[StoredImage], list[str]]:
    """``index_labelled``, then, when every image fits in ``cache``, decode them all now (as
    training would soon): a corrupt image is named before training starts, not during it."""
    images, problems = index_labelled(
        samples,
        in_channels,
        num_classes,
        cache=cache,
        overrides=overrides,
        ignore_value=ignore_value,
        picked=picked,
    )
    if sum(image.planned_bytes for image in images) > cache.budget:
        return images, problems

    def readable(image: StoredImage) -> str | None:
        try:
            image.decode()
        except SegGUIError as exc:
            return str(exc)
        return None

    with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
        failures = list(pool.map(readable, images))
    problems += [failure for failure in failures if failure is not None]
    return [image for image, failure in zip(images, failures, strict=True) if failure is None], problems


def images_in_flight(images: Sequence[TrainingImage]) -> int:
    """How many images a stretch of crops may come from: ``IMAGES_IN_FLIGHT``, or as many as
    the cache of stored images holds (at least 2)."""
    budgets = [
        (image.cache.budget, image.planned_bytes) for image in images if isinstance(image, StoredImage)
    ]
    if not budgets:
        return IMAGES_IN_FLIGHT
    budget = budgets[0][0]
    largest = max(size for _, size in budgets)
    return max(2, min(IMAGES_IN_FLIGHT, budget // max(largest, 1)))


def channel_stats(images: Sequence[TrainingImage]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation (for input standardisation), measured on up to
    ``STATS_IMAGES`` images spread evenly over ``images``."""
    picks = np.unique(np.linspace(0, len(images) - 1, min(len(images), STATS_IMAGES)).round().astype(int))
    channels = images[0].channels
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    count = 0
    for index in picks.tolist():
        try:
            planes, _ = images[index].planes()
        except SegGUIError as exc:
            log.warning("%s (left out of the input statistics)", exc)
            continue
        flat = planes.reshape(channels, -1).astype(np.float64)
        total += flat.sum(axis=1)
        total_sq += np.square(flat).sum(axis=1)
        count += flat.shape[1]
    if count == 0:
        raise DatasetError("none of the training images can be read; see the messages above")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.where(std < 1e-3, 1.0, std)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
