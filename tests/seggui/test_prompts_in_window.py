"""The prompt tool as a person uses it, in the window ``python main.py`` starts: O, a click, a
shift+click, a dragged box, Enter, Esc, undo, on a photograph-like image, a 16-bit 4-channel
image, a stack plane and a slide far from its origin; and the first-use dialog. The stand-in
prompt model is served from 127.0.0.1 (its mask: a disk of ``RADIUS`` around each click)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from model.classes import IGNORE_INDEX
from model.prompts.catalogue import is_cached
from model.prompts.stand_in import expected_mask
from model.storage import tiff_files
from model.storage.stroke_journal import JOURNAL_FILE, decode_records
from seggui.controllers.prompting import CACHE_FOLDER
from seggui.widgets.prompt_model_dialog import PromptModelDialog
from tests.seggui.conftest import drag, landed, view_point, write_svs


def _key(qtbot, window, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifier)


def _click(qtbot, window, x: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> tuple[float, float]:
    """Click image point (x, y); returns where it landed (the view snaps to a screen pixel)."""
    where = view_point(window, x, y)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, modifier, pos=where)
    inverse, _ = window.canvas.viewportTransform().inverted()
    point = inverse.map(QPointF(where))
    return point.x(), point.y()


def _ready(qtbot, window, model: str) -> None:
    """Choose the stand-in, press O, wait until the image is encoded."""
    window.prompting.set_model(model)
    window.canvas.actual_size()
    _key(qtbot, window, Qt.Key.Key_O)
    assert window.tool_state.tool == "prompt" and window.canvas.tool is window.tools["prompt"]
    qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)


def _proposal(qtbot, window):
    qtbot.waitUntil(lambda: window.prompting.proposal is not None, timeout=10000)
    return window.prompting.proposal


def _photo_folder(tmp_path, shape=(160, 200)):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(folder / name)
    return folder


def test_click_shift_click_enter_paints_the_object_as_one_undoable_journalled_edit(
    qtbot, started, tmp_path, prompt_model
):
    folder = _photo_folder(tmp_path)
    window = started(folder)
    _ready(qtbot, window, prompt_model)
    _key(qtbot, window, Qt.Key.Key_1)
    p1 = _click(qtbot, window, 60.5, 70.5)
    proposal = _proposal(qtbot, window)
    assert np.array_equal(proposal.mask, expected_mask((160, 200), [p1], [1]))
    assert (window.state.document.mask == IGNORE_INDEX).all()  # a proposal is not a label yet
    assert not window.canvas.proposal_item.pixmap().isNull()
    p2 = _click(qtbot, window, 68.5, 70.5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(window.prompting.proposal.prompts.points) == 2, timeout=10000)
    wanted = expected_mask((160, 200), [p1, p2], [1, 0])
    assert np.array_equal(window.prompting.proposal.mask, wanted)
    _key(qtbot, window, Qt.Key.Key_Return)
    mask = window.state.document.mask
    assert np.array_equal(mask == 1, wanted) and (mask[~wanted] == IGNORE_INDEX).all()
    assert window.prompting.proposal is None and window.canvas.proposal_item.pixmap().isNull()
    journal = folder / JOURNAL_FILE
    qtbot.waitUntil(lambda: journal.exists() and len(decode_records(journal.read_bytes())[0]) == 1)
    window.actions.edit.undo.trigger()
    assert (window.state.document.mask == IGNORE_INDEX).all()
    window.actions.edit.redo.trigger()
    assert np.array_equal(window.state.document.mask == 1, wanted)


def test_a_box_then_esc_drops_it_and_nothing_is_painted(qtbot, started, tmp_path, prompt_model):
    window = started(_photo_folder(tmp_path))
    _ready(qtbot, window, prompt_model)
    drag(qtbot, window, [(20.5, 30.5), (40.5, 50.5), (80.5, 90.5)])
    proposal = _proposal(qtbot, window)
    box = (*landed(window, 20.5, 30.5), *landed(window, 80.5, 90.5))
    assert np.array_equal(proposal.mask, expected_mask((160, 200), [], [], box))
    ys, xs = np.nonzero(proposal.mask)
    assert xs.min() == 21 and ys.min() == 31 and xs.max() in (80, 81) and ys.max() in (90, 91)
    _key(qtbot, window, Qt.Key.Key_Escape)
    assert window.prompting.proposal is None and window.prompting.prompts.empty
    assert (window.state.document.mask == IGNORE_INDEX).all()
    assert not window.actions.prompts.accept.isEnabled()


def test_paint_only_unlabelled_pixels_holds_for_prompts(qtbot, started, tmp_path, prompt_model):
    window = started(_photo_folder(tmp_path))
    _ready(qtbot, window, prompt_model)
    window.actions.tools.keep_labels.trigger()
    window.tool_state.set_tool("brush")
    window.tool_state.set_class(0)
    window.tool_state.set_brush_radius(3)
    drag(qtbot, window, [(60.5, 70.5), (60.5, 70.5)])
    before = window.state.document.mask.copy()
    _key(qtbot, window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)
    _key(qtbot, window, Qt.Key.Key_1)
    point = _click(qtbot, window, 60.5, 70.5)
    _proposal(qtbot, window)
    window.actions.prompts.accept.trigger()  # the menu's Keep Proposed Object, as Enter
    mask = window.state.document.mask
    wanted = expected_mask((160, 200), [point], [1])
    assert (before == 0).sum() > 20 and (mask[before == 0] == 0).all()  # the brush's pixels stay
    assert np.array_equal(mask == 1, wanted & (before == IGNORE_INDEX))


def test_a_16_bit_4_channel_image_and_a_stack_plane(qtbot, started, tmp_path, prompt_model):
    folder = tmp_path / "micro"
    folder.mkdir()
    rng = np.random.default_rng(1)
    cells = rng.integers(0, 4000, (4, 120, 150), dtype=np.uint16)
    tifffile.imwrite(folder / "cells.tif", cells, photometric="minisblack", metadata={"axes": "CYX"})
    stack = rng.integers(0, 255, (3, 120, 150), dtype=np.uint8)
    tifffile.imwrite(folder / "stack.tif", stack, photometric="minisblack", metadata={"axes": "ZYX"})
    window = started(folder)
    _ready(qtbot, window, prompt_model)
    seen = []
    for _ in range(3):
        assert window.state.current is not None
        current = window.state.current
        seen.append((current.path.name, current.raw.dtype, current.raw.shape))
        shape = window.state.current.mask.shape
        point = _click(qtbot, window, 40.5, 50.5)
        proposal = _proposal(qtbot, window)
        assert np.array_equal(proposal.mask, expected_mask(shape, [point], [1]))
        _key(qtbot, window, Qt.Key.Key_Return)
        assert np.array_equal(window.state.document.mask == 1, proposal.mask)
        path = window.state.current.path
        with qtbot.waitSignal(window.state.image_opened, timeout=20000):
            window.actions.view.next_image.trigger()
        assert window.state.current.path != path
        qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)
    assert seen[0] == ("cells.tif", np.uint16, (120, 150, 4))  # all four channels, 16-bit
    assert [name for name, _, _ in seen[1:]] == ["stack.tif", "plane-2"]  # two planes of the stack


def test_a_click_far_into_a_slide_lands_where_it_was_made(
    qtbot, started, tmp_path, monkeypatch, prompt_model
):
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)
    image = np.random.default_rng(3).integers(0, 256, (2600, 3000, 3), dtype=np.uint8)
    folder = tmp_path / "slides"
    folder.mkdir()
    write_svs(folder / "biopsy.svs", image)
    window = started(folder)
    assert window.state.slide is not None
    window.prompting.set_model(prompt_model)
    window.canvas.actual_size()
    _key(qtbot, window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: window.prompting._checked, timeout=10000)  # a slide waits for its click
    window.canvas.centerOn(2700, 2300)
    point = _click(qtbot, window, 2700.5, 2300.5)
    proposal = _proposal(qtbot, window)
    window_rect = proposal.window
    assert window_rect.width == window_rect.height == 1024 and window_rect.contains(*point)
    _key(qtbot, window, Qt.Key.Key_1)
    _key(qtbot, window, Qt.Key.Key_Return)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    chunked = window.state.slide.mask
    painted = chunked.read(2300 - 20, 2700 - 20, 40, 40)
    wanted = expected_mask((2600, 3000), [point], [1])[2280:2320, 2680:2720]
    assert np.array_equal(painted == 1, wanted)


def test_the_embedding_is_kept_on_disk_and_the_next_image_is_prepared(qtbot, started, tmp_path, prompt_model):
    folder = _photo_folder(tmp_path)
    window = started(folder)
    _ready(qtbot, window, prompt_model)
    cache = folder / CACHE_FOLDER
    qtbot.waitUntil(
        lambda: len(list(cache.glob("*.npz"))) == 2, timeout=20000
    )  # this one, the next (prefetched)


def test_first_use_asks_and_downloads_with_progress(qtbot, started, tmp_path, served_prompt_model):
    window = started(_photo_folder(tmp_path))
    window.prompting.set_model(served_prompt_model.name)
    _key(qtbot, window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: window.weights.dialog is not None, timeout=10000)  # asked on a worker
    dialog = window.weights.dialog
    assert isinstance(dialog, PromptModelDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: "Download:" in dialog.size_label.text(), timeout=10000)
    assert served_prompt_model.requests == [
        "/files/stand_in_encoder.onnx",
        "/files/stand_in_decoder.onnx",
    ]  # the size asked with HEAD; nothing fetched before Download
    with qtbot.waitSignal(dialog.ready, timeout=20000):
        dialog.download_button.click()
    assert is_cached(served_prompt_model.name)
    qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)


def test_a_failed_download_says_why_and_load_from_file_works(qtbot, started, tmp_path, served_prompt_model):
    window = started(_photo_folder(tmp_path))
    window.prompting.set_model(served_prompt_model.name)
    served_prompt_model.direct = False  # offline
    _key(qtbot, window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: window.weights.dialog is not None, timeout=10000)  # asked on a worker
    dialog = window.weights.dialog
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.download_button.isEnabled(), timeout=30000)
    text = dialog.message.text()
    assert "Cannot download" in text and "OSAM_BLOB_ENDPOINT" in text and "Load From File" in text
    assert "404" in dialog.details.toPlainText() and dialog.details.isVisible()
    with qtbot.waitSignal(dialog.ready, timeout=20000):
        dialog.load_files(list(served_prompt_model.files.values()))
    assert is_cached(served_prompt_model.name)
    qtbot.waitUntil(lambda: window.prompting._embedding is not None, timeout=20000)


def test_cancel_stops_the_download_and_keeps_nothing(qtbot, started, tmp_path, served_prompt_model):
    window = started(_photo_folder(tmp_path))
    window.prompting.set_model(served_prompt_model.name)
    served_prompt_model.hold_after = 512
    _key(qtbot, window, Qt.Key.Key_O)
    qtbot.waitUntil(lambda: window.weights.dialog is not None, timeout=10000)  # asked on a worker
    dialog = window.weights.dialog
    dialog.download_button.click()
    assert served_prompt_model.held.wait(20)
    dialog.cancel_button.click()
    served_prompt_model.release.set()
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text(), timeout=20000)
    assert not is_cached(served_prompt_model.name)
    home = tmp_path / "home" / ".cache" / "osam"
    assert not home.exists() or not [p for p in home.rglob("*") if p.is_file()]


@pytest.mark.parametrize("name", ["efficientsam:10m", "sam2:large"])
def test_the_prompt_model_menu_names_each_model_and_its_licence(qtbot, started, tmp_path, name):
    window = started(_photo_folder(tmp_path))
    model_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Model")
    prompt_menu = next(a.menu() for a in model_menu.actions() if a.text() == "Prompt &Model")
    prompt_menu.aboutToShow.emit()
    action = window.actions.prompts.models[name]
    assert "Apache-2.0" in action.text()
    other = next(a for n, a in window.actions.prompts.models.items() if n != name)
    other.trigger()
    action.trigger()
    assert window.prompting.model_name == name
    assert window.settings.value("prompts/model") == name


PROMPT_DRIVER = """
import sys
from pathlib import Path
from PySide6.QtCore import QEventLoop, QSettings
from model.prompts.catalogue import load_from_files
from model.prompts.stand_in import register_stand_in, stand_in_files
from seggui import app

