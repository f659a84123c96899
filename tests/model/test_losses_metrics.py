from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.classes import IGNORE_INDEX
from model.prediction.metrics import confusion_matrix, metrics_from_confusion
from model.training.losses import LOSSES, segmentation_loss


@pytest.mark.parametrize("kind", LOSSES)
def test_unlabelled_pixels_get_zero_gradient(kind):
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.full((2, 8, 8), IGNORE_INDEX)
    target[0, :4, :4] = 1
    target[1, 2:5, 3:6] = 2
    target[1, 0, 0] = 0
    segmentation_loss(logits, target, kind).backward()
    grad = logits.grad.abs().sum(dim=1)
    labelled = target != IGNORE_INDEX
    assert torch.all(grad[~labelled] == 0)
    assert torch.all(grad[labelled] > 0)


@pytest.mark.parametrize("kind", LOSSES)
def test_all_unlabelled_batch_gives_zero_loss(kind):
    logits = torch.randn(1, 2, 4, 4, requires_grad=True)
    loss = segmentation_loss(logits, torch.full((1, 4, 4), IGNORE_INDEX), kind)
    loss.backward()
    assert loss.item() == 0 and logits.grad.abs().sum() == 0


def test_confident_correct_logits_have_lower_loss_than_wrong_ones():
    target = torch.randint(0, 3, (1, 6, 6))
    right = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float() * 10
    assert segmentation_loss(right, target) < 0.05
    assert segmentation_loss(-right, target) > 1.0


def test_iou_and_dice_count_only_labelled_pixels():
    truth = np.array([[0, 0, 1, 1], [0, 1, 1, IGNORE_INDEX]], np.uint8)
    pred = np.array([[0, 1, 1, 1], [0, 1, 0, 1]], np.uint8)
    m = metrics_from_confusion(confusion_matrix(truth, pred, 3))
    # class 0: tp 2, fp 1, fn 1 -> IoU 2/4; class 1: tp 3, fp 1, fn 1 -> 3/5; class 2 absent
    assert m.iou[0] == pytest.approx(0.5) and m.iou[1] == pytest.approx(0.6)
    assert m.dice[0] == pytest.approx(4 / 6) and m.dice[1] == pytest.approx(6 / 8)
    assert math.isnan(m.iou[2])
    assert m.mean_iou == pytest.approx(0.55)
    assert m.pixel_accuracy == pytest.approx(5 / 7)


def test_every_loss_name_the_settings_accept_has_its_function():
    from model.training.losses import LOSS_FUNCTIONS
    from model.training.settings import LOSSES

    assert tuple(LOSS_FUNCTIONS) == LOSSES
