from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
import torch

import model.training.scoring_pace as scoring_pace
from model.classes import IGNORE_INDEX, default_classes
from model.errors import DatasetError
from model.networks.checkpoint import load_checkpoint
from model.training.data import LabelledImage
from model.training.train import (
    EpochEnded,
    PreviewReady,
    PreviewRequest,
    StepEnded,
    TrainSettings,
    fit,
    train_from_folders,
)
from tests.synthetic import shapes_dataset, shapes_image, write_shapes_folder

FAST = dict(crop_size=64, batch_size=8, learning_rate=3e-3, device="cpu", val_fraction=0.0)


def _scribbled(items: list[LabelledImage], per_class: int, seed: int) -> list[LabelledImage]:
    """``items`` with only ``per_class`` random pixels of each class left labelled."""
    rng = np.random.default_rng(seed)
    out = []
    for item in items:
        sparse = np.full_like(item.mask, IGNORE_INDEX)
        for c in np.unique(item.mask):
            ys, xs = np.nonzero(item.mask == c)
            keep = rng.choice(len(ys), size=min(per_class, len(ys)), replace=False)
            sparse[ys[keep], xs[keep]] = c
        out.append(LabelledImage(item.path, item.image, sparse))
    return out


def test_training_reaches_dice_above_0_9_for_every_foreground_class():
    train, val = shapes_dataset(8, seed=0), shapes_dataset(3, seed=1)
    events: list[object] = []
    result = fit(TrainSettings(max_steps=150, **FAST), train, val, default_classes(3), on_event=events.append)
    assert all(d > 0.9 for d in result.best_metrics.foreground_dice), result.best_metrics
    losses = [e.loss for e in events if isinstance(e, StepEnded)]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:10])
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert epochs and result.history[-1]["step"] == 150
    assert result.checkpoint.history == result.history


def test_scribbles_alone_train_a_useful_model():
    """Only a few painted strokes per class (the rest 255) still separate the classes."""
    scribbled = _scribbled(shapes_dataset(6, seed=2), 25, 0)
    assert np.mean([(s.mask != IGNORE_INDEX).mean() for s in scribbled]) < 0.03
    result = fit(
        TrainSettings(max_steps=120, **FAST), scribbled, shapes_dataset(3, seed=3), default_classes(3)
    )
    assert result.best_metrics.mean_dice > 0.8, result.best_metrics


def test_stop_is_honoured_within_one_step_and_returns_a_model():
    stop = threading.Event()
    steps: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            steps.append(event.step)
            if event.step == 3:
                stop.set()

    result = fit(
        TrainSettings(max_steps=500, **FAST),
        shapes_dataset(4),
        [],
        default_classes(3),
        on_event=on_event,
        should_stop=stop.is_set,
    )
    assert result.stopped and result.steps == 3 and steps == [1, 2, 3]
    assert result.checkpoint.state_dict and result.best_metrics is not None


def test_same_seed_same_losses_and_fine_tuning_continues_history():
    data = shapes_dataset(4)
    runs = []
    for _ in range(2):
        losses: list[float] = []
        result = fit(
            TrainSettings(max_steps=6, seed=7, **FAST),
            data,
            [],
            default_classes(3),
            on_event=lambda e, out=losses: out.append(e.loss) if isinstance(e, StepEnded) else None,
        )
        runs.append(losses)
    assert runs[0] == runs[1]
    tuned = fit(TrainSettings(max_steps=6, **FAST), data, [], default_classes(4), init=result.checkpoint)
    assert tuned.checkpoint.config.num_classes == 4
    assert len(tuned.history) == len(result.history) + len(tuned.history) - len(result.history)
    assert tuned.history[: len(result.history)] == result.history


