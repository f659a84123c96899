"""Training and prediction on every channel of a TIFF: scratch networks take C inputs,
pretrained encoders adapt their first convolution and keep every other ImageNet weight."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch

from model.classes import default_classes
from model.networks.checkpoint import load_checkpoint, save_checkpoint
from model.networks.weights import packaged_weights, pretrained_checkpoint
from model.prediction.predict import Predictor
from model.storage.imageio import read_image, write_mask
from model.training.settings import TrainSettings
from model.training.train import train_from_folders

CLASSES = default_classes(2)


def _cells(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A 4-channel 16-bit image whose class 1 (squares) shows in channel 4 only; channels 1-3
    are the same noise everywhere."""
    image = rng.normal(1000, 200, (4, size, size))
    mask = np.zeros((size, size), np.uint8)
    for _ in range(3):
        y, x = rng.integers(0, size - 16, 2)
        mask[y : y + 16, x : x + 16] = 1
    image[3][mask == 1] += 2500
    return np.clip(image, 0, 65535).astype(np.uint16), mask


def _folder(root, count: int, seed: int, channels: slice) -> list:
    rng = np.random.default_rng(seed)
    (root / "masks").mkdir(parents=True)
    truths = []
    for i in range(count):
        image, mask = _cells(rng)
        tifffile.imwrite(root / f"cells{i}.tif", image[channels], photometric="minisblack")
        write_mask(root / "masks" / f"cells{i}.png", mask, CLASSES)
        truths.append((root / f"cells{i}.tif", mask))
    return truths


def _foreground_iou(checkpoint, held_out) -> float:
    predictor = Predictor(checkpoint, "cpu")
    inter = union = 0
    for path, truth in held_out:
        predicted = predictor.predict(read_image(path)).classes == 1
        inter += int((predicted & (truth == 1)).sum())
        union += int((predicted | (truth == 1)).sum())
    return inter / union


@pytest.mark.parametrize(
    ("picked", "reaches", "in_channels"), [((), True, 4), ((1, 2, 3), False, 3), ((4,), True, 1)]
)
def test_a_class_seen_only_in_channel_4_is_learnt_from_the_channels_that_hold_it(
    tmp_path, picked, reaches, in_channels
):
    _folder(tmp_path / "train", 8, 0, slice(0, 4))
    held_out = _folder(tmp_path / "held", 3, 1, slice(0, 4))
    settings = TrainSettings(
        preset="fast",
        max_steps=50,
        crop_size=64,
        batch_size=8,
        learning_rate=3e-3,
        device="cpu",
        val_fraction=0.0,
        channels=picked,
    )
    result = train_from_folders(tmp_path / "train", tmp_path / "train" / "masks", settings, CLASSES)
    checkpoint = result.checkpoint
    assert checkpoint.config.in_channels == in_channels and len(checkpoint.mean) == in_channels
    assert checkpoint.input_channels == picked
    path = tmp_path / "model.pt"
    save_checkpoint(path, checkpoint)
    checkpoint = load_checkpoint(path)  # the channels it reads come back with it
    assert checkpoint.input_channels == picked
    iou = _foreground_iou(checkpoint, held_out)
    if reaches:
        assert iou > 0.9, iou
    else:
        assert iou < 0.5, iou  # channels 1-3 hold nothing of the class
    if picked == (4,):
        three = tmp_path / "three.tif"
        tifffile.imwrite(three, np.zeros((3, 64, 64), np.uint16), photometric="minisblack")
        with pytest.raises(ValueError, match="has 3 channels but the model reads channel 4"):
            Predictor(checkpoint, "cpu").predict(read_image(three))


def test_channel_choices_are_checked():
    for bad in ((0,), (1, 1), (65,)):
        with pytest.raises(ValueError, match="channels"):
            TrainSettings(channels=bad)
    assert TrainSettings.from_dict({"channels": [4, 1]}).channels == (4, 1)


@pytest.mark.parametrize("in_channels", [2, 5])
def test_a_pretrained_encoder_takes_other_channel_counts_and_keeps_its_other_weights(tmp_path, in_channels):
    weights = packaged_weights("efficientnet-lite0")
    if weights is None:
        pytest.skip("the EfficientNet-Lite0 weights package is not installed")
    rgb = pretrained_checkpoint("lite0", CLASSES, weights)
    adapted = pretrained_checkpoint("lite0", CLASSES, weights, in_channels)
    stem = "encoder.conv_stem.weight"
    assert adapted.config.in_channels == in_channels and adapted.state_dict[stem].shape[1] == in_channels
    from timm.models import adapt_input_conv

    assert torch.allclose(adapted.state_dict[stem], adapt_input_conv(in_channels, rgb.state_dict[stem]))
    encoder_keys = [k for k in rgb.state_dict if k.startswith("encoder.") and k != stem]
    assert len(encoder_keys) > 100
    assert all(torch.equal(adapted.state_dict[k], rgb.state_dict[k]) for k in encoder_keys)
    path = tmp_path / "adapted.pt"
    save_checkpoint(path, adapted)
    loaded = load_checkpoint(path)  # torch.load(weights_only=True)
    assert torch.equal(loaded.state_dict[stem], adapted.state_dict[stem])
    net = loaded.build_model().eval()
    with torch.no_grad():
        assert net(torch.rand(1, in_channels, 64, 64)).shape == (1, 2, 64, 64)


def test_training_a_pretrained_encoder_on_five_channels_measures_their_normalisation(tmp_path):
    weights = packaged_weights("efficientnet-lite0")
    if weights is None:
        pytest.skip("the EfficientNet-Lite0 weights package is not installed")
    rng = np.random.default_rng(3)
    (tmp_path / "masks").mkdir()
    for i in range(3):
        bands = np.stack([rng.normal(100 * (c + 1), 10 * (c + 1), (64, 64)) for c in range(5)]).astype(
            np.float32
        )
        tifffile.imwrite(tmp_path / f"scene{i}.tif", bands)
        write_mask(tmp_path / "masks" / f"scene{i}.png", (bands[0] > 100).astype(np.uint8), CLASSES)
    settings = TrainSettings(
        preset="lite0", max_steps=3, crop_size=64, batch_size=2, device="cpu", val_fraction=0.0
    )
    init = pretrained_checkpoint("lite0", CLASSES, weights, 5)
    result = train_from_folders(tmp_path, tmp_path / "masks", settings, CLASSES, init=init)
    assert result.checkpoint.config.in_channels == 5 and len(result.checkpoint.std) == 5
    # Each band is scaled to [0, 1] by its own percentiles first, so the measured means are alike
    # and far from ImageNet's grey 0.449 only by chance; what matters is that they were measured.
    assert result.checkpoint.mean != init.mean
