"""Which network a new model gets, and how many channels it takes (from file headers only)."""

from __future__ import annotations

import logging

from model.errors import SegGUIError
from model.networks.checkpoint import Checkpoint
from model.networks.config import AUTO_PRESET, PRESETS, auto_choice
from model.storage.imageio import image_channels
from model.training.data import Sample

log = logging.getLogger(__name__)


def resolve_preset(name: str, samples: list[Sample], picked: tuple[int, ...] = ()) -> tuple[str, str]:
    """The network ``name`` stands for, and why: ``auto`` becomes ``lite0`` for colour images
    when its ImageNet weights are on this machine (installed package or cache), else ``fast``
    (grey images, and images of other channel counts, on which the ImageNet start is unmeasured)."""
    if name != AUTO_PRESET:
        return name, "chosen"
    return preset_for_channels(len(picked) or channels_for(samples))


def preset_for_channels(channels: int) -> tuple[str, str]:
    """``auto``'s choice for images of ``channels`` channels, and why (see ``resolve_preset``)."""
    choice = auto_choice(channels)
    if channels == 1:
        return choice, "grey images"
    if channels != 3:
        return choice, f"{channels}-channel images"
    from model.networks.weights import local_weights

    if local_weights(PRESETS[choice].encoder) is None:
        return "fast", "colour images, but no EfficientNet-Lite0 ImageNet weights on this machine"
    return choice, "colour images"


def model_channels(
    preset_name: str, init: Checkpoint | None, samples: list[Sample], picked: tuple[int, ...] = ()
) -> int:
    """The channels the network will take: the starting model's, else what the images have or
    the ``picked`` ones (``TrainSettings.channels``; 3 for one on a pretrained encoder: grey is
    repeated)."""
    if init is not None:
        return init.config.in_channels
    channels = len(picked) or channels_for(samples)
    if PRESETS[preset_name].encoder and channels == 1:
        return 3
    return channels


def channels_for(samples: list[Sample]) -> int:
    """The channels of the labelled images, from file headers only: the count of the first
    image of neither 1 nor 3 channels (a microscope's or satellite's), else 3 if any image is
    colour, else 1. Images that do not fit are refused one by one when the set loads."""
    colour = False
    for sample in samples:
        if sample.mask is not None:
            try:
                channels = image_channels(sample.image, sample.axes)
            except SegGUIError as exc:
                log.debug("channel check skipped: %s", exc)
                continue
            if channels not in (1, 3):
                return channels
            colour = colour or channels == 3
    return 3 if colour else 1
