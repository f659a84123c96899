from __future__ import annotations

import pytest
import torch

from model.networks.unet import PRESETS, UNetConfig, build_unet, preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_give_per_class_logits_at_input_size(name):
    model = build_unet(preset(name, in_channels=3, num_classes=4)).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, 4, 64, 96)


def test_odd_input_sizes_are_padded_back():
    model = build_unet(UNetConfig(depth=3, base_channels=4, norm="group")).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 37, 45)).shape == (2, 2, 37, 45)


def test_seed_preset_ends_in_a_plain_head_so_probabilities_can_drop_below_half():
    model = build_unet(preset("seed")).eval()
    assert isinstance(model.head, torch.nn.Conv2d)
    with torch.no_grad():
        model.head.bias.copy_(torch.tensor([4.0, -4.0]))
        probs = model(torch.randn(1, 1, 32, 32)).softmax(1)
    assert probs[:, 1].max() < 0.5


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(KeyError, match="fast.*large.*seed"):
        preset("huge")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_channels": 0},
        {"in_channels": 65},
        {"num_classes": 1},
        {"norm": "layer"},
        {"upsampling": "nearest"},
    ],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        UNetConfig(**kwargs)
