"""Image/mask pairs on disk, loading them for training, and the augmented crop dataset."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import DatasetError, SegGUIError
from model.imageio import check_mask, list_images, read_image, read_mask
from model.intensity import image_to_input, non_finite_pixels
from model.mask_names import MaskNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One image file and the mask file that belongs to it (``None`` if there is none yet)."""

    image: Path
    mask: Path | None
    problem: str | None = None
    """Why this image cannot be used (its mask name collides with another image's), if so."""


@dataclass(frozen=True)
class LabelledImage:
    """A decoded image (``C x H x W`` float32 in [0, 1]) and its mask (``H x W`` uint8)."""

    path: Path
    image: np.ndarray
    mask: np.ndarray

    @property
    def labelled_pixels(self) -> int:
        return int((self.mask != IGNORE_INDEX).sum())


def find_samples(image_dir: str | os.PathLike[str], mask_dir: str | os.PathLike[str]) -> list[Sample]:
    """Every image in ``image_dir`` with its mask from ``mask_dir``, if any (named by
    ``model.mask_names``: the stem, or the whole name where two images share a stem)."""
    image_dir, mask_dir = Path(image_dir), Path(mask_dir)
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir}: image folder not found")
    images = list_images(image_dir)
    if not images:
        raise DatasetError(f"{image_dir}: no images found (looked for PNG, JPEG, TIFF, BMP, GIF, WebP)")
    names = MaskNames(images)
    for message in names.orphaned_masks(mask_dir):
        log.warning("%s", message)
    samples = []
    for path in images:
        mask = names.mask_path(path, mask_dir) if mask_dir.is_dir() else None
        problem = names.refused.get(path)
        samples.append(Sample(path, mask if mask is not None and mask.is_file() else None, problem))
    return samples


def mask_values(samples: list[Sample], ignore_value: int | None = None) -> dict[int, list[Path]]:
    """Every value the masks of ``samples`` hold ("not labelled" aside), with the files holding
    it; masks that cannot be read are left to ``load_labelled`` to report."""
    found: dict[int, list[Path]] = {}
    for sample in samples:
        if sample.mask is None or sample.problem is not None:
            continue
        try:
            values = np.unique(read_mask(sample.mask, ignore_value=ignore_value))
        except SegGUIError:
            continue
        for value in values[values != IGNORE_INDEX].tolist():
            found.setdefault(int(value), []).append(sample.mask)
    return dict(sorted(found.items()))


def check_class_values(values: dict[int, list[Path]], classes: Sequence[ClassInfo], mask_dir: Path) -> None:
    """Refuse, in one message for the whole folder, mask values that are not ``classes``."""
    beyond = {value: files for value, files in values.items() if value >= len(classes)}
    if not beyond:
        return
    files = {path for paths in beyond.values() for path in paths}
    listed = "; ".join(
        f"{value} in {len(paths)} file{'s' if len(paths) > 1 else ''} (e.g. {paths[0].name})"
        for value, paths in beyond.items()
    )
    hint = f"--ignore-value {max(beyond, key=lambda v: len(beyond[v]))} reads a void value as not labelled"
    raise DatasetError(
        f"{len(files)} masks in {mask_dir} hold values beyond the {len(classes)} declared classes "
        f"(0-{len(classes) - 1}): {listed}. Declare more classes, or {hint}"
    )


def load_labelled(
    samples: list[Sample],
    in_channels: int,
    num_classes: int,
    overrides: Mapping[Path, np.ndarray] | None = None,
    ignore_value: int | None = None,
) -> tuple[list[LabelledImage], list[str]]:
    """Decode every sample that has a mask with at least one labelled pixel.

    ``overrides`` maps image paths to masks newer than the files (strokes not yet saved); they
    are used instead of the mask files. Returns the loaded images and one message per file that
    was skipped because it could not be used (corrupt image, mask of the wrong size, unknown class
    values). Images without a mask, or whose mask is all "not labelled", are skipped silently:
    they simply have nothing to teach.
    """
    overrides = overrides or {}
    loaded: list[LabelledImage] = []
    problems: list[str] = []
    for sample in samples:
        override = overrides.get(sample.image)
        if sample.problem is not None:
            problems.append(f"{sample.image}: {sample.problem}")
            continue
        if sample.mask is None and override is None:
            continue
        try:
            raw = read_image(sample.image)
            if override is not None:
                check_mask(override, raw.shape[:2], num_classes, sample.image)
                mask = override
            else:
                assert sample.mask is not None
                mask = read_mask(
                    sample.mask, shape=raw.shape[:2], num_classes=num_classes, ignore_value=ignore_value
                )
        except SegGUIError as exc:
            problems.append(str(exc))  # reported by the caller, once
            continue
        if not (mask != IGNORE_INDEX).any():
            continue
        bad = non_finite_pixels(raw)
        if bad:
            log.warning(
                "%s: %d pixels are NaN or infinite; they are read as the darkest (NaN, -inf) or "
                "brightest (+inf) value",
                sample.image,
                bad,
            )
        loaded.append(LabelledImage(sample.image, image_to_input(raw, in_channels), mask))
    return loaded, problems


