"""Choosing torch's CPU thread count while training, by timing the steps themselves.

With every core free, all threads are fastest. When another program takes a core, torch's
threads wait for each other at every operation and a step becomes several times slower (five-fold
measured on 2 cores); one thread fewer is then faster. The load of a laptop changes during a
session, so the choice is re-made every ``period_s`` seconds: a few steps at each candidate count,
then the fastest is kept.
"""

from __future__ import annotations

import time
from statistics import median

import torch

DEFAULT_THREADS = torch.get_num_threads()
"""torch's own choice at start-up (the physical cores); the most the tuner uses."""


def candidate_counts(cores: int) -> list[int]:
    """Thread counts worth trying on ``cores`` cores, most first (all, one fewer, half)."""
    return sorted({max(1, cores), max(1, cores - 1), max(1, cores // 2)}, reverse=True)


class ThreadTuner:
    """Call ``before_step()`` and ``after_step(seconds)`` around each training step."""

    def __init__(self, max_threads: int, *, period_s: float = 30.0, trial_steps: int = 3) -> None:
        self.candidates = candidate_counts(max_threads)
        self.period_s = period_s
        self.trial_steps = trial_steps
        self.chosen = self.candidates[0]
        self._trial: list[int] = []  # counts still to try in this round
        self._times: dict[int, list[float]] = {}
        self._settle = False
        self._next_round = time.perf_counter()  # the first round starts at once
        self.rounds = 0

    @property
    def active(self) -> bool:
        return len(self.candidates) > 1

    def before_step(self) -> None:
        if not self.active:
            return
        if not self._trial and time.perf_counter() >= self._next_round:
            self._trial = list(self.candidates)
            self._times = {count: [] for count in self.candidates}
            self._set(self._trial[0])

    def after_step(self, seconds: float) -> None:
        if not self._trial:
            return
        if self._settle:  # the first step after a change pays for it; not counted
            self._settle = False
            return
        count = self._trial[0]
        self._times[count].append(seconds)
        if len(self._times[count]) < self.trial_steps:
            return
        self._trial.pop(0)
        if self._trial:
            self._set(self._trial[0])
            return
        self.chosen = min(self.candidates, key=lambda c: median(self._times[c]))
        self._set(self.chosen)
        self._settle = False
        self.rounds += 1
        self._next_round = time.perf_counter() + self.period_s

    def _set(self, count: int) -> None:
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)
        self._settle = True
