"""The arithmetic precision networks run in: float32, or a 16-bit type where the hardware has it.

On a CUDA GPU prediction and training autocast to float16 (tensor cores). On a CPU with AMX
(Intel Xeon from Sapphire Rapids on) bfloat16 matrix products run several times faster than
float32: measured 1,500-1,850 against 220-260 GFLOP/s on a 2-core Xeon, and the ``fast`` U-Net
predicted 1024 x 1024 in 0.31 s against 0.87 s. Without AMX, bfloat16 is emulated and 10-30x
slower, so it is never chosen there. Whether training gains too depends on the network (the
plain U-Net trained 2-3x faster, the depthwise MobileNet encoder slower), so training tries
both for a few steps (``PrecisionTrial``) instead of assuming.
"""

from __future__ import annotations

from statistics import median

import torch

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles, where bfloat16 matrix products are fast."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe is not None and probe())


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The 16-bit type to autocast to on ``device``, or None for plain float32.

    ``auto``: float16 on CUDA, bfloat16 on a CPU with AMX, float32 elsewhere (Apple MPS, CPUs
    without AMX). A type named explicitly is used as asked."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return None
    if precision != "auto":
        return _DTYPES[precision]
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_amx():
        return torch.bfloat16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    """``float32`` for None, else the 16-bit type's name (``bfloat16``)."""
    return "float32" if dtype is None else str(dtype).removeprefix("torch.")


class PrecisionTrial:
    """Times training steps in each candidate precision and keeps the fastest.

    Call ``before_step()`` for the dtype of the next step (None: float32) and
    ``after_step(seconds)`` after it. Each candidate first runs one uncounted step (the first
    step in a precision pays for choosing its kernels); then the candidates take turns,
    ``trial_steps`` counted steps each, so that a machine slowing down or speeding up during
    the trial weighs on all alike. Then ``chosen`` holds and ``deciding`` is False."""

    def __init__(self, candidates: list[torch.dtype | None], *, trial_steps: int = 5) -> None:
        if not candidates:
            raise ValueError("PrecisionTrial needs at least one candidate")
        self.candidates = list(candidates)
        self.chosen: torch.dtype | None = self.candidates[0]
        self.times: dict[torch.dtype | None, list[float]] = {c: [] for c in self.candidates}
        turns = [(c, False) for c in self.candidates] + [(c, True) for c in self.candidates] * trial_steps
        self._queue = turns if len(self.candidates) > 1 else []

    @property
    def deciding(self) -> bool:
        return bool(self._queue)

    def before_step(self) -> torch.dtype | None:
        return self._queue[0][0] if self._queue else self.chosen

    def after_step(self, seconds: float) -> None:
        if not self._queue:
            return
        current, counted = self._queue.pop(0)
        if counted:
            self.times[current].append(seconds)
        if not self._queue:
            self.chosen = min(self.candidates, key=lambda c: median(self.times[c]))


def training_candidates(device: torch.device, amp: bool) -> list[torch.dtype | None]:
    """Precisions worth timing for a training run: float16 alone on CUDA with ``amp`` (the
    GradScaler's path), float32 and bfloat16 on a CPU with AMX, else float32 alone."""
    if not amp:
        return [None]
    if device.type == "cuda":
        return [torch.float16]
    dtype = autocast_dtype(device)
    return [None] if dtype is None else [None, dtype]
