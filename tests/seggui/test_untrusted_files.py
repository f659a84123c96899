"""What an adversary found in the app (issue #23): journals that fail unseen, retries that stop, a false
conflict on a slow disk, a project that half opens, a folder listing that dies, broken masks listed
as labelled. Each test failed on main before its fix."""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

import seggui.controllers.mask_write as mask_write
from model.classes import IGNORE_INDEX
from model.storage.atomic import file_stamp
from model.storage.imageio import read_mask, write_mask
from model.storage.project import PROJECT_FILE
from model.storage.stroke_journal import JOURNAL_FILE, decode_records, replay_journal
from seggui.state.document import MaskDocument
from seggui.state.label_status import Status
from tests.seggui.conftest import open_folder
from tests.seggui.test_mask_store import CLASSES, _paint, _store
from tests.seggui.test_reliability import _folder as _images


# -- 3: a name that is not UTF-8, and a journal that cannot work -------------------------------
def test_strokes_on_an_image_whose_name_is_not_utf8_are_journalled_and_survive_a_kill(qtbot, tmp_path):
    name = os.fsdecode(b"im\xe9-\xff")  # Latin-1 bytes from an old instrument's software
    store = _store(tmp_path)
    problems: list[str] = []
    store.problem_found.connect(problems.append)
    document = MaskDocument(np.full((20, 20), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / f"{name}.tif", tmp_path / "masks" / f"{name}.png", document, None)
    journal = tmp_path / JOURNAL_FILE
    for row in range(12):
        _paint(store, document, 1, row=row)
    # Before: the journal thread raised UnicodeEncodeError, swallowed; 0 of 12 strokes came back.
    qtbot.waitUntil(lambda: journal.exists() and len(decode_records(journal.read_bytes())[0]) == 12)
    assert not problems
    copy = tmp_path / "after-the-kill"
    copy.mkdir()
    (copy / JOURNAL_FILE).write_bytes(journal.read_bytes())
    replay = replay_journal(copy, copy / "masks", list(CLASSES), mask_names={f"{name}.png"})
    assert np.array_equal(read_mask(copy / "masks" / f"{name}.png"), document.mask)
    assert not replay.problems
    store.shutdown()


def test_any_failure_of_the_journal_is_said_at_once(qtbot, tmp_path, monkeypatch):
    def broken(record):
        raise ValueError("the encoder cannot take this")

    monkeypatch.setattr("model.storage.stroke_journal.encode_record", broken)
    store = _store(tmp_path)
    document = MaskDocument(np.full((20, 20), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", tmp_path / "masks" / "a.png", document, None)
    with qtbot.waitSignal(store.problem_found, timeout=5000) as said:
        _paint(store, document, 1)
    assert "stroke journal" in said.args[0] and "the encoder cannot take this" in said.args[0]
    assert store.status()[1] and "journal" in store.status()[0]
    store.shutdown()


# -- 4: retries go on after a failed flush ----------------------------------------------------------
def test_a_save_that_failed_in_a_flush_is_retried_on_schedule_once_the_fault_is_mended(
    qtbot, tmp_path, monkeypatch
):
    real_write = mask_write.write_mask
    disk = {"full": True}
    tries: list[float] = []

    def write(path, mask, classes):
        tries.append(1)
        if disk["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, mask, classes)

    monkeypatch.setattr(mask_write, "write_mask", write)
    store = _store(tmp_path)
    store.retry_steps_ms = (100, 200)
    path = tmp_path / "masks" / "a.png"
    document = MaskDocument(np.full((20, 20), IGNORE_INDEX, np.uint8))
    store.open(tmp_path / "a.tif", path, document, None)
    _paint(store, document, 1)
    errors = store.flush()  # closing the window, or opening another folder
    assert errors and "No space left" in errors[0]
    store.set_folder(tmp_path / "elsewhere", CLASSES, read_only=False)  # another folder opened
    disk["full"] = False  # the user frees some space
    # Before: no retry at all after a flush (0 tries in 40 s); the strokes waited for the next close.
    qtbot.waitUntil(lambda: not store.has_unsaved(), timeout=5000)
    assert np.array_equal(read_mask(path), document.mask)
    assert not store.status()[1]
    store.shutdown()


# -- 7: a slow write is not taken for another program's ------------------------------------------
def test_a_save_queued_behind_a_slow_one_is_no_false_conflict(qtbot, tmp_path, monkeypatch):
    real_write = mask_write.write_mask
    first_started, let_it_finish = threading.Event(), threading.Event()

    def slow_first(path, mask, classes):
        if not first_started.is_set():
            first_started.set()
            assert let_it_finish.wait(10)  # a 5000 x 5000 mask taking 2.7 s, say
        real_write(path, mask, classes)

    monkeypatch.setattr(mask_write, "write_mask", slow_first)
    path = tmp_path / "masks" / "a.png"
    path.parent.mkdir()
    write_mask(path, np.full((20, 20), IGNORE_INDEX, np.uint8), list(CLASSES))
    store = _store(tmp_path)
    problems: list[str] = []
    store.problem_found.connect(problems.append)
    document = MaskDocument(read_mask(path).copy())
    store.open(tmp_path / "a.tif", path, document, file_stamp(path))
    _paint(store, document, 1)
    store.save_current()
    assert first_started.wait(5)
    _paint(store, document, 1, row=5)  # the next stroke, while the first save is being written
    store.save_current()  # queued behind it
    let_it_finish.set()
    qtbot.waitUntil(lambda: not store.has_unsaved(), timeout=5000)
    # Before: "changed on disk by another program or window", and every later save went aside.
    assert not problems
    assert not list(path.parent.glob("*.conflict*"))
    assert np.array_equal(read_mask(path), document.mask)
    store.shutdown()


# -- 1, 2, 8: a project that cannot be opened leaves the app as it was -------------------------------
@pytest.mark.parametrize(
    "fields, words",
    [
        ({"predictions_dir": "."}, "predictions_dir"),
        ({"mask_dir": "./"}, "mask_dir"),
        ({"predictions_dir": "masks"}, "predictions_dir"),
        ({"train_settings": {"learning_rate": "fast"}}, "learning_rate"),
        ({"train_settings": {"time_budget_s": "abc"}}, "time_budget_s"),
    ],
)
def test_a_bad_project_file_is_named_and_the_open_project_stays(qtbot, window, tmp_path, fields, words):
    good = _images(tmp_path / "good")
    open_folder(qtbot, window, good)
    bad = _images(tmp_path / "bad")
    classes = [{"name": n} for n in ("background", "a", "b")]
    (bad / PROJECT_FILE).write_text(json.dumps({"classes": classes, **fields}))
    before = {p.name: p.read_bytes() for p in bad.iterdir()}
    with qtbot.waitSignal(window.state.failed, timeout=5000) as said:
        window.session.open_folder(bad)
    assert str(bad / PROJECT_FILE) in said.args[0] and words in said.args[0]
    assert window.state.project.folder == good and window.state.current.path.parent == good
    assert len(window.state.project.classes) == 2
    assert {p.name: p.read_bytes() for p in bad.iterdir()} == before  # nothing written there


# -- 10, 17: the folder listing survives any entry; a broken mask is not "labelled" -----------------
def test_a_folder_with_a_looping_link_opens_and_says_what_it_left_out(qtbot, window, tmp_path):
    folder = _images(tmp_path / "p")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    said: list[str] = []
    window.state.failed.connect(said.append)
    open_folder(qtbot, window, folder)
    assert [r.path.name for r in window.browser.model.records()] == ["im0.png", "im1.png"]
    assert any("loop.png: left out" in m for m in said), said


def test_a_broken_mask_is_listed_as_unreadable_not_as_labelled(qtbot, window, tmp_path):
    folder = _images(tmp_path / "p", names=("im0.png", "im1.png", "im2.png"))
    (folder / "masks").mkdir()
    write_mask(folder / "masks" / "im0.png", np.zeros((80, 100), np.uint8), list(CLASSES))
    (folder / "masks" / "im2.png").write_bytes(b"\x89PNG\r\n\x1a\n then nothing")
    open_folder(qtbot, window, folder)
    model = window.browser.model
    qtbot.waitUntil(lambda: model.status_of(folder / "im2.png") == Status.MASK_UNREADABLE, timeout=10000)
    assert model.status_of(folder / "im0.png") == Status.LABELLED
    row = model.row_of(folder / "im2.png")
    tip = model.data(model.index(row), Qt.ItemDataRole.ToolTipRole)  # why
    assert "im2.png" in tip and "empty mask" in tip


def test_a_read_only_window_writes_nothing_of_the_folder_when_it_loads_a_model(
    qtbot, window, tmp_path, shapes_model
):
    from seggui.controllers.questions import READ_ONLY
    from tests.seggui.test_reliability import _second_window

    folder = _images(tmp_path / "p")
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "a.pt")
    classes = [{"name": n} for n in ("background", "a", "b")]
    (folder / PROJECT_FILE).write_text(json.dumps({"classes": classes}))
    with qtbot.waitSignal(window.choice.model_loaded, timeout=30000):
        open_folder(qtbot, window, folder)  # this window edits the folder
    (folder / PROJECT_FILE).write_text(json.dumps({"classes": classes}))  # its choice forgotten
    before = (folder / PROJECT_FILE).read_bytes()
    second, _ = _second_window(qtbot, tmp_path, READ_ONLY)
    with qtbot.waitSignal(second.choice.model_loaded, timeout=30000):
        open_folder(qtbot, second, folder)
    second.close()
    # The model it uses is remembered in memory only: the folder is the other window's.
    assert (folder / PROJECT_FILE).read_bytes() == before
