"""Ranking a prediction's objects by the uncertainty they hold, for the next prompt."""

from __future__ import annotations

import numpy as np

from model.classes import IGNORE_INDEX
from model.prediction.uncertain_objects import uncertain_objects


def _scene():
    classes = np.zeros((60, 80), np.uint8)
    heat = np.zeros((60, 80), np.uint8)
    classes[5:15, 5:25] = 1  # a sure object
    heat[5:15, 5:25] = 20
    classes[30:50, 10:30] = 2  # a large, partly unsure object
    heat[30:50, 10:30] = 90
    heat[30:35, 10:30] = 200
    classes[20:28, 50:58] = 1  # a small, very unsure one
    heat[20:28, 50:58] = 240
    classes[2:4, 70:72] = 1  # a speck
    heat[2:4, 70:72] = 255
    return classes, heat


def test_objects_with_more_unsure_pixels_come_first_and_sure_ones_are_left_out():
    classes, heat = _scene()
    mask = np.full(classes.shape, IGNORE_INDEX, np.uint8)
    found = uncertain_objects(classes, heat, mask)
    assert [(o.class_index, o.box) for o in found] == [(2, (10, 30, 29, 49)), (1, (50, 20, 57, 27))]
    big, small = found
    assert classes[big.y, big.x] == 2 and (big.x, big.y) in {(19, 39), (19, 40), (20, 39), (20, 40)}
    assert classes[small.y, small.x] == 1 and big.pixels == 400 and small.pixels == 64
    assert (big.unsure, small.unsure) == (100, 64)
    assert small.uncertainty == 240 / 255


def test_painted_pixels_are_no_longer_offered():
    classes, heat = _scene()
    mask = np.full(classes.shape, IGNORE_INDEX, np.uint8)
    mask[30:50, 10:30] = 2  # the user labelled the large object
    found = uncertain_objects(classes, heat, mask)
    assert [o.box for o in found] == [(50, 20, 57, 27)]


def test_a_small_wholly_unsure_object_comes_before_a_large_mostly_sure_one():
    classes = np.zeros((60, 80), np.uint8)
    heat = np.zeros((60, 80), np.uint8)
    classes[5:45, 5:45], heat[5:45, 5:45] = 1, 100  # large and sure: its rim alone unsure
    heat[5, 5:45] = 200
    classes[50:58, 60:70], heat[50:58, 60:70] = 1, 220  # 80 unsure pixels
    mask = np.full(classes.shape, IGNORE_INDEX, np.uint8)
    first, second = uncertain_objects(classes, heat, mask)
    assert first.box == (60, 50, 69, 57) and second.box == (5, 5, 44, 44)
