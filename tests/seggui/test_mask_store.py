"""The mask store: back-off on a failing disk, no stale overwrite, no silent replacement of a file
someone else changed, and every edit in the journal before the next one."""

from __future__ import annotations

import errno
import os
import time

import numpy as np

import seggui.controllers.mask_store as mask_store
import seggui.controllers.mask_write as mask_write
from model.classes import IGNORE_INDEX, default_classes
from model.storage.atomic import file_stamp
from model.storage.imageio import read_mask, write_mask
from model.storage.stroke_journal import JOURNAL_FILE, decode_records, replay_journal
from seggui.controllers.mask_store import MaskStore
from seggui.state.document import MaskDocument

CLASSES = tuple(default_classes(3))


def _paint(store: MaskStore, document: MaskDocument, value: int, row: int = 0) -> None:
    document.begin_edit("brush")
    document.paint_segment(2, row + 0.5, 6, row + 0.5, 0.5, value)
    edit = document.end_edit()
    assert edit is not None
    store.edited(document, [(ty, tx, new) for ty, tx, _, new in edit.tiles])


def _records(journal):
    return decode_records(journal.read_bytes())[0]


def _store(tmp_path, **kwargs) -> MaskStore:
    store = MaskStore()
    store.autosave_timer.setInterval(60_000)  # the tests save explicitly
    store.set_folder(tmp_path, CLASSES, read_only=False)
    return store


