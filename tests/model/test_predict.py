from __future__ import annotations

import numpy as np
import pytest
import torch

from model.classes import default_classes
from model.networks.checkpoint import Checkpoint
from model.networks.unet import UNetConfig, build_unet
from model.prediction.predict import Predictor, predict_tiled


@pytest.fixture
def checkpoint() -> Checkpoint:
    torch.manual_seed(0)
    config = UNetConfig(depth=2, base_channels=4, num_classes=3, norm="batch")
    return Checkpoint(config, build_unet(config).state_dict(), default_classes(3), (0.5,), (0.25,))


def _single_pass(checkpoint: Checkpoint, raw: np.ndarray) -> np.ndarray:
    model = checkpoint.build_model()
    x = (torch.from_numpy(raw / 255.0).float()[None, None] - 0.5) / 0.25
    with torch.no_grad():
        return model(x).softmax(1)[0].numpy()


def test_image_within_one_tile_equals_a_single_pass(checkpoint):
    raw = np.random.default_rng(0).integers(0, 256, (64, 96), dtype=np.uint8)
    prediction = Predictor(checkpoint, "cpu", tile=512).predict(raw, probabilities=True)
    expected = _single_pass(checkpoint, raw)
    assert np.allclose(prediction.probabilities, expected, atol=2e-3)  # float16 storage
    assert np.array_equal(prediction.classes, expected.argmax(0))


def test_tiled_prediction_matches_single_pass(checkpoint):
    raw = np.random.default_rng(1).integers(0, 256, (100, 140), dtype=np.uint8)
    expected = _single_pass(checkpoint, raw[:96, :128])
    model = checkpoint.build_model()
    tiled = predict_tiled(
        model,
        raw[:96, :128],
        in_channels=1,
        mean=(0.5,),
        std=(0.25,),
        tile=32,
        overlap=16,
        return_probabilities=True,
        single_pass_pixels=0,
    )
    assert tiled.classes.shape == (96, 128)
    # Away from tile borders the receptive field is the same, so the blend is close to exact.
    assert np.abs(tiled.probabilities.astype(np.float32) - expected).mean() < 0.02
    assert (tiled.classes == expected.argmax(0)).mean() > 0.97
    odd = predict_tiled(
        model, raw, in_channels=1, mean=(0.5,), std=(0.25,), tile=32, overlap=8, single_pass_pixels=0
    )
    assert odd.classes.shape == (100, 140)


def test_colour_and_16bit_images_are_predicted(checkpoint):
    predictor = Predictor(checkpoint, "cpu")
    rgb = np.random.default_rng(2).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    wide = np.random.default_rng(3).integers(0, 4096, (33, 47), dtype=np.uint16)
    assert predictor.predict(rgb).classes.shape == (40, 50)
    assert predictor.predict(wide).classes.shape == (33, 47)


def test_uncertainty_is_zero_when_sure_and_one_for_a_coin_toss(checkpoint):
    sure = build_unet(checkpoint.config).eval()
    torch.nn.init.zeros_(sure.head.weight)
    with torch.no_grad():
        sure.head.bias.copy_(torch.tensor([30.0, 0.0, 0.0]))
    raw = np.zeros((32, 32), np.uint8)
    certain = predict_tiled(sure, raw, in_channels=1, mean=(0.5,), std=(0.25,))
    assert certain.uncertainty < 1e-6 and not certain.uncertainty_map.any()
    with torch.no_grad():
        sure.head.bias.zero_()
    toss = predict_tiled(sure, raw, in_channels=1, mean=(0.5,), std=(0.25,))
    assert toss.uncertainty == pytest.approx(1.0)
    assert toss.uncertainty_map.shape == (32, 32) and (toss.uncertainty_map == 255).all()


def test_uncertainty_map_is_the_per_pixel_entropy_of_the_prediction(checkpoint):
    raw = np.random.default_rng(4).integers(0, 256, (70, 90), dtype=np.uint8)
    for single_pass in (True, False):  # one pass, and tiles blended row by row
        prediction = predict_tiled(
            checkpoint.build_model(),
            raw,
            in_channels=1,
            mean=(0.5,),
            std=(0.25,),
            tile=32,
            overlap=8,
            return_probabilities=True,
            single_pass_pixels=10**9 if single_pass else 0,
        )
        p = prediction.probabilities.astype(np.float64)
        entropy = -(p * np.log(np.clip(p, 1e-8, None))).sum(axis=0) / np.log(p.shape[0])
        assert np.abs(prediction.uncertainty_map / 255.0 - entropy).max() < 0.01
        assert prediction.uncertainty == pytest.approx(entropy.mean(), abs=0.01)
        assert prediction.uncertainty_map.std() > 0  # it varies over the image


def test_sure_pixels_are_those_under_half_the_maximum_entropy():
    from model.prediction.predict import Prediction
    from model.prediction.uncertainty import sure_pixels

    entropy = np.array([[0, 127, 128, 255]], np.uint8)
    classes = np.zeros((1, 4), np.uint8)
    assert sure_pixels(Prediction(classes, None, 0.5, entropy)).tolist() == [[True, True, False, False]]
    assert sure_pixels(Prediction(classes, None, 0.5)).all()  # read back from a file: no map, all taken
