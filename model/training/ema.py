"""Exponential moving average of a model's weights (evaluated and saved instead of the raw weights)."""

from __future__ import annotations

import copy

import torch
from torch import nn

_Tensors = list[torch.Tensor]


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
        self._pairs: tuple[
            int, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]
        ]
        self._pairs = (0, [], [], [], [])

    def _tensors(self, model: nn.Module):
        """The shadow's and the model's tensors, floating-point and other, paired in order (made
        once per model: a state dict shares its tensors with the model)."""
        if self._pairs[0] != id(model):
            floats_avg, floats, others_avg, others = [], [], [], []
            for ema_v, v in zip(self.shadow.state_dict().values(), model.state_dict().values(), strict=True):
                if ema_v.dtype.is_floating_point:
                    floats_avg.append(ema_v)
                    floats.append(v.detach())
                else:
                    others_avg.append(ema_v)
                    others.append(v)
            self._pairs = (id(model), floats_avg, floats, others_avg, others)
        return self._pairs[1:]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        floats_avg, floats, others_avg, others = self._tensors(model)
        # One fused call over all tensors: a per-tensor loop cost lite0 9-14 ms a step.
        torch._foreach_lerp_(floats_avg, floats, 1.0 - decay)
        for ema_v, v in zip(others_avg, others, strict=True):
            ema_v.copy_(v)
