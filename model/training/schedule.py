"""How long a run is and how its learning rate falls over it."""

from __future__ import annotations

import math

UNTIL_THE_LIMIT = 10**9
"""The steps of a run whose time limit sets its length."""


def learning_rate_at(progress: float, base: float, schedule: str, warmup: float = 0.03) -> float:
    """Linear warm-up over the first ``warmup`` of the run, then cosine decay to 1 % of ``base``."""
    if schedule == "constant":
        return base
    if progress < warmup:
        return base * max(progress / warmup, 0.05)
    t = min((progress - warmup) / (1 - warmup), 1.0)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))
