from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from model.classes import IGNORE_INDEX, default_classes
from model.storage.imageio import read_mask, write_mask
from model.storage.project import load_project
from seggui.state.image_list import THUMBNAIL_SIZE
from seggui.state.label_status import Status
from tests.seggui.conftest import at_zoom_one, drag, open_folder


def _folder(tmp_path, n: int = 2):
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    return tmp_path


def test_added_and_renamed_classes_are_saved_and_paintable(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    window.class_panel.add_class("nucleus")
    window.class_panel.list.item(1).setText("cell")  # an in-place edit in the list
    project = load_project(tmp_path)
    assert [c.name for c in project.classes] == ["background", "cell", "nucleus"]
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    assert window.tool_state.class_index == 2
    assert window.class_panel.list.currentRow() == 2
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (12, 10)])
    qtbot.waitUntil(lambda: not window.store.has_unsaved(), timeout=10000)
    with Image.open(tmp_path / "masks" / "im0.png") as img:
        assert tuple(img.getpalette()[6:9]) == project.classes[2].color
    assert read_mask(tmp_path / "masks" / "im0.png", num_classes=3)[10, 10] == 2


def test_contrast_limits_change_the_display_only(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    before = window.canvas.image_layer._image.copy()
    raw_before = window.state.current.raw.copy()
    (view,) = window.display.views
    window.display.set_limits(0, view.low, view.low + (view.high - view.low) / 2)  # brighter
    qtbot.waitUntil(lambda: window.canvas.image_layer._image != before, timeout=5000)
    assert window.canvas.image_layer._image.pixelColor(5, 5).red() >= before.pixelColor(5, 5).red()
    assert np.array_equal(window.state.current.raw, raw_before)


def test_eraser_can_paint_background_instead(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    window.actions.tools.erase_to_background.trigger()
    assert load_project(tmp_path).eraser_mode == "background"
    window.tool_state.set_tool("eraser")
    at_zoom_one(window)
    drag(qtbot, window, [(20, 20), (21, 20)])
    assert window.state.document.mask[20, 20] == 0
    assert (window.state.document.mask == IGNORE_INDEX).sum() < window.state.document.mask.size


def test_thumbnails_load_and_partly_labelled_masks_are_marked(qtbot, window, tmp_path):
    _folder(tmp_path, 3)
    (tmp_path / "masks").mkdir()
    partial = np.full((40, 50), IGNORE_INDEX, np.uint8)
    partial[:5] = 1
    write_mask(tmp_path / "masks" / "im1.png", partial, default_classes(2))
    write_mask(tmp_path / "masks" / "im2.png", np.ones((40, 50), np.uint8), default_classes(2))
    open_folder(qtbot, window, tmp_path)
    model = window.browser.model
    for row in range(3):
        model.index(row).data(Qt.ItemDataRole.DecorationRole)  # what the view asks when a row shows
    thumbnails = window.session.thumbnails
    qtbot.waitUntil(
        lambda: all(thumbnails.cached_image(model.record(r).path) is not None for r in range(3)),
        timeout=10000,
    )
    assert [model.record(r).status for r in range(3)] == [Status.NO_MASK, Status.PARTLY, Status.LABELLED]
    window.browser.filter.setCurrentIndex(window.browser.filter.findData(Status.PARTLY))
    assert window.browser.model.rowCount() == 1
    # A row without a thumbnail (an unreadable file) keeps a thumbnail's room: before, it came
    # back without one, and a list that measured such a row drew every thumbnail over the names.
    (tmp_path / "zz-broken.png").write_bytes(b"not a png")
    window.browser.filter.setCurrentIndex(0)
    window.session.rescan()
    qtbot.waitUntil(lambda: model.row_of(tmp_path / "zz-broken.png") is not None, timeout=10000)
    row = model.row_of(tmp_path / "zz-broken.png")
    model.update(tmp_path / "zz-broken.png", Status.UNREADABLE, "unreadable")
    blank = model.index(row).data(Qt.ItemDataRole.DecorationRole)
    assert blank is not None and blank.size().toTuple() == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)


def test_unusable_mask_is_moved_aside_not_overwritten(qtbot, window, tmp_path):
    _folder(tmp_path, 1)
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "masks" / "im0.png")  # wrong size
    original = (tmp_path / "masks" / "im0.png").read_bytes()
    open_folder(qtbot, window, tmp_path)
    assert "5x5" in window.state.current.mask_problem
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (12, 10)])
    qtbot.waitUntil(lambda: not window.store.has_unsaved(), timeout=10000)
    assert (tmp_path / "masks" / "im0.unusable.png").read_bytes() == original
    assert read_mask(tmp_path / "masks" / "im0.png").shape == (40, 50)
    # A second broken mask of the same name gets a backup of its own (it used to replace the first).
    Image.fromarray(np.ones((6, 6), np.uint8)).save(tmp_path / "masks" / "im0.png")
    second = (tmp_path / "masks" / "im0.png").read_bytes()
    open_folder(qtbot, window, tmp_path)
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (12, 10)])
    qtbot.waitUntil(lambda: not window.store.has_unsaved(), timeout=10000)
    assert (tmp_path / "masks" / "im0.unusable.png").read_bytes() == original
    assert (tmp_path / "masks" / "im0.unusable-2.png").read_bytes() == second