def channel_stats(images: list[LabelledImage]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation over all ``images`` (for input standardisation)."""
    channels = images[0].image.shape[0]
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    count = 0
    for item in images:
        flat = item.image.reshape(channels, -1).astype(np.float64)
        total += flat.sum(axis=1)
        total_sq += np.square(flat).sum(axis=1)
        count += flat.shape[1]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.where(std < 1e-3, 1.0, std)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


class RandomRot90(v2.Transform):
    """Rotate image and mask together by a random multiple of 90 degrees."""

    def make_params(self, flat_inputs: list[object]) -> dict[str, int]:
        return {"k": int(torch.randint(4, ()))}

    def transform(self, inpt: torch.Tensor, params: dict[str, int]) -> torch.Tensor:
        if params["k"] == 0:
            return inpt
        rotated = torch.rot90(inpt, params["k"], dims=(-2, -1))
        return tv_tensors.wrap(rotated, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else rotated


def build_augmentation(crop_size: int, augment: bool) -> v2.Transform:
    """Joint image/mask transforms applied after the (scaled) crop is cut out."""
    steps: list[v2.Transform] = [v2.Resize((crop_size, crop_size), antialias=True)]
    if augment:
        steps += [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            RandomRot90(),
            v2.ColorJitter(brightness=0.25, contrast=0.25),
        ]
    return v2.Compose(steps)


class CropDataset(torch.utils.data.Dataset):
    """Random crops of labelled images with joint augmentation; one item is one crop.

    Some crops are centred on a labelled pixel of a class drawn with weight ``share ** -0.5``
    (``share``: the class's part of all labelled pixels), so scribbles and rare classes (poles,
    signs, pedestrians in a street scene) are seen often; the others are placed uniformly. The
    sparser the labels, the more crops are centred (``labelled_center_prob`` for scribbles), and
    at least ``rare_center_prob`` even for dense masks. Each crop is cut at a random scale, padded
    with "not labelled" where it leaves the image, and resized to ``crop_size``. Images are
    standardised with ``mean`` and ``std``.
    """

    def __init__(
        self,
        images: list[LabelledImage],
        *,
        crop_size: int,
        length: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        augment: bool = True,
        scale_range: tuple[float, float] = (1.0, 1.0),
        labelled_center_prob: float = 0.8,
        rare_center_prob: float = 0.5,
    ) -> None:
        if not images:
            raise DatasetError("no labelled images to train on")
        self.images = images
        self.crop_size = crop_size
        self.length = length
        self.augment = augment
        self.scale_range = scale_range if augment else (1.0, 1.0)
        self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.transform = build_augmentation(crop_size, augment)
        self._class_pixels = [self._index_classes(item.mask) for item in images]
        counts: dict[int, int] = {}
        holders: dict[int, list[int]] = {}
        for index, classes in enumerate(self._class_pixels):
            for value, pixels in classes.items():
                counts[value] = counts.get(value, 0) + len(pixels)
                holders.setdefault(value, []).append(index)
        self.class_counts = counts
        """Labelled pixels per class value over all the images."""
        self._classes = sorted(counts)
        self._holders = [holders[c] for c in self._classes]
        total = sum(counts.values())
        class_weights = np.array([(counts[c] / total) ** -0.5 for c in self._classes])
        self._class_weights = torch.tensor(class_weights / class_weights.sum())
        labelled_share = total / sum(item.mask.size for item in images)
        self.center_prob = max(rare_center_prob, labelled_center_prob * (1.0 - labelled_share))
        weights = np.array([math.sqrt(max(item.labelled_pixels, 1)) for item in images])
        self._image_weights = torch.tensor(weights / weights.sum())

    @staticmethod
    def _index_classes(mask: np.ndarray) -> dict[int, np.ndarray]:
        flat = mask.ravel()
        return {int(c): np.flatnonzero(flat == c) for c in np.unique(flat) if c != IGNORE_INDEX}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        low, high = self.scale_range
        scale = math.exp(float(torch.empty(()).uniform_(math.log(low), math.log(high))))
        region = max(8, round(self.crop_size / scale))
        if float(torch.rand(())) < self.center_prob:
            pick = int(torch.multinomial(self._class_weights, 1))
            holders = self._holders[pick]
            which = holders[int(torch.randint(len(holders), ()))]
            item = self.images[which]
            pixels = self._class_pixels[which][self._classes[pick]]
            flat = int(pixels[int(torch.randint(len(pixels), ()))])
            cy, cx = divmod(flat, item.mask.shape[1])
            jitter = region // 4
            top = cy - region // 2 + int(torch.randint(-jitter, jitter + 1, ()))
            left = cx - region // 2 + int(torch.randint(-jitter, jitter + 1, ()))
        else:
            which = int(torch.multinomial(self._image_weights, 1))
            item = self.images[which]
            height, width = item.mask.shape
            top = int(torch.randint(min(0, height - region), max(1, height - region + 1), ()))
            left = int(torch.randint(min(0, width - region), max(1, width - region + 1), ()))
        image, mask = _cut(item.image, item.mask, top, left, region)
        image_t, mask_t = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask))
        image_t = (image_t.as_subclass(torch.Tensor) - self.mean) / self.std
        return image_t, mask_t.as_subclass(torch.Tensor).long()


def _cut(
    image: np.ndarray, mask: np.ndarray, top: int, left: int, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``size`` square at (top, left); outside the image: image 0, mask ``IGNORE_INDEX``."""
    channels, height, width = image.shape
    out_image = torch.zeros((channels, size, size), dtype=torch.float32)
    out_mask = torch.full((size, size), IGNORE_INDEX, dtype=torch.uint8)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size, height), min(left + size, width)
    if y1 > y0 and x1 > x0:
        out_image[:, y0 - top : y1 - top, x0 - left : x1 - left] = torch.from_numpy(image[:, y0:y1, x0:x1])
        out_mask[y0 - top : y1 - top, x0 - left : x1 - left] = torch.from_numpy(mask[y0:y1, x0:x1])
    return out_image, out_mask
