"""Image/mask pairs on disk, loading them for training, and the augmented crop dataset."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import DatasetError, SegGUIError
from model.storage.image_cache import DecodedCache
from model.storage.imageio import list_images, read_mask
from model.storage.mask_names import MaskNames
from model.storage.tiff_files import expand_stacks
from model.training.crop_plan import CENTRED_SHARE, CropPlan, CropSampler, order_for_locality
from model.training.training_images import (
    ClassSampling,
    StoredImage,
    TrainingImage,
    channel_stats,
    cut_square,
    images_in_flight,
    index_labelled,
)

__all__ = [
    "CropDataset",
    "LabelledImage",
    "Sample",
    "StoredImage",
    "channel_stats",
    "check_class_values",
    "find_samples",
    "index_labelled",
    "load_labelled",
    "mask_values",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One image file and the mask file that belongs to it (``None`` if there is none yet)."""

    image: Path
    mask: Path | None
    problem: str | None = None
    """Why this image cannot be used (its mask name collides with another image's), if so."""
    axes: str | None = None
    """The folder's axes for TIFFs without axes in their metadata (``model.storage.tiff_files``)."""


@dataclass(frozen=True)
class LabelledImage:
    """A decoded image (``C x H x W`` float32 in [0, 1]) and its mask (``H x W`` uint8), held in
    memory (a ``model.training.training_images.TrainingImage``)."""

    path: Path | None
    image: np.ndarray
    mask: np.ndarray

    @property
    def channels(self) -> int:
        return int(self.image.shape[0])

    @cached_property
    def sampling(self) -> ClassSampling:
        return ClassSampling.of(self.mask)

    def cut(self, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return cut_square(self.image, self.mask, top, left, size)

    def planes(self) -> tuple[np.ndarray, np.ndarray]:
        return self.image, self.mask

    def labels(self) -> np.ndarray:
        return self.mask

    def planes_in(self, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        return self.image[:, top:bottom, left:right]


def find_samples(
    image_dir: str | os.PathLike[str], mask_dir: str | os.PathLike[str], axes: str | None = None
) -> list[Sample]:
    """Every image in ``image_dir`` with its mask from ``mask_dir``, if any (named by
    ``model.storage.mask_names``: the stem, or the whole name where two images share a stem); ``axes``
    is the folder's answer for TIFFs without axes in their metadata."""
    image_dir, mask_dir = Path(image_dir), Path(mask_dir)
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir}: image folder not found")
    left_out: list[str] = []
    images = expand_stacks(list_images(image_dir, left_out), axes)
    if not images:
        raise DatasetError(f"{image_dir}: no images found (looked for PNG, JPEG, TIFF, BMP, GIF, WebP)")
    names = MaskNames(images)
    for message in [*left_out, *names.orphaned_masks(mask_dir)]:
        log.warning("%s", message)
    samples = []
    for path in images:
        mask = names.mask_path(path, mask_dir) if mask_dir.is_dir() else None
        problem = names.refused.get(path)
        if mask is not None and problem is None and mask.exists() and not mask.is_file():
            problem = f"its mask {mask} is a folder or other non-file, not a mask image"
        usable = mask is not None and (mask.is_file() or problem is not None)
        samples.append(Sample(path, mask if usable else None, problem, axes))
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
    """Decode every sample that has a mask with at least one labelled pixel, all into memory
    (``index_labelled`` reads them as needed instead: use it for folders of any size).

    ``overrides`` maps image paths to masks newer than the files (strokes not yet saved); they
    are used instead of the mask files. Returns the loaded images and one message per file that
    was skipped because it could not be used (corrupt image, mask of the wrong size, unknown class
    values). Images without a mask, or whose mask is all "not labelled", are skipped silently:
    they simply have nothing to teach.
    """
    stored, problems = index_labelled(
        samples,
        in_channels,
        num_classes,
        cache=DecodedCache(0),
        overrides=overrides,
        ignore_value=ignore_value,
    )
    loaded: list[LabelledImage] = []
    for item in stored:
        try:
            planes, mask = item.planes()
        except SegGUIError as exc:
            problems.append(str(exc))  # reported by the caller, once
            continue
        loaded.append(LabelledImage(item.path, planes, mask))
    return loaded, problems


class RandomRot90(v2.Transform):
    """Rotate image and mask together by a random multiple of 90 degrees."""

    def make_params(self, flat_inputs: list[object]) -> dict[str, int]:
        return {"k": int(torch.randint(4, ()))}

    def transform(self, inpt: torch.Tensor, params: dict[str, int]) -> torch.Tensor:
        if params["k"] == 0:
            return inpt
        rotated = torch.rot90(inpt, params["k"], dims=(-2, -1))
        return tv_tensors.wrap(rotated, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else rotated


class IntensityJitter(v2.Transform):
    """Brightness and contrast each scaled by a random factor of ``1 +- strength``, in random
    order, for images of any channel count (torchvision's ``ColorJitter`` takes 1 or 3): the
    contrast blends each pixel with the image's mean grey, as ``ColorJitter`` does."""

    _transformed_types = (tv_tensors.Image,)

    def __init__(self, strength: float = 0.25) -> None:
        super().__init__()
        self.strength = strength

    def make_params(self, flat_inputs: list[object]) -> dict[str, object]:
        low, high = 1.0 - self.strength, 1.0 + self.strength
        factors = torch.empty(2).uniform_(low, high)
        return {
            "brightness": float(factors[0]),
            "contrast": float(factors[1]),
            "first": int(torch.randint(2, ())),
        }

    def transform(self, inpt: torch.Tensor, params: dict[str, object]) -> torch.Tensor:
        image = inpt.as_subclass(torch.Tensor)
        for step in (0, 1) if params["first"] == 0 else (1, 0):
            if step == 0:
                image = (image * params["brightness"]).clamp_(0.0, 1.0)
            else:
                image = (image * params["contrast"] + (1.0 - params["contrast"]) * _mean_grey(image)).clamp_(
                    0, 1
                )
        return tv_tensors.wrap(image, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else image


_LUMINANCE = torch.tensor([0.299, 0.587, 0.114])


def _mean_grey(image: torch.Tensor) -> torch.Tensor:
    """The mean grey of a ``C x H x W`` image: of its luminance for colour, else of its channels."""
    if image.shape[-3] == 3:
        return (image * _LUMINANCE.to(image.dtype)[:, None, None]).sum(-3).mean()
    return image.mean()


def build_augmentation(crop_size: int, augment: bool) -> v2.Transform:
    """Joint image/mask transforms applied after the (scaled) crop is cut out."""
    steps: list[v2.Transform] = [v2.Resize((crop_size, crop_size), antialias=True)]
    if augment:
        steps += [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            RandomRot90(),
            IntensityJitter(0.25),
        ]
    return v2.Compose(steps)


class CropDataset(torch.utils.data.Dataset):
    """Random crops of labelled images with joint augmentation; one item is one crop.

    Where the crops lie is drawn an epoch (``epoch_length`` items) at a time by
    ``model.training.crop_plan`` from ``seed``: the same images and seed give the same crops, whether the
    images are held in memory or read from disk. Each crop is cut at its drawn scale, padded with
    "not labelled" where it leaves the image, resized to ``crop_size``, augmented (seeded by the
    crop's draw) and standardised with ``mean`` and ``std``. An image that cannot be read any
    more is reported through ``on_problem`` once and left out; its crops come from the next one.
    """

    def __init__(
        self,
        images: Sequence[TrainingImage],
        *,
        crop_size: int,
        length: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        augment: bool = True,
        scale_range: tuple[float, float] = (1.0, 1.0),
        centred_share: float = CENTRED_SHARE,
        epoch_length: int | None = None,
        seed: int = 0,
        in_flight: int | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        if not images:
            raise DatasetError("no labelled images to train on")
        self.images = list(images)
        self.length = length
        self.epoch_length = max(1, epoch_length or length)
        self.seed = seed
        self.in_flight = in_flight or images_in_flight(self.images)
        self.on_problem = on_problem
        self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.transform = build_augmentation(crop_size, augment)
        self.sampler = CropSampler(
            [item.sampling for item in self.images],
            crop_size=crop_size,
            scale_range=scale_range if augment else (1.0, 1.0),
            centred_share=centred_share,
        )
        self.class_counts = self.sampler.class_counts
        """Labelled pixels per class value over all the images."""
        self._plan: tuple[int, CropPlan] | None = None
        self._left_out: set[int] = set()

    def __len__(self) -> int:
        return self.length

    def plan(self, epoch: int) -> CropPlan:
        """The crops of ``epoch`` in the order they are served."""
        if self._plan is None or self._plan[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            drawn = self.sampler.draw(self.epoch_length, rng, first_draw=epoch * self.epoch_length)
            self._plan = (epoch, order_for_locality(drawn, self.in_flight, rng))
        return self._plan[1]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, offset = divmod(index, self.epoch_length)
        plan = self.plan(epoch)
        which, region = int(plan.image[offset]), int(plan.region[offset])
        image, mask = self._cut(which, int(plan.top[offset]), int(plan.left[offset]), region)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(
                int(np.random.SeedSequence([self.seed, int(plan.draw[offset])]).generate_state(1)[0])
            )
            image_t, mask_t = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask))
        image_t = (image_t.as_subclass(torch.Tensor) - self.mean) / self.std
        return image_t, mask_t.as_subclass(torch.Tensor).long()

    def _cut(self, which: int, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The planned cut, or one as large from the next image still readable."""
        for step in range(len(self.images)):
            candidate = (which + step) % len(self.images)
            if candidate in self._left_out:
                continue
            item = self.images[candidate]
            if step:
                height, width = item.sampling.shape
                top, left = min(top, max(0, height - size)), min(left, max(0, width - size))
            try:
                return item.cut(top, left, size)
            except SegGUIError as exc:
                self._leave_out(candidate, exc)
        raise DatasetError("none of the training images can be read any more; see the messages above")

    def _leave_out(self, which: int, exc: SegGUIError) -> None:
        self._left_out.add(which)
        message = f"{exc} (left out of this training run)"
        if self.on_problem is not None:
            self.on_problem(message)
        else:
            log.warning("%s", message)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["on_problem"] = None  # a worker process logs instead
        return state
