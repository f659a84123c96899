"""Choosing the compute device, and checking that it computes correctly."""

from __future__ import annotations

import torch

from model.errors import SegGUIError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def choose_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU for ``auto``; a named device must be available."""
    preference = preference.lower()
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SegGUIError("CUDA was asked for but no CUDA GPU is available to PyTorch")
        return torch.device(preference)
    if preference == "mps":
        if not _mps_available():
            raise SegGUIError("Apple MPS was asked for but is not available to PyTorch")
        return torch.device("mps")
    if preference == "cpu":
        return torch.device("cpu")
    raise SegGUIError(f"unknown device {preference!r}; choose one of {DEVICE_CHOICES}")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def verify_device(device: torch.device) -> None:
    """Run a small convolution forward and backward on ``device`` and compare with the CPU.

    Catches back-ends that silently return zeros or garbage (a known failure on some MPS
    builds) before a whole training run is wasted on them.
    """
    if device.type == "cpu":
        return
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 16, 16, generator=gen)
    w = torch.randn(4, 3, 3, 3, generator=gen)
    expected = torch.nn.functional.conv2d(x, w, padding=1)
    w_dev = w.to(device).requires_grad_(True)
    got = torch.nn.functional.conv2d(x.to(device), w_dev, padding=1)
    got.square().mean().backward()
    grad = w_dev.grad
    if (
        not torch.allclose(got.detach().cpu(), expected, atol=1e-2, rtol=1e-2)
        or grad is None
        or not bool(torch.isfinite(grad).all() and grad.abs().sum() > 0)
    ):
        raise SegGUIError(
            f"the {device} device gives wrong results for a test convolution; "
            "train on the CPU instead (device 'cpu')"
        )


def device_description(device: torch.device) -> str:
    """A short human-readable name, e.g. ``CUDA: NVIDIA H100`` or ``CPU (2 threads)``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