def test_a_failing_save_is_tried_once_per_back_off_step(qtbot, tmp_path, monkeypatch):
    tries: list[float] = []

    def full_disk(path, mask, classes):
        tries.append(time.perf_counter())
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mask_write, "write_mask", full_disk)
    store = _store(tmp_path)
    store.retry_steps_ms = (100, 200, 400)
    problems: list[str] = []
    store.problem_found.connect(problems.append)
    document = MaskDocument(np.full((8, 8), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", tmp_path / "masks" / "a.png", document, None)
    _paint(store, document, 1)
    store.save_current()
    _paint(store, document, 2, row=1)  # strokes go on while the disk is full
    store.save_current()
    qtbot.waitUntil(lambda: len(tries) >= 4, timeout=10000)
    gaps = np.diff(tries[:4])
    # Before: a failed write was queued again at once, about 2,450 tries a second.
    assert gaps[0] > 0.08 and gaps[1] > 0.17 and gaps[2] > 0.35, gaps  # Qt timers may fire 5 % early
    assert "No space left" in problems[0] and "a.png" in problems[0]
    assert store.status()[1] and "NOT SAVED" in store.status()[0]
    assert store.has_unsaved()
    assert np.array_equal(store.unsaved_masks()[tmp_path / "a.tif"], document.mask)
    store.shutdown()


def test_a_failed_write_overtaken_by_flush_does_not_replace_the_newer_file(qtbot, tmp_path, monkeypatch):
    real_write = mask_write.write_mask

    def fail_the_first(path, mask, classes):
        if (mask == 1).any() and not (mask == 2).any():
            raise OSError(errno.EIO, "Input/output error")
        real_write(path, mask, classes)

    monkeypatch.setattr(mask_write, "write_mask", fail_the_first)
    store = _store(tmp_path)
    store.retry_steps_ms = (20,)
    path = tmp_path / "masks" / "a.png"
    document = MaskDocument(np.full((8, 8), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", path, document, None)
    _paint(store, document, 1)
    store.save_current()  # in flight, will fail
    _paint(store, document, 2, row=1)
    assert store.flush() == []  # takes the failure, then writes the newer mask
    assert np.array_equal(read_mask(path), document.mask)
    qtbot.wait(100)  # time for a retry, had the stale request been queued again (before: it was)
    assert np.array_equal(read_mask(path), document.mask)
    assert not store.has_unsaved()
    store.shutdown()


def test_a_mask_changed_on_disk_by_someone_else_is_never_replaced(qtbot, tmp_path):
    path = tmp_path / "masks" / "a.png"
    theirs = np.full((8, 8), 2, np.uint8)
    path.parent.mkdir()
    write_mask(path, np.zeros((8, 8), np.uint8), list(CLASSES))
    store = _store(tmp_path)
    problems: list[str] = []
    store.problem_found.connect(problems.append)
    document = MaskDocument(read_mask(path).copy())
    store.open(tmp_path / "a.tif", path, document, file_stamp(path))
    write_mask(path, theirs, list(CLASSES))  # another window saves its strokes
    os.utime(path, ns=(1, 1))  # a clock step the mtime alone would miss is still a different stamp
    _paint(store, document, 1)
    assert store.flush() == []
    assert np.array_equal(read_mask(path), theirs)
    copy = tmp_path / "masks" / "a.conflict.png"
    assert np.array_equal(read_mask(copy), document.mask)
    assert "changed on disk by another" in problems[0] and "a.conflict.png" in problems[0]
    _paint(store, document, 2, row=2)  # later strokes go to the same copy, not over theirs
    assert store.flush() == []
    assert np.array_equal(read_mask(path), theirs)
    assert np.array_equal(read_mask(copy), document.mask)
    store.shutdown()


def test_every_edit_is_journalled_before_the_next_and_the_journal_empties_once_saved(qtbot, tmp_path):
    store = _store(tmp_path)
    path = tmp_path / "masks" / "a.png"
    document = MaskDocument(np.full((100, 130), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", path, document, None)
    journal = tmp_path / JOURNAL_FILE
    for row in range(3):
        _paint(store, document, 1, row=row * 40)
        # On disk, fsync-ed, before the next stroke (the writer takes milliseconds).
        qtbot.waitUntil(lambda n=row + 1: journal.exists() and len(_records(journal)) == n)
    assert not path.exists()
    # A kill now: the next session puts the three strokes into the mask file.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / JOURNAL_FILE).write_bytes(journal.read_bytes() + b"SGJ1\x05torn")  # torn last record
    replay = replay_journal(copy, copy / "masks", list(CLASSES))
    assert replay.restored == [copy / "masks" / "a.png"] and "cut short" in replay.problems[0]
    assert np.array_equal(read_mask(copy / "masks" / "a.png"), document.mask)
    assert not (copy / JOURNAL_FILE).exists()
    # Saved: nothing left to replay.
    assert store.flush() == []
    assert not journal.exists()
    store.shutdown()


def test_replay_moves_an_unreadable_mask_aside_and_keeps_strokes_over_the_saved_file(tmp_path):
    store_dir = tmp_path / "masks"
    store_dir.mkdir()
    write_mask(store_dir / "b.png", np.zeros((70, 70), np.uint8), list(CLASSES))
    (store_dir / "c.png").write_bytes(b"\x89PNG broken")
    from model.storage.stroke_journal import JournalRecord, StrokeJournal

    journal = StrokeJournal(tmp_path / JOURNAL_FILE)
    tile = np.full((64, 64), 1, np.uint8)
    journal.append(JournalRecord("b.png", (70, 70), 1, ((0, 0, tile),)))
    journal.append(JournalRecord("c.png", (70, 70), 2, ((1, 1, np.full((6, 6), 2, np.uint8)),)))
    journal.close()
    from model.storage.atomic import move_aside

    replay = replay_journal(tmp_path, store_dir, list(CLASSES), lambda p: move_aside(p, "unusable"))
    b = read_mask(store_dir / "b.png")
    assert (b[:64, :64] == 1).all() and (b[64:, :] == 0).all() and (b[:, 64:] == 0).all()
    c = read_mask(store_dir / "c.png")
    assert (c[64:, 64:] == 2).all() and (c[:64] == IGNORE_INDEX).all()
    assert (store_dir / "c.unusable.png").read_bytes() == b"\x89PNG broken"
    assert sorted(p.name for p in replay.restored) == ["b.png", "c.png"] and not replay.problems


def test_an_edit_too_large_to_journal_is_saved_at_once(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(mask_store, "JOURNAL_MAX_BYTES", 64 * 64)
    store = _store(tmp_path)
    path = tmp_path / "masks" / "a.png"
    document = MaskDocument(np.full((200, 200), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", path, document, None)
    document.begin_edit("accept prediction")
    document.replace_where(np.ones((200, 200), bool), np.ones((200, 200), np.uint8))
    edit = document.end_edit()
    store.edited(document, [(ty, tx, new) for ty, tx, _, new in edit.tiles])
    qtbot.waitUntil(lambda: path.exists() and not store.has_unsaved(), timeout=10000)  # no debounce wait
    assert (read_mask(path) == 1).all()
    assert not (tmp_path / JOURNAL_FILE).exists()
    store.shutdown()


def test_a_journal_that_cannot_be_written_is_reported_once_and_saving_goes_on(qtbot, tmp_path):
    (tmp_path / JOURNAL_FILE).mkdir()  # something in the way of the journal file
    store = _store(tmp_path)
    problems: list[str] = []
    store.problem_found.connect(problems.append)
    path = tmp_path / "masks" / "a.png"
    document = MaskDocument(np.full((8, 8), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", path, document, None)
    _paint(store, document, 1)
    _paint(store, document, 2, row=1)
    qtbot.waitUntil(lambda: bool(problems))
    assert store.flush() == [] and np.array_equal(read_mask(path), document.mask)
    assert len(problems) == 1 and "stroke journal" in problems[0] and JOURNAL_FILE in problems[0]
    assert "journal" in store.status()[0] and store.status()[1]
    store.shutdown()
