"""A U-Net decoder over a timm encoder (ImageNet-pretrained or not), for any input size."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from model.networks.config import UNetConfig


def _conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)
    )


class DecoderBlock(nn.Module):
    """Nearest-neighbour 2x up-sampling, the encoder's skip features (if any), two 3x3 convs."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(_conv_bn_relu(in_ch + skip_ch, out_ch), _conv_bn_relu(out_ch, out_ch))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


def create_encoder(config: UNetConfig) -> nn.Module:
    """The timm feature extractor of ``config.encoder`` with random weights, taking
    ``config.in_channels`` channels."""
    import timm  # imported here: a scratch U-Net never needs it

    info = config.encoder_info
    assert info is not None
    return timm.create_model(
        info.timm_name, features_only=True, pretrained=False, in_chans=config.in_channels
    )


class EncoderUNet(nn.Module):
    """U-Net with a timm encoder; returns ``N x num_classes x H x W`` logits for any ``H x W``.

    Inputs whose sides are not multiples of the encoder's stride are padded (replicating the
    border) inside ``forward`` and the logits cropped back, so callers and exported graphs take
    any size. The encoder's BatchNorm statistics stay frozen in training (the ImageNet ones are
    better than what batches of 2-8 crops could estimate); its weights are fine-tuned.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        info = config.encoder_info
        if info is None:
            raise ValueError("EncoderUNet needs a config with an encoder")
        self.config = config
        self.encoder = create_encoder(config)
        channels = self.encoder.feature_info.channels()
        reductions = self.encoder.feature_info.reduction()
        skips = dict(zip(reductions[:-1], channels[:-1]))
        blocks: list[DecoderBlock] = []
        self._skip_strides: list[int] = []
        in_ch, stride = channels[-1], reductions[-1]
        for out_ch in info.decoder_channels:
            stride //= 2
            if stride < info.output_stride:
                break
            blocks.append(DecoderBlock(in_ch, skips.get(stride, 0), out_ch))
            self._skip_strides.append(stride)
            in_ch = out_ch
        self._reductions = list(reductions)
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(in_ch, config.num_classes, kernel_size=1)
        self.stride = info.stride

    def train(self, mode: bool = True) -> EncoderUNet:
        super().train(mode)
        for module in self.encoder.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        pad_h = (self.stride - height % self.stride) % self.stride
        pad_w = (self.stride - width % self.stride) % self.stride
        padded = F.pad(x, [0, pad_w, 0, pad_h], mode="replicate")
        features = dict(zip(self._reductions, self.encoder(padded)))
        y = features[self._reductions[-1]]
        for block, stride in zip(self.decoder, self._skip_strides):
            y = block(y, features.get(stride))
        logits = self.head(y)
        if logits.shape[-2:] != padded.shape[-2:]:
            logits = F.interpolate(logits, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return logits[..., :height, :width]

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The pretrained part's parameters (fine-tuned at a lower learning rate)."""
        return list(self.encoder.parameters())
