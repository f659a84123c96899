"""When a run scores its weights on the held-out pixels, and what the scoring costs.

Small projects are scored at every epoch's end, as they always were. A scoring that takes over a
second (a large held-out image) is spaced so that it costs at most a fifth of a run whose
epochs are short, and a run with a time limit estimates, before its first step, what its final
scoring will take, so that the limit holds with it.
"""

from __future__ import annotations

import time

import torch

from model.compute import distributed as dist_utils
from model.errors import SegGUIError
from model.prediction.evaluation import scored_windows
from model.prediction.predict import predict_standardised
from model.training.training_images import TrainingImage


class ScoringPace:
    """When an epoch's end is scored: always, unless a scoring takes over ``SLOW_S`` (a large
    held-out image); then only once ``SPACING`` times its length has passed since the last one,
    so scoring takes at most a fifth of a run whose epochs are short. ``with pace:`` times one."""

    SLOW_S = 1.0
    SPACING = 4.0

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.last_s = 0.0
        self._ended = time.perf_counter()
        self._began = 0.0

    def due(self, last_step: bool) -> bool:
        waited = time.perf_counter() - self._ended
        wanted = last_step or self.last_s < self.SLOW_S or waited >= self.SPACING * self.last_s
        return dist_utils.any_rank(wanted, self.device)

    def __enter__(self) -> ScoringPace:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ended = time.perf_counter()
        self.last_s = self._ended - self._began


def estimated_scoring_s(model: torch.nn.Module, images: list[TrainingImage], device: torch.device) -> float:
    """About how long one scoring of ``images`` takes: their windows (``scored_windows``) times
    one timed prediction of the largest window. A run whose epochs outlast its time limit is
    never scored before its end; without this its final scoring would run past the limit."""
    sizes = []
    for item in images:
        try:
            windows = scored_windows(item.labels())
        except SegGUIError:
            continue  # reported when scored
        sizes += [(y1 - y0, x1 - x0) for (y0, y1, x0, x1), _ in windows]
    if not sizes:
        return 0.0
    height, width = max(sizes, key=lambda s: s[0] * s[1])
    planes = torch.zeros((model.config.in_channels, height, width))
    began = time.perf_counter()
    predict_standardised(model, planes, device=device)
    largest = time.perf_counter() - began
    return largest * sum(h * w for h, w in sizes) / (height * width)
