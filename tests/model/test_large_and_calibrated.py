"""A large image's strokes scored where they lie, Stop heard between windows (issue #24 item 2), and
uncertainty calibrated per model by a temperature fitted on the held-out strokes (item 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import model.prediction.evaluation as evaluation
from model.classes import IGNORE_INDEX, default_classes
from model.compute.device import choose_device
from model.errors import ModelFileError
from model.networks.checkpoint import load_checkpoint, save_checkpoint
from model.prediction.calibration import MAX_T, MIN_T, fit_temperature
from model.prediction.evaluation import CONTEXT, WINDOW, evaluate_images, scored_windows
from model.prediction.predict import Predictor
from model.training.data import LabelledImage


def _large_item(side: int = 5000) -> LabelledImage:
    mask = np.full((side, side), IGNORE_INDEX, np.uint8)
    mask[100:110, 100:300] = 1  # two strokes, far apart
    mask[4000:4010, 4500:4700] = 0
    planes = np.zeros((1, side, side), np.float32)
    return LabelledImage(None, planes, mask)  # type: ignore[arg-type]


def test_only_the_windows_that_hold_strokes_of_a_large_image_are_scored():
    item = _large_item()
    windows = scored_windows(item.mask)
    assert len(windows) == 2  # of the 36 windows of 896 pixels
    for (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in windows:
        assert (y1 - y0) <= WINDOW + 2 * CONTEXT and (x1 - x0) <= WINDOW + 2 * CONTEXT
        assert y0 <= cy0 < cy1 <= y1 and x0 <= cx0 < cx1 <= x1
    covered = np.zeros(item.mask.shape, bool)
    for _, (cy0, cy1, cx0, cx1) in windows:
        covered[cy0:cy1, cx0:cx1] = True
    assert covered[item.mask != IGNORE_INDEX].all()
    small = np.full((512, 512), 1, np.uint8)
    assert scored_windows(small) == [((0, 512, 0, 512), (0, 512, 0, 512))]  # small: whole, as before


def test_scoring_a_large_image_predicts_windows_and_hears_stop_between_them(shapes_model, monkeypatch):
    checkpoint = load_checkpoint(shapes_model)
    model = checkpoint.build_model()
    sizes: list[tuple[int, int]] = []
    real = evaluation.predict_standardised

    def recording(net, planes, **kwargs):
        sizes.append(tuple(planes.shape[-2:]))
        return real(net, planes, **kwargs)

    monkeypatch.setattr(evaluation, "predict_standardised", recording)
    item = _large_item()
    metrics = evaluate_images(model, [item], checkpoint.mean, checkpoint.std, choose_device("cpu"))
    assert metrics is not None and metrics.confusion.sum() == int((item.mask != IGNORE_INDEX).sum())
    # Before: the whole 5000 x 5000 image (25 Mpixels) was predicted to score 4,000 pixels.
    assert max(h * w for h, w in sizes) <= (WINDOW + 2 * CONTEXT) ** 2
    asked = []

    def stop_after_first_window() -> bool:
        asked.append(1)
        return len(sizes) >= 1

    sizes.clear()
    stopped = evaluate_images(
        model, [item], checkpoint.mean, checkpoint.std, choose_device("cpu"), stop_after_first_window
    )
    assert stopped is None and len(sizes) == 1 and len(asked) == 3  # image, window 1, window 2: Stop


def test_a_temperature_that_made_the_pixels_is_found_again():
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(0, 3, (20_000, 4)).astype(np.float32))
    for true_t in (0.5, 2.0):
        probs = torch.softmax(logits / true_t, dim=1).numpy()
        targets = torch.from_numpy(np.array([rng.choice(4, p=p / p.sum()) for p in probs]))
        assert fit_temperature(logits, targets) == pytest.approx(true_t, rel=0.1)
    assert fit_temperature(logits[:0], targets[:0]) == 1.0


def test_the_temperature_changes_how_sure_a_prediction_is_not_its_classes(shapes_model, tmp_path):
    checkpoint = load_checkpoint(shapes_model)
    raw = (np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)
    plain = Predictor(checkpoint, "cpu").predict(raw)
    checkpoint.temperature = 0.25  # sharper: surer everywhere
    path = tmp_path / "sharp.pt"
    save_checkpoint(path, checkpoint)
    loaded = load_checkpoint(path)  # weights_only, as every model file is read
    assert loaded.temperature == 0.25
    sharp = Predictor(loaded, "cpu").predict(raw)
    assert np.array_equal(plain.classes, sharp.classes)
    assert sharp.uncertainty < plain.uncertainty
    assert (sharp.uncertainty_map.astype(int) <= plain.uncertainty_map.astype(int) + 1).all()


def test_a_model_file_without_a_temperature_is_uncalibrated_and_a_bad_one_is_refused(shapes_model, tmp_path):
    data = torch.load(shapes_model, weights_only=True)
    data.pop("temperature", None)
    old = tmp_path / "old.pt"
    torch.save(data, old)
    assert load_checkpoint(old).temperature == 1.0
    data["temperature"] = float("nan")
    torch.save(data, tmp_path / "bad.pt")
    with pytest.raises(ModelFileError, match="temperature"):
        load_checkpoint(tmp_path / "bad.pt")


def test_training_fits_a_temperature_on_the_held_out_pixels(shapes_model):
    from model.training.train import TrainSettings, fit
    from tests.synthetic import shapes_dataset

    images = shapes_dataset(4)
    settings = TrainSettings(max_steps=6, crop_size=32, batch_size=2, device="cpu")
    result = fit(settings, images[:3], images[3:], default_classes(3))
    assert 0.05 <= result.checkpoint.temperature <= 20.0
    # It is the temperature that fits those pixels best: either neighbour fits them worse.
    from model.prediction.calibration import nll

    model = result.checkpoint.build_model()
    planes, mask = images[3].planes()
    mean_t = torch.tensor(result.checkpoint.mean)[:, None, None]
    std_t = torch.tensor(result.checkpoint.std)[:, None, None]
    probs = evaluation.predict_standardised(
        model, (torch.from_numpy(planes) - mean_t) / std_t, probabilities=True
    ).probabilities
    known = mask != IGNORE_INDEX
    log_probs = torch.from_numpy(np.log(np.clip(probs[:, known].T.astype(np.float32), 1e-7, 1)))
    targets = torch.from_numpy(mask[known].astype(np.int64))
    t = result.checkpoint.temperature
    # Whatever this CPU's short run made of the model, no temperature near it fits better
    # (a neighbour past the search's bounds is not one it may choose).
    neighbours = [n for n in (t * 1.3, t / 1.3) if MIN_T <= n <= MAX_T]
    assert all(nll(log_probs, targets, t) <= nll(log_probs, targets, n) for n in neighbours)
