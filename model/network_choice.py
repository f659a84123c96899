"""Which network a new model gets, and how many channels it takes (from file headers only)."""

from __future__ import annotations

import logging

from model.checkpoint import Checkpoint
from model.config import AUTO_PRESET, PRESETS
from model.data import Sample
from model.errors import SegGUIError
from model.imageio import image_channels

log = logging.getLogger(__name__)


def resolve_preset(name: str, samples: list[Sample]) -> tuple[str, str]:
    """The network ``name`` stands for, and why: ``auto`` becomes ``lite0`` for colour images
    when its ImageNet weights are on this machine (installed package or cache), else ``fast``."""
    if name != AUTO_PRESET:
        return name, "chosen"
    if channels_for(samples) == 1:
        return "fast", "grey images"
    from model.weights import local_weights

    if local_weights(PRESETS["lite0"].encoder) is None:
        return "fast", "colour images, but no EfficientNet-Lite0 ImageNet weights on this machine"
    return "lite0", "colour images"


def model_channels(preset_name: str, init: Checkpoint | None, samples: list[Sample]) -> int:
    """The channels the network will take: the starting model's, 3 for a pretrained encoder
    (grey images are repeated), else what the images have."""
    if init is not None:
        return init.config.in_channels
    if PRESETS[preset_name].encoder:
        return 3
    return channels_for(samples)


def channels_for(samples: list[Sample]) -> int:
    """1 if every labelled image is greyscale, else 3 (from file headers only)."""
    for sample in samples:
        if sample.mask is not None:
            try:
                if image_channels(sample.image) == 3:
                    return 3
            except SegGUIError as exc:
                log.debug("channel check skipped: %s", exc)
    return 1
