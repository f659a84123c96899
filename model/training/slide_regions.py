"""Training on a slide: the labelled parts of a slide as training images of modest size.

A slide's mask (``model.storage.chunked_mask.ChunkedMask``) says which chunks hold labels; each
square ``region`` of the slide that holds any becomes a ``SlideRegion``, a
``model.training.training_images.TrainingImage`` like any other, so crop sampling, validation
windows and the input statistics work on a slide as on a folder of images. Pixels are read
from the slide as training asks for them, through the reader's bounded tile cache: training
reads the tiles around labelled pixels, never the slide. Crops near a region's edge take their
context from the slide beyond it (and its labels, where there are any).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from model.errors import SegGUIError
from model.storage.chunked_mask import ChunkedMask, ChunkedMaskError, holds_labels, slide_mask_folder
from model.storage.intensity import IntensityRange, channel_problem, select_channels, to_channels
from model.storage.mask_names import MaskNames
from model.storage.slide import SlideReader, opens_as_slide
from model.training.training_images import ClassSampling

DEFAULT_REGION = 2048


@dataclass(frozen=True, eq=False)
class SlideRegion:
    """The square of ``reader``'s level 0 at (top, left), with ``mask``'s labels for it."""

    reader: SlideReader
    mask: ChunkedMask
    top: int
    left: int
    height: int
    width: int
    channels: int
    intensity: IntensityRange
    """The slide's one range: every region is normalised alike."""
    picked: tuple[int, ...] = ()
    path: Path | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "path", self.reader.path.with_name(f"{self.reader.path.name}@{self.top},{self.left}")
        )

    @cached_property
    def sampling(self) -> ClassSampling:
        return ClassSampling.of(self.labels())

    def _planes(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        """Planes (``C x h x w`` float32 in [0, 1]) of the slide at region-relative (top, left)."""
        raw = self.reader.read_region(0, self.top + top, self.left + left, height, width)
        return to_channels(self.intensity.to_unit(select_channels(raw, self.picked)), self.channels)

    def cut(self, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        planes = self._planes(top, left, size, size)
        labels = self.mask.read(self.top + top, self.left + left, size, size)
        return torch.from_numpy(np.ascontiguousarray(planes)), torch.from_numpy(labels)

    def planes(self) -> tuple[np.ndarray, np.ndarray]:
        return self._planes(0, 0, self.height, self.width), self.labels()

    def labels(self) -> np.ndarray:
        return self.mask.read(self.top, self.left, self.height, self.width)

    def planes_in(self, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        return self._planes(top, left, bottom - top, right - left)


def slide_regions(
    reader: SlideReader,
    mask: ChunkedMask,
    channels: int,
    intensity: IntensityRange,
    *,
    region: int = DEFAULT_REGION,
    picked: tuple[int, ...] = (),
) -> list[SlideRegion]:
    """One ``SlideRegion`` per ``region`` square of the slide holding labelled chunks, in
    reading order. ``region`` must be a multiple of the mask's chunk size."""
    if mask.shape != reader.shape:
        raise ValueError(
            f"{mask.folder}: the mask is {mask.shape[1]} x {mask.shape[0]}, the slide {reader.path.name} "
            f"{reader.shape[1]} x {reader.shape[0]}; they must be the same size"
        )
    if region % mask.chunk:
        raise ValueError(f"the region ({region}) must be a multiple of the mask's chunk size {mask.chunk}")
    per_region = region // mask.chunk
    starts = sorted(
        {(cy // per_region * region, cx // per_region * region) for cy, cx in mask.stored_chunks()}
    )
    height, width = reader.shape
    regions = [
        SlideRegion(
            reader, mask, y, x, min(region, height - y), min(region, width - x), channels, intensity, picked
        )
        for y, x in starts
    ]
    return [item for item in regions if item.sampling.counts]


def split_slides(
    samples: Sequence, mask_dir: Path, open_masks: Mapping[Path, ChunkedMask] | None = None
) -> tuple[list, list]:
    """The samples (``model.training.data.Sample``) as images and slides: a sample without a
    mask file whose image opens as a slide (``opens_as_slide``) and whose chunked mask folder
    (its mask name with ``SLIDE_MASK_SUFFIX``) holds labels, or is one of ``open_masks`` (the
    window's, whose strokes may not be on disk yet), is a slide, that folder its mask."""
    names = MaskNames([sample.image for sample in samples])
    open_masks = open_masks or {}
    images, slides = [], []
    for sample in samples:
        if sample.mask is None and sample.problem is None:
            folder = slide_mask_folder(names.mask_path(sample.image, mask_dir))
            try:
                labelled = folder in open_masks or holds_labels(folder)
            except ChunkedMaskError:
                labelled = True  # named by slides_to_train_on, which cannot open it

            if labelled and opens_as_slide(sample.image):
                slides.append(replace(sample, mask=folder))
                continue
        images.append(sample)
    return images, slides


def slides_to_train_on(
    slides: Sequence,
    in_channels: int,
    *,
    open_masks: Mapping[Path, ChunkedMask] | None = None,
    picked: tuple[int, ...] = (),
    region: int = DEFAULT_REGION,
) -> tuple[list[SlideRegion], list[str]]:
    """The labelled regions of each slide of ``split_slides``, read through a reader of its own;
    a mask the caller has open (``open_masks``, by folder: the window's, with strokes not saved
    yet) is read as it is. Returns the regions and one message per slide that cannot be used."""
    from model.prediction.predict_slide import slide_intensity

    regions: list[SlideRegion] = []
    problems: list[str] = []
    for sample in slides:
        try:
            reader = SlideReader(sample.image)
            problem = channel_problem(reader.channels, picked, in_channels)
            if problem is not None:
                reader.close()
                problems.append(f"{sample.image}: {problem}; every image of a model needs the same channels")
                continue
            mask = (open_masks or {}).get(sample.mask) or ChunkedMask.open(sample.mask)
            try:
                mask.check_fits(reader.shape)
            except ChunkedMaskError as exc:
                problems.append(
                    f"{exc}; left out of training (opening the slide in the window sets it aside)"
                )
                reader.close()
                continue
            intensity = slide_intensity(reader, picked)
            regions += slide_regions(reader, mask, in_channels, intensity, region=region, picked=picked)
        except (SegGUIError, ValueError) as exc:
            problems.append(str(exc))
    return regions, problems
