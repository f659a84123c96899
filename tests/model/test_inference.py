"""Inference-only speed-ups give the classes the plain PyTorch path gives."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from model.classes import default_classes
from model.networks.checkpoint import Checkpoint
from model.networks.inference import ConvReLU, fold_batchnorm, fuse_conv_relu
from model.networks.unet import build_unet, preset
from model.prediction.predict import Predictor, _finish_rows
from tests.synthetic import shapes_image


def _with_statistics(net: nn.Module) -> nn.Module:
    """Batch norms with running statistics and affine parameters far from their defaults."""
    generator = torch.Generator().manual_seed(0)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)
    return net.eval()


def test_folding_the_batch_norms_keeps_what_the_network_computes():
    net = _with_statistics(build_unet(preset("fast", in_channels=1, num_classes=3)))
    norms = sum(type(m) is nn.BatchNorm2d for m in net.modules())
    folded = copy.deepcopy(net)
    assert fold_batchnorm(folded) == norms > 10
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(2, 1, 96, 128)
    with torch.inference_mode():
        plain, fast = net(x), folded(x)
    assert torch.allclose(plain, fast, rtol=1e-4, atol=1e-4 * plain.abs().max().item())
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(build_unet(preset("fast", in_channels=1, num_classes=3)))


def _edge_pixels(classes: np.ndarray, reach: int = 2) -> np.ndarray:
    """Pixels within ``reach`` of another class."""
    from scipy import ndimage

    edges = np.zeros(classes.shape, bool)
    for value in np.unique(classes):
        inside = classes == value
        edges |= inside & ~ndimage.binary_erosion(inside, iterations=reach, border_value=1)
    return edges


@pytest.mark.parametrize(("precision", "share"), [("float32", 0.001), ("bfloat16", 0.01)])
def test_every_engine_offered_gives_the_plain_predictors_classes(shapes_model, precision, share):
    """Folded and fused, in float32 or bfloat16: the classes of the plain float32 network, all
    but ``share`` of the pixels, and those on class edges or where the network is undecided
    (its two likeliest classes within 0.05) only."""
    from model.networks.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(shapes_model)  # a trained model, read with weights_only=True
    image, _ = shapes_image(np.random.default_rng(5), 256)
    plain = Predictor(checkpoint, "cpu", fold=False, precision="float32").predict(image, probabilities=True)
    engine = Predictor(checkpoint, "cpu", precision=precision)
    assert engine.dtype == (torch.bfloat16 if precision == "bfloat16" else None)
    fast = engine.predict(image)
    differ = plain.classes != fast.classes
    assert np.count_nonzero(differ) <= share * plain.classes.size, np.count_nonzero(differ)
    likeliest = np.sort(plain.probabilities.astype(np.float32), axis=0)[-2:]
    undecided = likeliest[1] - likeliest[0] < 0.05
    assert not np.any(differ & ~_edge_pixels(plain.classes) & ~undecided)
    assert abs(plain.uncertainty - fast.uncertainty) < 10 * share


def test_a_fused_convolution_and_relu_compute_what_the_two_did():
    net = _with_statistics(build_unet(preset("fast", in_channels=1, num_classes=3)))
    fused = copy.deepcopy(net)
    fold_batchnorm(fused)
    relus = sum(type(m) is nn.ReLU for m in net.modules())
    assert fuse_conv_relu(fused) == relus > 10
    assert not any(type(m) is nn.ReLU for m in fused.modules())
    assert any(isinstance(m, ConvReLU) for m in fused.modules())
    x = torch.randn(2, 1, 96, 128).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        plain, fast = net(x), fused(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = fused(x)
    assert torch.allclose(plain, fast, rtol=1e-4, atol=1e-4 * plain.abs().max().item())
    assert half.dtype == torch.bfloat16  # CPU autocast reaches the fused call
    assert torch.allclose(plain, half.float(), rtol=0.1, atol=0.05 * plain.abs().max().item())


def test_the_class_map_picks_as_argmax_does_ties_and_nan_included():
    generator = torch.Generator().manual_seed(1)
    probs = torch.rand(4, 30, 40, generator=generator)
    probs[2, :5] = probs[1, :5]  # ties: the first class wins
    probs[3, 7, 7] = float("nan")  # NaN counts as the largest, as argmax has it
    classes = np.empty((30, 40), np.uint8)
    entropy = np.empty((30, 40), np.uint8)
    _finish_rows(probs.clone(), torch.ones(30, 40), 30, 0, classes, entropy, None)
    assert np.array_equal(classes, probs.argmax(dim=0).numpy().astype(np.uint8))


def test_a_checkpoint_is_not_changed_by_the_predictor_that_folds_it():
    config = preset("fast", in_channels=1, num_classes=2)
    net = _with_statistics(build_unet(config))
    checkpoint = Checkpoint(config, copy.deepcopy(net.state_dict()), default_classes(2), (0.5,), (0.25,))
    Predictor(checkpoint, "cpu")
    assert all(torch.equal(checkpoint.state_dict[k], v) for k, v in net.state_dict().items())
