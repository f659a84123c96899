"""A configurable U-Net and its named presets."""

from __future__ import annotations

from torch import nn

from model.networks.config import DEFAULT_PRESET, NORMS, PRESETS, UPSAMPLINGS, UNetConfig, preset
from model.networks.plain_unet import PlainUNet

__all__ = [
    "DEFAULT_PRESET",
    "NORMS",
    "PRESETS",
    "UPSAMPLINGS",
    "SegmentationNet",
    "UNet",
    "UNetConfig",
    "build_unet",
    "preset",
]


class UNet(PlainUNet):
    """The classic U-Net of ``config`` (``model.networks.plain_unet``), which it keeps."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__(
            config.in_channels,
            config.num_classes,
            config.depth,
            config.base_channels,
            config.norm,
            config.upsampling,
            config.dropout,
        )
        self.config = config


SegmentationNet = nn.Module
"""Either network: ``UNet`` or ``EncoderUNet``; both have ``config`` and return logits."""


def build_unet(config: UNetConfig) -> nn.Module:
    """A randomly initialised network for ``config``: the classic U-Net, or a U-Net decoder over
    ``config.encoder`` (ImageNet weights are loaded by ``model.networks.weights``, not here)."""
    if config.encoder:
        from model.networks.encoder_unet import EncoderUNet

        return EncoderUNet(config)
    return UNet(config)
