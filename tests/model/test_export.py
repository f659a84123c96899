from __future__ import annotations

import numpy as np
import pytest
import torch

from model.classes import default_classes
from model.networks.checkpoint import Checkpoint
from model.networks.export import StandaloneSegmenter, export_onnx, export_torchscript
from model.networks.unet import UNetConfig, build_unet


@pytest.fixture
def checkpoint() -> Checkpoint:
    torch.manual_seed(0)
    config = UNetConfig(in_channels=3, depth=2, base_channels=4, num_classes=3)
    return Checkpoint(
        config, build_unet(config).state_dict(), default_classes(3), (0.4, 0.5, 0.6), (0.2, 0.2, 0.3)
    )


def test_torchscript_export_matches_pytorch_at_other_sizes(checkpoint, tmp_path):
    path = export_torchscript(checkpoint, tmp_path / "m.ts")
    loaded = torch.jit.load(str(path))
    x = torch.rand(2, 3, 48, 80)
    with torch.no_grad():
        expected = StandaloneSegmenter(checkpoint).eval()(x)
        assert torch.allclose(loaded(x), expected, atol=1e-5)
    assert torch.allclose(expected.sum(1), torch.ones(2, 48, 80), atol=1e-5)


def test_onnx_export_matches_pytorch(checkpoint, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    path = export_onnx(checkpoint, tmp_path / "m.onnx")
    x = np.random.default_rng(0).random((1, 3, 64, 96), dtype=np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():
        expected = StandaloneSegmenter(checkpoint).eval()(torch.from_numpy(x)).numpy()
    assert np.allclose(got, expected, atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_exports_take_sizes_that_are_not_multiples_of_the_network_stride(checkpoint, tmp_path):
    """A 360 x 480 frame (360 is no multiple of 16) goes straight in; the graph pads it itself."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    config = UNetConfig(in_channels=3, depth=4, base_channels=4, num_classes=3)
    deep = Checkpoint(config, build_unet(config).state_dict(), default_classes(3), (0.5,) * 3, (0.25,) * 3)
    x = np.random.default_rng(0).random((1, 3, 360, 482), dtype=np.float32)
    with torch.no_grad():
        expected = StandaloneSegmenter(deep).eval()(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(
        str(export_onnx(deep, tmp_path / "m.onnx")), providers=["CPUExecutionProvider"]
    ).run(None, {"image": x})[0]
    assert got.shape == (1, 3, 360, 482) and np.abs(got - expected).max() < 1e-4
    traced = torch.jit.load(str(export_torchscript(deep, tmp_path / "m.ts")))
    with torch.no_grad():
        assert np.abs(traced(torch.from_numpy(x)).numpy() - expected).max() < 1e-4
