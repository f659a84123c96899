"""Exponential moving average of a model's weights (evaluated and saved instead of the raw weights)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """Keeps ``shadow``, an EMA copy of ``model`` (parameters and BatchNorm statistics).

    The effective decay ramps up as ``(1 + n) / (10 + n)`` so early steps are not drowned by the
    random initial weights. Averaged weights give smoother, usually better, validation scores than
    the last step's weights when training is short and noisy.
    """

    def __init__(self, model: nn.Module, decay: float = 0.99) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema_v, v in zip(self.shadow.state_dict().values(), model.state_dict().values()):
            if ema_v.dtype.is_floating_point:
                ema_v.lerp_(v.detach(), 1.0 - decay)
            else:
                ema_v.copy_(v)
