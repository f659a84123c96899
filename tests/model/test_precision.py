"""The precision networks compute in: chosen per device, and for training by timing steps."""

from __future__ import annotations

import pytest
import torch

from model.classes import default_classes
from model.compute import precision
from model.compute.precision import PrecisionTrial, autocast_dtype, training_candidates
from model.training.settings import TrainSettings
from model.training.train import StepEnded, fit
from tests.synthetic import shapes_dataset

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize("amx", [False, True])
def test_bfloat16_is_chosen_only_on_a_cpu_with_amx(monkeypatch, amx):
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: amx)
    assert autocast_dtype(CPU) == (torch.bfloat16 if amx else None)
    assert autocast_dtype(CUDA) == torch.float16
    assert autocast_dtype(torch.device("mps")) is None
    assert autocast_dtype(CPU, "float32") is None
    assert autocast_dtype(CPU, "bfloat16") == torch.bfloat16
    assert training_candidates(CPU, amp=True) == ([None, torch.bfloat16] if amx else [None])
    assert training_candidates(CPU, amp=False) == [None]
    with pytest.raises(ValueError, match="precision must be one of"):
        autocast_dtype(CPU, "int8")


def test_the_trial_keeps_the_faster_precision_taking_turns_after_a_first_uncounted_step():
    trial = PrecisionTrial([None, torch.bfloat16], trial_steps=3)
    seconds = {None: [9.0, 1.0, 1.1, 0.9], torch.bfloat16: [50.0, 2.0, 2.1, 1.9]}
    asked = []
    while trial.deciding:
        dtype = trial.before_step()
        asked.append(dtype)
        trial.after_step(seconds[dtype][asked.count(dtype) - 1])
    assert asked == [None, torch.bfloat16] * 4
    assert trial.times == {None: [1.0, 1.1, 0.9], torch.bfloat16: [2.0, 2.1, 1.9]}
    assert trial.chosen is None  # bfloat16's steps took twice as long
    assert trial.before_step() is None
    assert PrecisionTrial([torch.float16]).deciding is False


def test_a_cpu_run_with_amp_trains_in_the_precision_it_timed(monkeypatch):
    """With bfloat16 on offer the run times both, trains on in the faster, and the loss falls."""
    monkeypatch.setattr(precision, "cpu_has_amx", lambda: True)
    settings = TrainSettings(
        preset="fast", amp=True, device="cpu", max_steps=30, batch_size=4, crop_size=48, learning_rate=3e-3
    )
    steps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            steps.append(event.loss)

    result = fit(settings, shapes_dataset(6), [], default_classes(3), on_event=on_event)
    assert result.precision in ("float32", "bfloat16")
    assert len(steps) == 30
    assert sum(steps[-6:]) / 6 < sum(steps[:6]) / 6