folder, log, made = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
name = register_stand_in("http://127.0.0.1:9/not-served", made / "registered")
load_from_files(name, list(stand_in_files(made / "files").values()))
qt = app.application()
window = app.start(folder, QSettings(str(made / "settings.ini"), QSettings.Format.IniFormat))
window.store.autosave_timer.setInterval(3_600_000)  # no save: only the journal can keep the object


def until(condition):
    while not condition():  # each round waits for the next event (at most 5 ms), no sleep
        qt.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)


until(lambda: window.state.current is not None)
window.prompting.set_model(name)
window.tool_state.set_tool("prompt")
until(lambda: window.prompting._embedding is not None)
window.prompting.add_point(60.0, 70.0)
until(lambda: window.prompting.proposal is not None)
window.prompting.accept()
until(lambda: (folder / ".seggui-journal").exists())
log.write_text("kept")
until(lambda: False)
"""


def test_a_kept_object_survives_kill_9(qtbot, window, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.seggui.conftest import open_folder

    folder = _photo_folder(tmp_path)
    script, log = tmp_path / "driver.py", tmp_path / "kept.log"
    script.write_text(PROMPT_DRIVER.replace('".seggui-journal"', repr(JOURNAL_FILE)))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    driver = subprocess.Popen(
        [sys.executable, str(script), str(folder), str(log), str(tmp_path / "made")], env=env
    )
    try:
        qtbot.waitUntil(lambda: log.exists() or driver.poll() is not None, timeout=60000)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert log.exists(), "the driver ended before keeping the object"
    assert not (folder / "masks" / "a.png").exists()  # never saved: the journal holds it
    open_folder(qtbot, window, folder)
    wanted = expected_mask((160, 200), [(60.0, 70.0)], [1])
    assert np.array_equal(window.state.document.mask == 1, wanted)
    assert "Restored strokes" in window.statusBar().currentMessage()