def test_preview_is_predicted_after_each_epoch():
    image, _ = shapes_image(np.random.default_rng(5), 48)
    previews = []
    fit(
        TrainSettings(max_steps=2, **FAST),
        shapes_dataset(8),
        [],
        default_classes(3),
        on_event=lambda e: previews.append(e) if isinstance(e, PreviewReady) else None,
        preview=lambda: PreviewRequest("current", image),
    )
    assert [p.key for p in previews] == ["current", "current"]
    assert previews[0].prediction.classes.shape == (48, 48)
    assert previews[0].prediction.probabilities.shape == (3, 48, 48)


def test_train_from_folders_saves_a_model_and_reports_skipped_files(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 5)
    (image_dir / "img04.png").write_bytes(b"broken")
    problems: list[str] = []
    out = tmp_path / "models" / "m.pt"
    train_from_folders(
        image_dir,
        image_dir / "masks",
        TrainSettings(max_steps=3, **FAST),
        default_classes(3),
        out_path=out,
        on_problem=problems.append,
    )
    assert load_checkpoint(out).class_names == ["background", "class 1", "class 2"]
    assert len(problems) == 1 and "img04.png" in problems[0]


def test_nothing_labelled_is_a_clear_error(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 2, masks=0)
    with pytest.raises(DatasetError, match="nothing to train on.*no image.*painted pixels"):
        train_from_folders(
            image_dir, image_dir / "masks", TrainSettings(max_steps=1, **FAST), default_classes(3)
        )


def test_previews_also_come_within_long_epochs():
    image, _ = shapes_image(np.random.default_rng(6), 32)
    events = []
    fit(
        TrainSettings(max_steps=3, epochs=1, **FAST),
        shapes_dataset(40, size=64),  # one epoch is 3 steps here: only the interval asks mid-epoch
        [],
        default_classes(3),
        on_event=events.append,
        preview=lambda: PreviewRequest("current", image),
        preview_interval_s=0.0,
    )
    kinds = [type(e).__name__ for e in events]
    steps_before_epoch_end = kinds[: kinds.index("EpochEnded")]
    assert steps_before_epoch_end.count("PreviewReady") == 2  # after steps 1 and 2


class FakeClock:
    """``time`` for the training loop and its pace: only what a test adds passes."""

    now = 0.0

    def perf_counter(self) -> float:
        return self.now

    monotonic = perf_counter


def _on_fake_clock(monkeypatch, scoring_s: float) -> tuple[FakeClock, list[float]]:
    """Training and scoring on a fake clock where a scoring takes ``scoring_s`` (a test adds
    its steps' time). Returns the clock and the times scorings ended."""
    import model.training.train as train_module

    clock = FakeClock()
    monkeypatch.setattr(train_module, "time", clock)
    monkeypatch.setattr(scoring_pace, "time", clock)
    real_scoring = train_module.scored_with_sample
    scorings: list[float] = []

    def slow_scoring(*args, **kwargs):
        clock.now += scoring_s
        scorings.append(clock.now)
        return real_scoring(*args, **kwargs)

    monkeypatch.setattr(train_module, "scored_with_sample", slow_scoring)
    monkeypatch.setattr(train_module, "estimated_scoring_s", lambda *args: scoring_s)  # a warm timing
    return clock, scorings


