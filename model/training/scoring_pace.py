"""When a run scores its weights on the held-out pixels, and when a run with a time limit ends.

Small projects are scored at every epoch's end, as they always were. A scoring that takes over a
second (a large held-out image) is spaced so that it costs at most a fifth of a run whose
epochs are short.

A time limit is counted as the user counts it, from the command's start or the Train press
(loading included), and holds both ways: the run takes steps until what its end takes (one
more step, the last scoring, which also samples the pixels that calibrate the weights, and
saving) must begin. What the last scoring takes is first estimated from a warm timing of the
largest held-out window, then the median of that and the run's own scorings as they come.
"""

from __future__ import annotations

import statistics
import time
from collections import deque

import torch

from model.compute import distributed as dist_utils
from model.errors import SegGUIError
from model.prediction.evaluation import scored_windows
from model.prediction.predict import predict_standardised
from model.training.training_images import TrainingImage

END_S = 0.5
"""What a run's end takes besides its last scoring: fitting the temperature, keeping the weights."""


class ScoringPace:
    """When an epoch's end is scored: always, unless a scoring takes over ``SLOW_S`` (a large
    held-out image); then only once ``SPACING`` times its length has passed since the last one,
    so scoring takes at most a fifth of a run whose epochs are short. ``with pace:`` times one;
    ``last_s`` is how long the last one took, ``expected_s`` what the next one should take."""

    SLOW_S = 1.0
    SPACING = 4.0

    def __init__(self, device: torch.device, estimate_s: float = 0.0) -> None:
        """``estimate_s``: what a scoring takes before any is timed (``estimated_scoring_s``)."""
        self.device = device
        self.last_s = estimate_s
        self._lengths = [estimate_s] if estimate_s else []
        self._ended = time.perf_counter()
        self._began = 0.0

    @property
    def expected_s(self) -> float:
        """The median of the scorings so far and the first estimate: one scoring of a large
        held-out image took 1.8 s and the next 4.6 s on one CPU, so the last alone set a run's
        end seconds early or late."""
        return float(statistics.median(self._lengths)) if self._lengths else 0.0

    def due(self, last_step: bool, fits: bool = True) -> bool:
        """Whether to score this epoch's end; ``fits``: the time limit leaves room for it (the
        run's last scoring comes soon otherwise)."""
        waited = time.perf_counter() - self._ended
        wanted = last_step or (fits and (self.last_s < self.SLOW_S or waited >= self.SPACING * self.last_s))
        return dist_utils.any_rank(wanted, self.device)

    def __enter__(self) -> ScoringPace:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ended = time.perf_counter()
        self.last_s = self._ended - self._began
        self._lengths.append(self.last_s)


class TimeLimit:
    """A run's deadline: ``budget_s`` after ``started`` (``time.perf_counter()`` when the user
    started the run), or none. ``lap()`` is called before each step; the longest of the last
    laps (a step with its data and any preview) is what one more step is expected to take."""

    LAPS = 8

    def __init__(self, budget_s: float | None, started: float) -> None:
        self.budget_s, self.started = budget_s, started
        self._laps: deque[float] = deque(maxlen=self.LAPS)
        self._last = time.perf_counter()

    def lap(self) -> float:
        """Note the time since the last lap; returns the time now."""
        now = time.perf_counter()
        self._laps.append(now - self._last)
        self._last = now
        return now

    def restart_lap(self) -> None:
        """A pause that is not a step's (a scoring) does not count as one."""
        self._last = time.perf_counter()

    def fits(self, now: float, work_s: float, end_s: float) -> bool:
        """Whether ``work_s`` more, then one more step and the run's end (``end_s``), end
        within the limit."""
        if self.budget_s is None:
            return True
        step_s = max(self._laps, default=0.0)
        return now + work_s + step_s + end_s + END_S <= self.started + self.budget_s

    def progress(self, now: float) -> float:
        """The share of the limit gone (0 without one)."""
        return 0.0 if not self.budget_s else (now - self.started) / self.budget_s


def estimated_scoring_s(model: torch.nn.Module, images: list[TrainingImage], device: torch.device) -> float:
    """About how long one scoring of ``images`` takes: their windows (``scored_windows``) times
    one warm timed prediction of the largest window (a first prediction of a size is several
    times slower than the next, and a limit reserved for it went a third unused). A run whose
    epochs outlast its time limit is never scored before its end; without this its final
    scoring would run past the limit."""
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
    predict_standardised(model, planes, device=device, probabilities=True)  # warms this size up
    began = time.perf_counter()
    predict_standardised(model, planes, device=device, probabilities=True)
    largest = time.perf_counter() - began
    return largest * sum(h * w for h, w in sizes) / (height * width)
