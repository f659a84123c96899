"""Slides as safe as images (issue #37), through the real window: a mask of another size, two
windows on one slide, damaged tiles, odd entries in the mask folder, an empty TIFF, a journal from
elsewhere, a killed import's leftovers and a disk too full for the lock file."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from model.classes import IGNORE_INDEX, default_classes
from model.storage import atomic
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import read_mask, write_mask
from model.storage.stroke_journal import JOURNAL_FILE, JournalRecord, StrokeJournal
from seggui.controllers.questions import TAKE_OVER
from seggui.state.label_status import Status
from tests.seggui.conftest import at_zoom_one, drag, landed, open_folder
from tests.seggui.test_reliability import _second_window
from tests.seggui.test_slides_in_window import HEIGHT, WIDTH, all_tiles_drawn, open_slide, slide_folder

__all__ = ["slide_folder"]  # the fixture, used by name

CLASSES = default_classes(2)


def _said(window) -> list[str]:
    said: list[str] = []
    window.state.failed.connect(said.append)
    return said


# -- 2: a chunked mask of another size is named, kept aside, and a new one takes the strokes ----------
def test_a_slide_mask_of_another_size_is_set_aside_and_strokes_are_kept(qtbot, window, slide_folder):
    folder, _ = slide_folder
    small = ChunkedMask.create(folder / "masks" / "slide.zarr", (200, 200))
    small.write(0, 0, np.full((200, 200), 1, np.uint8))
    small.save()
    said = _said(window)
    open_slide(qtbot, window, folder)
    assert any("a mask of 200 x 200 beside a slide of 2,600 x 1,900" in m for m in said), said
    assert window.state.document.label_at(50, 50) == IGNORE_INDEX  # none of the small mask is used
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(4)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(300.5, 300.5), (320.5, 300.5)])
    x, y = landed(window, 310.5, 300.5)
    on_disk = zarr.open_array(str(folder / "masks" / "slide.zarr"), mode="r")
    assert on_disk.shape == (HEIGHT, WIDTH) and on_disk[int(y), int(x)] == 1
    kept = zarr.open_array(str(folder / "masks" / "slide.zarr.unusable"), mode="r")
    assert kept.shape == (200, 200) and int(kept[:, :].min()) == 1  # the old mask as it was


# -- 3: two windows on one slide ------------------------------------------------------------------------
def test_two_windows_on_one_slide_lose_no_stroke_a_changed_chunk_goes_to_a_conflict_copy(
    qtbot, window, slide_folder, tmp_path
):
    folder, _ = slide_folder
    mask_folder = folder / "masks" / "slide.zarr"
    open_slide(qtbot, window, folder)
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(3)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(20.5, 20.5), (40.5, 20.5)])  # A's first stroke, saved

    second, _ = _second_window(qtbot, tmp_path, TAKE_OVER)  # "Edit anyway"
    second.resize(1900, 1000)
    second.show()
    open_slide(qtbot, second, folder)
    second.canvas.actual_size()
    assert second.state.document.label_at(30, 20) == 1  # B sees A's stroke (it has read chunk 0.0)

    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(20.5, 60.5), (40.5, 60.5)])  # A again, in the same chunk
    second.tool_state.set_class(1)
    second.tool_state.set_brush_radius(3)
    with qtbot.waitSignal(second.store.problem_found, timeout=10000) as problem:
        drag(qtbot, second, [(20.5, 100.5), (40.5, 100.5)])  # B, from its older read of chunk 0.0
    assert "changed on disk by another window" in problem.args[0]
    assert "slide.conflict.zarr" in problem.args[0]
    with qtbot.waitSignal(second.store.saved, timeout=10000):
        drag(qtbot, second, [(20.5, 140.5), (40.5, 140.5)])  # B's next stroke there: to the copy too
    qtbot.waitUntil(lambda: not second.store.has_unsaved(), timeout=10000)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(20.5, 180.5), (40.5, 180.5)])  # A's saves go on as before
    qtbot.waitUntil(lambda: not window.store.has_unsaved(), timeout=10000)

    main = zarr.open_array(str(mask_folder), mode="r")[:300, :300]
    copy = zarr.open_array(str(folder / "masks" / "slide.conflict.zarr"), mode="r")[:300, :300]
    for y in (20, 60, 180):  # A's strokes: on the mask
        assert main[y, 30] == 1, y
    for y in (100, 140):  # B's: in the conflict copy, none lost, none mixed into A's chunk
        assert main[y, 30] == IGNORE_INDEX and copy[y, 30] == 1, y
    second.close()


# -- 6: a damaged tile is drawn as missing, named, and the workers draw on ----------------------------
def _damage_tile(path, level: int, index: int) -> None:
    with tifffile.TiffFile(path) as tif:
        page = tif.series[0].levels[level].keyframe
        offset, count = page.dataoffsets[index], page.databytecounts[index]
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(bytes(count))  # zeroed: zlib cannot inflate them


def test_damaged_tiles_are_named_and_drawn_as_missing_and_the_workers_draw_on(qtbot, window, slide_folder):
    folder, _ = slide_folder
    for level in (0, 1):  # the overview (level 2) is sound: the slide opens
        for index in (0, 1, 2):
            _damage_tile(folder / "slide.tif", level, index)
    said = _said(window)
    open_slide(qtbot, window, folder)
    all_tiles_drawn(qtbot, window)
    fitted = window.state.slide.reader.level_for(1 / window.canvas.zoom).index
    window.canvas.actual_size()  # level 0 now: three more damaged tiles on screen
    all_tiles_drawn(qtbot, window)
    for level in {min(fitted, 1), 0}:
        assert any(f"tile 0 of level {level}" in m and "drawn as missing" in m for m in said), (level, said)
    tiles = window.slide_tiles
    assert all(thread.is_alive() for thread in tiles._threads)
    drawn_at_zero = [key for key in tiles._images if key.level == 0]
    assert len(drawn_at_zero) >= 4  # the sound tiles on screen are drawn after six bad ones


# -- 8: an odd entry in the mask folder is its image's problem ------------------------------------------
@pytest.mark.parametrize("odd", ["file", "loop", "superscript chunk"])
def test_an_odd_slide_mask_entry_lists_its_slide_as_unreadable_and_the_folder_opens(
    qtbot, window, slide_folder, odd
):
    folder, _ = slide_folder
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(folder / "a.png")
    (folder / "masks").mkdir()
    write_mask(folder / "masks" / "a.png", np.ones((40, 60), np.uint8), CLASSES)
    entry = folder / "masks" / "slide.zarr"
    if odd == "file":
        entry.write_text("not a folder")
    elif odd == "loop":
        entry.symlink_to(entry)
    else:
        mask = ChunkedMask.create(entry, (HEIGHT, WIDTH))
        mask.write(0, 0, np.ones((8, 8), np.uint8))
        mask.save()
        (entry / "².0").write_bytes(b"x")
    open_folder(qtbot, window, folder)
    model = window.browser.model
    assert [r.path.name for r in model.records()] == ["a.png", "slide.tif"]
    assert model.status_of(folder / "a.png") == Status.LABELLED
    if odd == "superscript chunk":  # not a chunk name: the mask opens, its labels with it
        assert model.status_of(folder / "slide.tif") == Status.PARTLY
        return
    assert model.status_of(folder / "slide.tif") == Status.MASK_UNREADABLE
    said = _said(window)
    with qtbot.waitSignal(window.state.slide_opened, timeout=10000):
        window.session.open_image(folder / "slide.tif")
    assert any("slide.zarr" in m and "starts a new mask" in m for m in said), said


# -- 10: a TIFF with no pixels --------------------------------------------------------------------------
def test_a_tiff_with_no_pixels_is_named_and_the_folder_works(qtbot, window, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(folder / "a.png")
    with pytest.warns(UserWarning):  # tifffile warns that such a file is no proper TIFF
        tifffile.imwrite(folder / "empty.tif", np.zeros((0, 0), np.uint8))
    open_folder(qtbot, window, folder)
    model = window.browser.model
    qtbot.waitUntil(lambda: model.status_of(folder / "empty.tif") == Status.UNREADABLE, timeout=10000)
    record = next(r for r in model.records() if r.path.name == "empty.tif")
    assert "the image has no pixels (0 x 0)" in record.error
    bar = window.statusBar()
    window.session.open_image(folder / "empty.tif")
    qtbot.waitUntil(lambda: "empty.tif: the image has no pixels" in bar.currentMessage(), timeout=10000)
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.open_image(folder / "a.png")  # and the window works on


# -- 4: a journal from elsewhere ------------------------------------------------------------------------
def test_a_journal_record_of_the_wrong_size_leaves_the_good_mask_and_the_folder_opens(
    qtbot, window, tmp_path
):
    folder = tmp_path / "p"
    (folder / "masks").mkdir(parents=True)
    Image.fromarray(np.zeros((96, 96, 3), np.uint8)).save(folder / "a.png")
    good = np.full((96, 96), 1, np.uint8)
    write_mask(folder / "masks" / "a.png", good, CLASSES)
    journal = StrokeJournal(folder / JOURNAL_FILE)
    journal.append(JournalRecord("a.png", (97, 96), 1, ((0, 0, np.zeros((64, 64), np.uint8)),)))
    journal.append(JournalRecord("a\0.png", (96, 96), 2, ((0, 0, np.zeros((64, 64), np.uint8)),)))
    journal.close()
    said = _said(window)
    open_folder(qtbot, window, folder)
    assert np.array_equal(read_mask(folder / "masks" / "a.png"), good)
    assert not list((folder / "masks").glob("*unusable*"))
    assert np.array_equal(window.state.document.mask, good)
    assert any("96 x 96" in m and "not restored" in m for m in said), said
    assert any("not a file name" in m for m in said), said


# -- 11: a killed slide import's staging folder is swept on opening ---------------------------------------
def test_opening_sweeps_what_a_killed_slide_import_left(qtbot, window, slide_folder):
    folder, _ = slide_folder
    staging = folder / "masks" / ".slide.zarr.importing-0a1b2c3d"
    half = ChunkedMask.create(staging, (HEIGHT, WIDTH))
    half.write(0, 0, np.ones((600, 600), np.uint8))
    half.save()
    open_slide(qtbot, window, folder)
    assert not staging.exists()
    assert not (folder / "masks" / "slide.zarr").exists()  # the import never finished: no mask


# -- 12: a disk too full for the lock file ---------------------------------------------------------------
def test_a_folder_whose_lock_file_cannot_be_written_opens_read_only_and_says_why(
    qtbot, window, tmp_path, monkeypatch
):
    folder = tmp_path / "p"
    folder.mkdir()
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(folder / "a.png")
    real = atomic.atomic_write

    def full_disk(path, write):
        if path.name == ".seggui.lock":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, write)

    monkeypatch.setattr("model.storage.folder_lock.atomic_write", full_disk)
    said = _said(window)
    open_folder(qtbot, window, folder)
    assert window.state.read_only and window.editor.read_only
    assert any("No space left on device" in m and "read-only" in m for m in said), said
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (30, 10)])
    assert not (folder / "masks" / "a.png").exists()


def test_no_thread_is_left_waiting_by_a_fifo_in_a_slide_mask(qtbot, window, slide_folder):
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    folder, _ = slide_folder
    mask = ChunkedMask.create(folder / "masks" / "slide.zarr", (HEIGHT, WIDTH))
    mask.write(0, 0, np.ones((8, 8), np.uint8))
    mask.save()
    os.mkfifo(folder / "masks" / "slide.zarr" / "1.1")
    before = threading.active_count()
    said = _said(window)
    open_slide(qtbot, window, folder)
    all_tiles_drawn(qtbot, window)
    window.canvas.actual_size()
    window.canvas.centerOn(700, 700)
    all_tiles_drawn(qtbot, window)
    qtbot.waitUntil(lambda: any("1.1" in m and "not a regular file" in m for m in said), timeout=10000)
    assert threading.active_count() <= before + 8  # nothing stuck opening the fifo
