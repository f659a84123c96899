"""The classic U-Net, self-contained (torch only): SegGUI builds it through
``model.networks.unet.UNet``, and a bioimage.io package carries this very file as the
architecture of its ``pytorch_state_dict`` weights (``PackagedUNet``), so a consumer rebuilds
the network from its source and the weights without SegGUI."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels // 4) or 1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class DoubleConv(nn.Sequential):
    """(3x3 conv, norm, ReLU) twice."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, dropout: float = 0.0) -> None:
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=bias),
            _norm(norm, out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=bias),
            _norm(norm, out_ch),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class Down(nn.Sequential):
    """2x2 max-pool, then a double conv."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_ch, out_ch, norm, dropout))


class Up(nn.Module):
    """Up-sample, concatenate the skip connection, double conv."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, norm: str, mode: str) -> None:
        super().__init__()
        if mode == "transpose":
            self.up: nn.Module = nn.ConvTranspose2d(in_ch, in_ch // 2, 2, stride=2)
            up_ch = in_ch // 2
        else:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            up_ch = in_ch
        self.conv = DoubleConv(up_ch + skip_ch, out_ch, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        dy = skip.shape[-2] - x.shape[-2]
        dx = skip.shape[-1] - x.shape[-1]
        if dy or dx:  # odd input sizes: pad to the skip's size
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class PlainUNet(nn.Module):
    """U-Net returning per-class logits ``N x num_classes x H x W`` (softmax over classes)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        depth: int,
        base_channels: int,
        norm: str = "batch",
        upsampling: str = "bilinear",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], norm)
        self.downs = nn.ModuleList(
            Down(widths[i], widths[i + 1], norm, dropout if i == depth - 1 else 0) for i in range(depth)
        )
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i], norm, upsampling) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


class PackagedUNet(PlainUNet):
    """The network as a bioimage.io package runs it: its calibrated scores (the logits divided
    by ``temperature``); the package's postprocessing turns them into probabilities."""

    def __init__(self, temperature: float = 1.0, **network: object) -> None:
        super().__init__(**network)  # type: ignore[arg-type]
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) / self.temperature
