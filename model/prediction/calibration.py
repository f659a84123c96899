"""What "unsure" means for one model: temperature scaling fitted on the held-out strokes.

A network trained with class-weighted cross-entropy and Dice spreads its probabilities (its
most likely class at 60-70 % on pixels it gets right), so the entropy of its probabilities
flags nearly every pixel, and the flag depends on the model, not on its errors. One number per
model, the temperature ``T`` that makes ``softmax(logits / T)`` fit the labelled held-out pixels
best (the least negative log-likelihood; Guo et al. 2017), turns those probabilities into ones
whose confidence matches how often the model is right there. The class map does not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch

MIN_T, MAX_T = 0.05, 20.0
MAX_PIXELS = 200_000
"""Held-out pixels used to fit the temperature (a sample, spread over the images)."""


def nll(log_probs: torch.Tensor, targets: torch.Tensor, temperature: float) -> float:
    """Mean negative log-likelihood of ``targets`` under ``softmax(log_probs / temperature)``."""
    return float(torch.nn.functional.cross_entropy(log_probs / temperature, targets))


def fit_temperature(log_probs: torch.Tensor, targets: torch.Tensor) -> float:
    """The temperature in [``MIN_T``, ``MAX_T``] that minimises ``nll`` (``N x C`` log
    probabilities, or logits, of ``N`` labelled pixels; golden-section search on log T, where
    the likelihood has one minimum). 1.0 when there are no pixels."""
    if targets.numel() == 0:
        return 1.0
    low, high = math.log(MIN_T), math.log(MAX_T)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(log_probs, targets, math.exp(a)), nll(log_probs, targets, math.exp(b))
    for _ in range(40):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(log_probs, targets, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(log_probs, targets, math.exp(b))
    return math.exp((low + high) / 2)


def held_out_pixels(
    windows: Iterable[tuple[np.ndarray, np.ndarray]], should_stop: Callable[[], bool], seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Log probabilities (``N x C``) and classes (``N``) of a uniform sample of at most
    ``MAX_PIXELS`` of the labelled pixels of ``windows``: (``C x h x w`` probabilities, ``h x w``
    labels) pairs. Each pixel draws a random key and the smallest keys are kept as windows come,
    so memory stays within twice the sample however many windows there are. None if stopped."""
    from model.classes import IGNORE_INDEX

    rng = np.random.default_rng(seed)
    keys = np.empty(0, np.float64)
    log_probs = np.empty((0, 1), np.float32)
    targets = np.empty(0, np.int64)
    for probs, labels in windows:
        if should_stop():
            return None
        where = np.flatnonzero(labels != IGNORE_INDEX)
        drawn = rng.random(where.size)
        if keys.size >= MAX_PIXELS:  # only keys below the largest kept can join the sample
            below = drawn < keys.max()
            where, drawn = where[below], drawn[below]
        if where.size > MAX_PIXELS:
            smallest = np.argpartition(drawn, MAX_PIXELS)[:MAX_PIXELS]
            where, drawn = where[smallest], drawn[smallest]
        flat = probs.reshape(probs.shape[0], -1)[:, where].T.astype(np.float32)
        found = np.log(np.clip(flat, 1e-7, 1.0))
        log_probs = np.concatenate([log_probs, found]) if keys.size else found
        targets = np.concatenate([targets, labels.ravel()[where].astype(np.int64)])
        keys = np.concatenate([keys, drawn])
        if keys.size > MAX_PIXELS:
            kept = np.argpartition(keys, MAX_PIXELS)[:MAX_PIXELS]
            keys, log_probs, targets = keys[kept], log_probs[kept], targets[kept]
    if not keys.size:
        return torch.zeros((0, 1)), torch.zeros(0, dtype=torch.int64)
    return torch.from_numpy(np.ascontiguousarray(log_probs)), torch.from_numpy(targets)