@pytest.mark.parametrize(
    "limit_s, scoring_s, loading_s, scorings_made",
    [(25.0, 10.0, 0.0, 1), (25.0, 10.0, 5.0, 1), (100.0, 2.0, 0.0, 9), (100.0, 0.5, 30.0, 12)],
)
def test_a_time_limit_trains_until_the_end_must_begin_and_holds(
    monkeypatch, limit_s, scoring_s, loading_s, scorings_made
):
    """A limit counted from the user's start (``loading_s`` before the run), 200 steps' worth,
    scorings of ``scoring_s`` (at least ``scorings_made``). Before: the run kept twice a cold
    scoring in reserve and ended a third early, and the pace then skipped every epoch's scoring."""
    clock, scorings = _on_fake_clock(monkeypatch, scoring_s=scoring_s)

    def on_event(event):
        if type(event).__name__ == "StepEnded":
            clock.now += limit_s / 200

    clock.now = loading_s
    result = fit(
        TrainSettings(max_steps=100_000, time_budget_s=limit_s, **{**FAST, "crop_size": 32, "batch_size": 2}),
        shapes_dataset(4),  # 8 steps an epoch
        [],
        default_classes(3),
        on_event=on_event,
        started=0.0,
    )
    assert not result.stopped
    # The end (one more step, the last scoring, 0.5 s) is kept within the limit, and no more:
    assert 0.97 * limit_s <= clock.now <= limit_s
    # Epochs are scored as the pace allows (a slow scoring spaced to four times its length)
    # and the limit has room; the last scoring ends the run.
    assert len(scorings) >= scorings_made and scorings[-1] == clock.now
    if scoring_s >= 1:
        assert all(b - a >= 4 * scoring_s for a, b in itertools.pairwise(scorings))
    times = "" if len(scorings) == 1 else f" {len(scorings)} times"
    said = f"scored{times} on the training strokes of 4 images (nothing held out)"
    assert result.scoring.startswith(said) and result.scoring.endswith("after the last step")


def test_a_time_limit_sets_the_length_and_the_epochs_do_not_end_the_run_before_it(monkeypatch):
    """Before: a 600 s limit on the membranes ended after 210 s, when its 30 epochs were done."""
    clock, _ = _on_fake_clock(monkeypatch, scoring_s=0.5)

    def on_event(event):
        if type(event).__name__ == "StepEnded":
            clock.now += 0.25

    result = fit(
        TrainSettings(epochs=2, time_budget_s=30.0, **{**FAST, "crop_size": 32, "batch_size": 2}),
        shapes_dataset(4),  # 8 steps an epoch: 2 epochs are 4 s of the 30
        [],
        default_classes(3),
        on_event=on_event,
        started=0.0,
    )
    assert result.steps > 2 * 8 and 0.97 * 30.0 <= clock.now <= 30.0


def test_the_scoring_estimate_is_a_warm_one(monkeypatch):
    """The first prediction of a size is slower than the next: the estimate times the second."""
    clock = FakeClock()
    monkeypatch.setattr(scoring_pace, "time", clock)
    calls = []

    def predict(model, planes, device, probabilities):
        clock.now += 6.0 if not calls else 1.0
        calls.append(planes.shape)

    monkeypatch.setattr(scoring_pace, "predict_standardised", predict)
    model = _tiny_model()
    images = shapes_dataset(3, size=64)
    assert scoring_pace.estimated_scoring_s(model, images, torch.device("cpu")) == pytest.approx(3.0)
    assert len(calls) == 2


def _tiny_model() -> torch.nn.Module:
    from model.networks.config import UNetConfig
    from model.networks.unet import UNet

    return UNet(UNetConfig(in_channels=1, num_classes=3, base_channels=4, depth=2))