def test_removing_a_class_updates_the_open_mask_and_the_files(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from model.storage.project import Project, save_project

    _folder(tmp_path, 1)
    save_project(Project(tmp_path).with_classes(default_classes(3)))
    (tmp_path / "masks").mkdir()
    write_mask(
        tmp_path / "masks" / "im0.png",
        np.tile(np.array([0, 1, 2, 255], np.uint8), (40, 13))[:, :50],
        default_classes(3),
    )
    open_folder(qtbot, window, tmp_path)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.class_panel.list.setCurrentRow(1)
        window.class_panel.remove_button.click()
    assert [c.name for c in load_project(tmp_path).classes] == ["background", "class 2"]
    assert window.state.document.mask[0, :4].tolist() == [0, 255, 1, 255]
    assert read_mask(tmp_path / "masks" / "im0.png")[0, :4].tolist() == [0, 255, 1, 255]
    assert window.class_panel.list.count() == 2


def test_a_status_filter_keeps_rows_in_view_until_it_changes_and_paging_stays_inside(qtbot, window, tmp_path):
    _folder(tmp_path, 4)
    (tmp_path / "masks").mkdir()
    write_mask(tmp_path / "masks" / "im2.png", np.ones((40, 50), np.uint8), default_classes(2))
    open_folder(qtbot, window, tmp_path)
    browser, model = window.browser, window.browser.model
    browser.filter.setCurrentIndex(browser.filter.findData(Status.NO_MASK))
    assert [browser.path_at(r).name for r in range(model.rowCount())] == ["im0.png", "im1.png", "im3.png"]
    assert model.row_of(tmp_path / "im2.png") is None and model.row_of(tmp_path / "im3.png") == 2

    model.update(tmp_path / "im1.png", Status.PARTLY)  # painted while the filter is on: stays listed
    assert model.rowCount() == 3 and model.record(1).status == Status.PARTLY
    browser.select(tmp_path / "im1.png")
    with qtbot.waitSignal(window.state.image_opened, timeout=10000) as opened:
        window.session.step_image(1)
    assert opened.args[0].path.name == "im3.png"  # the next row in view, im2 filtered out

    browser.filter.setCurrentIndex(0)
    browser.filter.setCurrentIndex(browser.filter.findData(Status.NO_MASK))
    assert [browser.path_at(r).name for r in range(model.rowCount())] == ["im0.png", "im3.png"]
    browser.filter.setCurrentIndex(0)
    assert model.rowCount() == 4 and browser.path_at(4) is None


def test_image_memory_for_training_shows_the_automatic_budget_and_is_saved(qtbot, window, tmp_path):
    from model.storage.image_cache import default_cache_bytes
    from model.training.settings import TrainSettings

    open_folder(qtbot, window, _folder(tmp_path))
    panel = window.model_panel.form
    assert panel.cache_spin.value() == 0
    assert panel.cache_spin.text() == f"automatic ({default_cache_bytes() >> 20} MB)"
    panel.cache_spin.setValue(768)
    assert TrainSettings.from_dict(panel.settings()).cache_mb == 768
    qtbot.waitUntil(lambda: load_project(tmp_path).train_settings.get("cache_mb") == 768, timeout=5000)
