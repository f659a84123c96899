"""Networks made ready for inference only: each batch norm that follows a convolution folded
into the convolution's weights (one pass over the data fewer per layer; measured in
``benchmarks/engine.py``). Training never sees a folded network."""

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
