"""Networks made ready for inference only: each batch norm that follows a convolution folded
into the convolution's weights, and on the CPU each ReLU after a convolution computed by the
convolution itself (one pass over the data fewer per layer each; measured in
``benchmarks/engine.py``). Training never sees a folded or fused network."""

from __future__ import annotations

import itertools

import torch
from torch import nn


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every ``BatchNorm2d`` that directly follows a ``Conv2d`` in an ``nn.Sequential``
    into that convolution (in place; the norm becomes ``nn.Identity``); returns how many were
    folded. ``model`` must be in eval mode: the running statistics are what is folded.

    Norms of another type (timm's ``BatchNormAct2d`` holds its activation too) are left alone."""
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (its running statistics are folded)")
    folded = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in itertools.pairwise(names):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and type(norm) is nn.BatchNorm2d and norm.track_running_stats:
                _fold(conv, norm)
                module._modules[second] = nn.Identity()
                folded += 1
    return folded


@torch.no_grad()
def _fold(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    """conv then norm, as one conv: w' = w * g / s, b' = (b - mean) * g / s + beta."""
    assert norm.running_mean is not None and norm.running_var is not None
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    shift = (bias - norm.running_mean) * scale + (norm.bias if norm.affine else 0.0)
    conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
    conv.bias = nn.Parameter(shift.to(conv.weight.dtype))


def _pointwise_op():
    """oneDNN's convolution with a fused activation (what ``torch.compile`` calls on the CPU);
    None where this PyTorch build lacks it."""
    mkldnn = getattr(torch.ops, "mkldnn", None)
    if mkldnn is None or not torch.backends.mkldnn.is_available():
        return None
    try:
        return mkldnn._convolution_pointwise
    except (AttributeError, RuntimeError):
        return None


class ConvReLU(nn.Module):
    """A ``Conv2d`` and the ReLU after it in one oneDNN call on the CPU (elsewhere, or for a
    convolution oneDNN's fused call does not take, the two apart). Follows CPU autocast, which
    does not reach the fused call by itself."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        op = _pointwise_op()
        conv = self.conv
        if op is None or x.device.type != "cpu" or not _fusable(conv):
            return torch.relu(conv(x))
        weight, bias = conv.weight, conv.bias
        if torch.is_autocast_enabled("cpu"):
            dtype = torch.get_autocast_dtype("cpu")
            x, weight = x.to(dtype), weight.to(dtype)
            bias = bias.to(dtype) if bias is not None else None
        elif weight.dtype != x.dtype:
            x = x.to(weight.dtype)
        return op(
            x, weight, bias, list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups,
            "relu", [None], "",
        )  # fmt: skip


def _fusable(conv: nn.Conv2d) -> bool:
    return conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


def fuse_conv_relu(model: nn.Module) -> int:
    """Replace each ``Conv2d`` followed (past any ``nn.Identity``, as ``fold_batchnorm`` leaves
    them) by a ``ReLU`` in an ``nn.Sequential`` with a ``ConvReLU`` (in place; the ReLU becomes
    ``nn.Identity``); returns how many were fused. Nothing is fused where the PyTorch build
    has no oneDNN fused convolution."""
    if _pointwise_op() is None:
        return 0
    fused = 0
    for module in list(model.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for index, name in enumerate(names):
            conv = module._modules[name]
            if type(conv) is not nn.Conv2d or not _fusable(conv):
                continue
            after = index + 1
            while after < len(names) and isinstance(module._modules[names[after]], nn.Identity):
                after += 1
            if after < len(names) and type(module._modules[names[after]]) is nn.ReLU:
                module._modules[name] = ConvReLU(conv)
                module._modules[names[after]] = nn.Identity()
                fused += 1
    return fused
