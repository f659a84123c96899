"""Choosing torch's thread count by timing training steps."""

from __future__ import annotations

import pytest
import torch

from model.classes import default_classes
from model.compute.threads import ThreadTuner, candidate_counts
from model.training.settings import TrainSettings
from model.training.train import StepEnded, fit
from tests.synthetic import shapes_dataset


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_candidates():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [2, 1]
    assert candidate_counts(16) == [16, 15, 8]


@pytest.mark.parametrize(("costs", "expected"), [({2: 0.5, 1: 0.2}, 1), ({2: 0.1, 1: 0.19}, 2)])
def test_the_tuner_keeps_the_faster_count_and_tries_again_later(restore_threads, costs, expected):
    tuner = ThreadTuner(2, period_s=1000.0, trial_steps=3)
    counts = []
    for _ in range(12):
        tuner.before_step()
        counts.append(torch.get_num_threads())
        tuner.after_step(costs[torch.get_num_threads()])
    assert tuner.chosen == expected and torch.get_num_threads() == expected and tuner.rounds == 1
    assert counts[:8] == [2, 2, 2, 2, 1, 1, 1, 1]  # one settling step after each change, then 3 timed
    tuner._next_round = 0.0  # the period has passed: a new round measures again
    tuner.before_step()
    assert torch.get_num_threads() == 2


def test_fit_uses_fixed_threads_when_asked_and_restores_them(restore_threads):
    torch.set_num_threads(2)
    seen: list[int] = []
    settings = TrainSettings(max_steps=3, crop_size=32, batch_size=2, device="cpu", threads=1)
    fit(
        settings,
        shapes_dataset(2, size=32),
        [],
        default_classes(3),
        on_event=lambda e: seen.append(e.threads) if isinstance(e, StepEnded) else None,
    )
    assert seen == [1, 1, 1] and torch.get_num_threads() == 2


def test_collections_wait_while_many_lasting_objects_are_made_and_resume_after():
    import gc

    from model.compute.memory import many_lasting_objects

    assert gc.isenabled()
    with many_lasting_objects():
        assert not gc.isenabled()
        with many_lasting_objects():  # nested (two scans at once) keeps it paused
            pass
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() >= len(made)
    gc.unfreeze()