def test_time_limit_room_counts_the_next_step_and_the_end(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(scoring_pace, "time", clock)
    limit = scoring_pace.TimeLimit(60.0, started=-10.0)  # loading took 10 s before the run
    for _ in range(3):
        clock.now += 2.0  # steps of 2 s
        limit.lap()
    # 44 s of the limit are left: a 30 s scoring, a 2 s step, an 11.5 s end and END_S fit.
    assert limit.fits(clock.now, 30.0, 11.5) and not limit.fits(clock.now, 30.5, 11.5)
    assert limit.progress(clock.now) == pytest.approx(16.0 / 60.0)
    assert scoring_pace.TimeLimit(None, 0.0).fits(1e9, 1e9, 1e9)


def test_slow_scorings_are_spaced_and_fast_ones_are_not(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(scoring_pace, "time", clock)
    pace = scoring_pace.ScoringPace(torch.device("cpu"))
    with pace:
        clock.now += 0.5  # a fast scoring: every epoch end is scored
    assert pace.due(last_step=False)
    with pace:
        clock.now += 3.0  # a large held-out image: scored again after 4 x 3 s, or at the end
    clock.now += 11.0
    assert not pace.due(last_step=False) and pace.due(last_step=True)
    clock.now += 1.0
    assert pace.due(last_step=False)


def test_the_last_scoring_is_expected_to_take_the_median_of_the_runs_scorings(monkeypatch):
    """One slow scoring (a large image decoded again) does not end a limited run seconds early,
    nor one quick scoring late: the run's end reserves the median of its scorings."""
    clock = FakeClock()
    monkeypatch.setattr(scoring_pace, "time", clock)
    pace = scoring_pace.ScoringPace(torch.device("cpu"), estimate_s=2.2)
    assert pace.expected_s == 2.2 and pace.last_s == 2.2
    for length in (2.0, 4.6, 2.4):
        with pace:
            clock.now += length
    assert pace.last_s == pytest.approx(2.4) and pace.expected_s == pytest.approx(
        2.3
    )  # of 2.2, 2.0, 4.6, 2.4
    with pace:
        clock.now += 9.0
    assert pace.expected_s == pytest.approx(2.4)
    assert scoring_pace.ScoringPace(torch.device("cpu")).expected_s == 0.0


def test_sparse_validation_keeps_the_latest_weights_and_full_masks_the_best_epoch():
    """Strokes do not score edges, so an epoch chosen by them is chosen by noise: the run keeps
    its latest weights; with complete validation masks it keeps the epoch that scored best."""
    train = shapes_dataset(4, seed=0)
    settings = TrainSettings(max_steps=24, **FAST)  # 4 images of 64 x 64: one step an epoch

    sparse = fit(settings, train, _scribbled(shapes_dataset(2, seed=1), 20, 0), default_classes(3))
    assert sparse.kept_latest
    assert sparse.best_metrics.mean_iou == sparse.history[-1]["mean_iou"]

    dense = fit(settings, train, shapes_dataset(2, seed=1), default_classes(3))
    scores = [h["mean_iou"] for h in dense.history]
    assert not dense.kept_latest
    assert dense.best_metrics.mean_iou == max(scores)  # which epoch that was depends on the CPU


@pytest.mark.parametrize("latest", [False, True])
def test_best_keeper_keeps_the_best_or_the_latest_weights_offered(latest):
    from model.prediction.metrics import metrics_from_confusion
    from model.training.fit_setup import BestKeeper

    layer = torch.nn.Linear(1, 1, bias=False)
    keeper = BestKeeper(0, torch.device("cpu"), latest=latest)
    for weight, score in ((1.0, 0.5), (2.0, 0.8), (3.0, 0.6)):
        with torch.no_grad():
            layer.weight.fill_(weight)
        hits = round(100 * score)
        keeper.offer(layer, metrics_from_confusion(np.array([[hits, 100 - hits], [0, 100]])))
    kept = float(keeper.state["weight"])
    assert kept == (3.0 if latest else 2.0)
    assert keeper.metrics.iou[0] == pytest.approx(0.6 if latest else 0.8)


def test_the_weight_average_follows_every_weight_and_batch_norm_statistic():
    """The average moves each float tensor toward the model's by (1 - decay), and copies counts."""
    import copy

    from model.networks.unet import build_unet, preset
    from model.training.ema import WeightAverage

    model = build_unet(preset("fast", in_channels=1, num_classes=2))
    average = WeightAverage(model, decay=0.5)
    before = copy.deepcopy(average.shadow.state_dict())
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.add_(1) if tensor.dtype.is_floating_point else tensor.fill_(7)
    average.update(model)  # decay ramps: min(0.5, 2 / 11) on the first update
    share = 1 - 2 / 11
    for name, value in average.shadow.state_dict().items():
        if value.dtype.is_floating_point:
            assert torch.allclose(value, before[name] + share, atol=1e-6), name
        else:
            assert torch.equal(value, torch.full_like(value, 7)), name
