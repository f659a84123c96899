"""The mask writer: a failing save is retried once per interval, and a failed write that
``flush`` overtook never replaces the newer file."""

from __future__ import annotations

import errno
import time

import numpy as np

import seggui.autosave as autosave
from model.classes import default_classes
from model.imageio import read_mask
from seggui.autosave import MaskSaver

CLASSES = tuple(default_classes(3))


def test_a_failing_save_is_tried_once_per_retry_interval(qtbot, tmp_path, monkeypatch):
    tries: list[float] = []

    def full_disk(path, mask, classes):
        tries.append(time.perf_counter())
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(autosave, "write_mask", full_disk)
    saver = MaskSaver()
    saver._retry.setInterval(150)
    failures = []
    saver.save_failed.connect(lambda path, message: failures.append(message))
    saver.request(tmp_path / "a.png", np.zeros((8, 8), np.uint8), CLASSES, 1)
    saver.request(tmp_path / "a.png", np.ones((8, 8), np.uint8), CLASSES, 2)  # strokes go on meanwhile
    qtbot.waitUntil(lambda: len(failures) >= 4, timeout=10000)
    gaps = np.diff(tries[:4])
    # Before: the failed write was queued again at once, about 2,450 tries a second.
    assert len(tries) <= len(failures) + 1 and gaps[1:].min() > 0.12, gaps
    assert saver.has_unsaved() and np.array_equal(saver.unsaved_masks()[tmp_path / "a.png"], np.ones((8, 8)))
    saver.shutdown()


def test_a_failed_write_overtaken_by_flush_does_not_replace_the_newer_file(qtbot, tmp_path, monkeypatch):
    real_write = autosave.write_mask

    def fail_revision_one(path, mask, classes):
        if mask[0, 0] == 1:
            raise OSError(errno.EIO, "Input/output error")
        real_write(path, mask, classes)

    monkeypatch.setattr(autosave, "write_mask", fail_revision_one)
    saver = MaskSaver()
    saver._retry.setInterval(50)
    path = tmp_path / "a.png"
    old, new = np.full((8, 8), 1, np.uint8), np.full((8, 8), 2, np.uint8)
    saver.request(path, old, CLASSES, 1)  # in flight, will fail
    saver.request(path, new, CLASSES, 2)  # queued behind it
    assert saver.flush() == []  # waits for the failing write, then writes revision 2
    assert np.array_equal(read_mask(path), new)
    with qtbot.waitSignal(saver.saved, timeout=1000, raising=False):
        pass  # let the queued results of the writer thread arrive
    qtbot.waitUntil(lambda: not saver.has_unsaved(), timeout=5000)
    # Before: the stale failure was queued again, and its retry wrote revision 1 over revision 2.
    assert np.array_equal(read_mask(path), new)
    saver.shutdown()
