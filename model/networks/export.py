"""Exporting a trained model to TorchScript and ONNX for use outside SegGUI.

The exported graph takes images scaled to [0, 1] (``N x C x H x W``, any H and W: it pads them to
the network's size multiple itself and crops the output back), applies the checkpoint's
standardisation itself, and returns class probabilities (softmax), so other tools need no SegGUI
code to use it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from model.errors import SegGUIError
from model.networks.checkpoint import Checkpoint
from model.storage.atomic import atomic_write

EXPORT_FORMATS = ("torchscript", "onnx")


class StandaloneSegmenter(nn.Module):
    """Standardise, pad, run the U-Net, crop, softmax: a [0, 1] image of any size to probabilities."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        self.net = checkpoint.build_model()
        self.multiple = checkpoint.config.size_multiple
        self.register_buffer("mean", torch.tensor(checkpoint.mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(checkpoint.std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        # Sizes are traced, so the exported graph pads whatever size it is given (360 x 480 too).
        pad_h = (self.multiple - height % self.multiple) % self.multiple
        pad_w = (self.multiple - width % self.multiple) % self.multiple
        x = F.pad((x - self.mean) / self.std, [0, pad_w, 0, pad_h], mode="replicate")
        return self.net(x)[..., :height, :width].softmax(dim=1)


def _example_input(checkpoint: Checkpoint, size: int = 64) -> torch.Tensor:
    side = max(size, checkpoint.config.size_multiple)
    return torch.rand(
        1, checkpoint.config.in_channels, side, side, generator=torch.Generator().manual_seed(0)
    )


def export_torchscript(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Write a traced TorchScript module (load with ``torch.jit.load``)."""
    return export_torchscript_module(StandaloneSegmenter(checkpoint).eval(), _example_input(checkpoint), path)


def export_torchscript_module(module: nn.Module, example: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Trace ``module`` on ``example`` and write it atomically."""
    with torch.no_grad(), warnings.catch_warnings():
        # torch.jit is deprecated in favour of torch.export but is what TorchScript users load;
        # the traced size check in Up.forward is constant for sizes that are multiples of 2**depth.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, example)
        atomic_write(path, lambda fh: torch.jit.save(traced, fh))
    return Path(path)


def export_onnx(checkpoint: Checkpoint, path: str | os.PathLike[str], *, verify: bool = True) -> Path:
    """Write an ONNX model with dynamic batch and spatial axes (needs the ``onnx`` package).

    With ``verify`` and onnxruntime installed, the ONNX outputs are compared with PyTorch's.
    """
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SegGUIError("ONNX export needs the onnx package: pip install 'seggui[onnx]'") from None
    module = StandaloneSegmenter(checkpoint).eval()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        export_onnx_module(module, _example_input(checkpoint), tmp, output_name="probabilities")
        if verify:
            verify_onnx(module, tmp, checkpoint)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def export_onnx_module(
    module: nn.Module, example: torch.Tensor, path: str | os.PathLike[str], *, output_name: str = "scores"
) -> Path:
    """Write ``module`` as ONNX (opset 17) with dynamic batch and spatial axes."""
    try:
        with warnings.catch_warnings():
            # The TorchScript-based exporter needs only the onnx package; the dynamo one also needs
            # onnxscript. It warns that it is legacy, which is no news to us.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                module,
                (example,),
                str(path),
                dynamo=False,
                input_names=["image"],
                output_names=[output_name],
                opset_version=17,
                dynamic_axes={
                    "image": {0: "batch", 2: "height", 3: "width"},
                    output_name: {0: "batch", 2: "height", 3: "width"},
                },
            )
    except Exception:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)


def verify_onnx(module: nn.Module, path: str | os.PathLike[str], checkpoint: Checkpoint) -> bool:
    """Compare onnxruntime's output with PyTorch's on a fresh input; False if onnxruntime is missing."""
    try:
        import onnxruntime
    except ImportError:
        return False
    side = 2 * max(32, checkpoint.config.size_multiple)
    x = torch.rand(2, checkpoint.config.in_channels, side, side + checkpoint.config.size_multiple)
    with torch.no_grad():
        expected = module(x).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": x.numpy()})[0]
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-4):
        raise SegGUIError(f"{path}: ONNX output differs from PyTorch by {np.abs(got - expected).max():.2e}")
    return True


def export_model(checkpoint: Checkpoint, path: str | os.PathLike[str], fmt: str) -> Path:
    """Export in ``fmt`` (one of ``EXPORT_FORMATS``)."""
    if fmt == "torchscript":
        return export_torchscript(checkpoint, path)
    if fmt == "onnx":
        return export_onnx(checkpoint, path)
    raise SegGUIError(f"unknown export format {fmt!r}; choose one of {EXPORT_FORMATS}")
