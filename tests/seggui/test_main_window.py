from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QScrollArea

from model.classes import IGNORE_INDEX, default_classes
from model.storage.imageio import read_mask, write_mask
from seggui.state.label_status import Status
from tests.seggui.conftest import at_zoom_one, capsule, drag, landed, open_folder, view_point


def _folder(tmp_path, n: int = 3, size: tuple[int, int] = (80, 100)):
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    return tmp_path


def _saved_mask(qtbot, window, path, shape):
    qtbot.waitUntil(lambda: path.exists() and not window.store.has_unsaved(), timeout=10000)
    return read_mask(path, shape=shape)


def test_brush_stroke_paints_the_expected_pixels_on_disk(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(3)
    drag(qtbot, window, [(10.5, 20.5), (30.5, 20.5), (40.5, 30.5)])
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    a, b, c = landed(window, 10.5, 20.5), landed(window, 30.5, 20.5), landed(window, 40.5, 30.5)
    assert abs(a[0] - 10.5) <= 1 and abs(c[1] - 30.5) <= 1
    expected = capsule(mask.shape, a, b, 3) | capsule(mask.shape, b, c, 3)
    assert np.array_equal(mask == 1, expected)
    assert np.all(mask[~expected] == IGNORE_INDEX)


def test_eraser_returns_pixels_to_not_labelled(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(5)
    drag(qtbot, window, [(20.5, 20.5), (50.5, 20.5)])
    window.tool_state.set_tool("eraser")
    window.tool_state.set_brush_radius(2)
    drag(qtbot, window, [(35.5, 10.5), (35.5, 30.5)])
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    erased = capsule(mask.shape, landed(window, 35.5, 10.5), landed(window, 35.5, 30.5), 2)
    painted = capsule(mask.shape, landed(window, 20.5, 20.5), landed(window, 50.5, 20.5), 5)
    assert np.all(mask[erased] == IGNORE_INDEX)
    assert np.all(mask[painted & ~erased] == 1)


def test_fill_polygon_and_lasso(qtbot, window, tmp_path):
    _folder(tmp_path, 1)
    (tmp_path / "masks").mkdir()
    start = np.zeros((80, 100), np.uint8)
    start[:, 50] = 1
    write_mask(tmp_path / "masks" / "im0.png", start, default_classes(3))
    window_classes = default_classes(3)
    from model.storage.project import Project, save_project

    save_project(Project(tmp_path, classes=tuple(window_classes)))
    open_folder(qtbot, window, tmp_path)
    at_zoom_one(window)

    window.tool_state.set_tool("fill")
    window.tool_state.set_fill("same label")
    window.tool_state.set_class(2)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 10.5, 10.5))
    assert np.all(window.state.document.mask[:, :50] == 2) and np.all(window.state.document.mask[:, 51:] == 0)

    window.tool_state.set_tool("polygon")
    window.tool_state.set_class(1)
    for x, y in ((60, 10), (90, 10), (90, 30), (60, 30)):
        qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, x, y))
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert np.all(window.state.document.mask[10:30, 60:90] == 1)
    assert np.all(window.state.document.mask[31:, 51:] == 0)

    window.tool_state.set_tool("lasso")
    window.tool_state.set_class(2)
    drag(qtbot, window, [(60, 50), (90, 50), (90, 70), (60, 70)])
    assert np.all(window.state.document.mask[51:69, 61:89] == 2)
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    assert np.array_equal(mask, window.state.document.mask)


def test_undo_and_redo_restore_exact_pixels(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    window.tool_state.set_brush_radius(4)
    drag(qtbot, window, [(10, 10), (60, 40)])
    after_first = window.state.document.mask.copy()
    window.tool_state.set_class(1)
    drag(qtbot, window, [(10, 60), (80, 60)])
    after_second = window.state.document.mask.copy()
    window.actions.edit.undo.trigger()
    assert np.array_equal(window.state.document.mask, after_first)
    window.actions.edit.undo.trigger()
    assert np.all(window.state.document.mask == IGNORE_INDEX)
    window.actions.edit.redo.trigger()
    window.actions.edit.redo.trigger()
    assert np.array_equal(window.state.document.mask, after_second)
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    assert np.array_equal(mask, after_second)


def test_switching_image_saves_at_once(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    window.store.autosave_timer.setInterval(60_000)  # only the switch can save
    at_zoom_one(window)
    drag(qtbot, window, [(5, 5), (20, 5)])
    painted = window.state.document.mask.copy()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.actions.view.next_image.trigger()
    assert window.state.current.path.name == "im1.png"
    qtbot.waitUntil(lambda: window.browser.model.record(0).status == Status.PARTLY, timeout=10000)
    assert np.array_equal(read_mask(tmp_path / "masks" / "im0.png"), painted)


def test_corrupt_image_is_listed_with_its_error_and_others_still_open(qtbot, window, tmp_path):
    _folder(tmp_path, 2)
    (tmp_path / "im0b.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    open_folder(qtbot, window, tmp_path)
    assert window.state.current.path.name == "im0.png"
    with qtbot.waitSignal(window.session.image_failed, timeout=10000) as failed:
        window.actions.view.next_image.trigger()
    assert failed.args[0].name == "im0b.png"
    record = window.browser.model.record(1)
    assert record.status == Status.UNREADABLE and "im0b.png" in record.error
    tooltip = window.browser.model.index(1).data(Qt.ItemDataRole.ToolTipRole)
    assert "im0b.png" in tooltip and "not an image" in tooltip
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.open_image(tmp_path / "im1.png")
    assert window.state.current.path.name == "im1.png"


def test_unwritable_mask_folder_shows_an_error_and_loses_nothing(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    (tmp_path / "masks").write_text("a file where the mask folder should be")  # any write fails, even as root
    at_zoom_one(window)
    window.tool_state.set_brush_radius(3)
    with qtbot.waitSignal(window.store.problem_found, timeout=10000):
        drag(qtbot, window, [(10, 10), (40, 10)])
    assert "NOT SAVED" in window.status.save_label.text() and "masks" in window.status.save_label.text()
    assert window.store.has_unsaved()
    painted = window.state.document.mask.copy()
    (tmp_path / "masks").unlink()  # the folder becomes writable again: the retry succeeds
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    assert np.array_equal(mask, painted)
    qtbot.waitUntil(lambda: window.status.save_label.text() == "saved", timeout=10000)


def test_exif_rotated_and_16bit_images_save_masks_as_displayed(qtbot, window, tmp_path):
    photo = np.zeros((40, 60, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees: 40 wide, 60 high
    Image.fromarray(photo).save(tmp_path / "a_photo.jpg", exif=exif.tobytes())
    Image.fromarray(np.arange(30 * 50, dtype=np.uint16).reshape(30, 50) * 40).save(tmp_path / "b_wide.png")
    open_folder(qtbot, window, tmp_path)
    assert window.state.document.shape == (60, 40)
    at_zoom_one(window)
    window.tool_state.set_brush_radius(2)
    drag(qtbot, window, [(5.5, 50.5), (5.5, 55.5)])
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "a_photo.png", (60, 40))
    assert mask[52, 5] == 1

    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.actions.view.next_image.trigger()
    assert window.state.document.shape == (30, 50)
    assert window.state.current.raw.dtype == np.uint16
    assert window.canvas.image_layer.boundingRect().width() == 50
    at_zoom_one(window)
    drag(qtbot, window, [(45.5, 25.5), (46.5, 25.5)])
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "b_wide.png", (30, 50))
    assert mask[25, 45] == 1


def test_keys_pick_class_and_brush_size(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)  # default project has 2 classes: stays on class 1
    assert window.tool_state.class_index == 1
    radius = window.tool_state.brush_radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.tool_state.brush_radius > radius
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.canvas.tool is window.tools["eraser"]


def test_recent_folders_are_remembered(qtbot, window, tmp_path):
    first = _folder(tmp_path / "a") if (tmp_path / "a").mkdir() is None else None
    second = _folder(tmp_path / "b") if (tmp_path / "b").mkdir() is None else None
    open_folder(qtbot, window, first)
    open_folder(qtbot, window, second)
    assert window.recent.folders()[:2] == [str(second), str(first)]
    shutil.rmtree(first)


def test_closing_writes_the_last_strokes_without_asking(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    window.store.autosave_timer.setInterval(60_000)
    at_zoom_one(window)
    drag(qtbot, window, [(30, 30), (31, 30)])
    painted = window.state.document.mask.copy()
    window.close()
    assert np.array_equal(read_mask(tmp_path / "masks" / "im0.png"), painted)


def test_steady_painting_is_saved_within_seconds(qtbot, window, tmp_path, monkeypatch):
    import seggui.controllers.mask_store as mask_store

    open_folder(qtbot, window, _folder(tmp_path))
    window.store.autosave_timer.setInterval(60_000)  # the debounce alone would never fire
    monkeypatch.setattr(mask_store, "AUTOSAVE_MAX_WAIT_S", 0.0)
    at_zoom_one(window)
    drag(qtbot, window, [(30, 30), (31, 30)])
    drag(qtbot, window, [(30, 40), (31, 40)])
    qtbot.waitUntil(lambda: (tmp_path / "masks" / "im0.png").exists(), timeout=10000)


def test_wheel_zoom_keeps_the_point_under_the_cursor_and_paints_exact_pixels(qtbot, window, tmp_path):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent

    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    anchor = view_point(window, 40, 30)
    before = window.canvas.mapToScene(anchor)
    for _ in range(6):
        event = QWheelEvent(
            QPointF(anchor),
            QPointF(window.canvas.viewport().mapToGlobal(anchor)),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        window.canvas.wheelEvent(event)
    assert window.canvas.zoom > 3
    after = window.canvas.mapToScene(anchor)
    assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1
    window.tool_state.set_brush_radius(0.5)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 40.5, 30.5))
    assert np.argwhere(window.state.document.mask != IGNORE_INDEX).tolist() == [[30, 40]]


def test_middle_drag_and_space_drag_pan_without_painting(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    viewport = window.canvas.viewport()
    start = view_point(window, 40, 40)
    scene_before = window.canvas.mapToScene(start)
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(25, 10))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=start + QPoint(25, 10))
    moved = window.canvas.mapToScene(start) - scene_before
    assert (round(moved.x()), round(moved.y())) == (-25, -10)
    qtbot.keyPress(window.canvas, Qt.Key.Key_Space)
    drag(qtbot, window, [(40, 40), (60, 40)])
    qtbot.keyRelease(window.canvas, Qt.Key.Key_Space)
    assert np.all(window.state.document.mask == IGNORE_INDEX)


def test_full_disk_is_reported_and_retried(qtbot, window, tmp_path, monkeypatch):
    import errno

    import seggui.controllers.mask_write as autosave

    open_folder(qtbot, window, _folder(tmp_path))
    real_write = autosave.write_mask
    failures = {"left": 1}

    def flaky_write(path, mask, classes):
        if failures["left"]:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, mask, classes)

    monkeypatch.setattr(autosave, "write_mask", flaky_write)
    window.store.retry_steps_ms = (50,)
    at_zoom_one(window)
    with qtbot.waitSignal(window.store.problem_found, timeout=10000) as failed:
        drag(qtbot, window, [(10, 10), (20, 10)])
    assert "No space left" in failed.args[0] and "im0.png" in failed.args[0]
    assert "NOT SAVED" in window.status.save_label.text()
    mask = _saved_mask(qtbot, window, tmp_path / "masks" / "im0.png", (80, 100))
    assert np.array_equal(mask, window.state.document.mask)


def test_page_down_passes_over_an_unreadable_image(qtbot, window, tmp_path):
    _folder(tmp_path, 3)
    (tmp_path / "im1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    open_folder(qtbot, window, tmp_path)
    assert window.state.current.path.name == "im0.png"
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    # Before: the window stayed on im0, and every further Page Down tried im1 again.
    qtbot.waitUntil(lambda: window.state.current.path.name == "im2.png", timeout=10000)
    assert window.browser.model.status_of(tmp_path / "im1.png").value == "unreadable"
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: window.state.current.path.name == "im0.png", timeout=10000)


def test_the_brush_outline_stays_under_the_pointer_and_the_position_clears_on_leaving(
    qtbot, window, tmp_path
):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QCursor

    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    canvas, viewport = window.canvas, window.canvas.viewport()
    QCursor.setPos(window.mapToGlobal(window.rect().bottomRight()) + QPoint(50, 50))  # off the canvas
    window.tool_state.set_tool("fill")
    window.tool_state.set_tool("brush")
    assert not canvas._outline.isVisible()  # not drawn at the image corner

    anchor = view_point(window, 20, 20)
    QCursor.setPos(viewport.mapToGlobal(anchor))
    qtbot.mouseMove(viewport, anchor)
    assert window.status.position_label.text().startswith("x 20  y 20")
    canvas.zoom_by(2.0)  # from the keyboard: around the middle of the view, not the pointer
    centre, under = canvas._outline.rect().center(), canvas.mapToScene(anchor)
    assert abs(centre.x() - under.x()) < 1 and abs(centre.y() - under.y()) < 1
    assert abs(under.x() - 20) > 2  # the zoom did move the image under the pointer

    canvas.leaveEvent(QEvent(QEvent.Type.Leave))
    assert window.status.position_label.text() == "" and not canvas._outline.isVisible()


def test_help_about_window_icon_folder_dialog_start_and_class_keys(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    assert not window.windowIcon().isNull()
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window.actions.help.about.trigger()
    assert "SegGUI" in shown[0] and "Qt for Python" in shown[0]

    starts = []
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda parent, title, start: starts.append(start)
    )
    window.actions.file.open_folder.trigger()
    assert starts[-1] == str(Path.home())  # nothing opened yet
    open_folder(qtbot, window, _folder(tmp_path))
    window.actions.file.open_folder.trigger()
    assert starts[-1] == str(tmp_path)  # the last folder opened

    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (12, 10)])  # class 1
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_0)
    assert window.tool_state.class_index == 0  # 0 is background now; fit is Ctrl+0
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 11.5, 10.5))
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    assert window.tool_state.class_index == 1  # picked from under the pointer


def test_the_window_fits_a_small_screen_and_advanced_scrolls_instead_of_squeezing(qtbot, window, tmp_path):
    from PySide6.QtCore import QSize

    from seggui.widgets.main_window import window_size

    assert window_size(QSize(1366, 728)) == (1366, 728)  # a 1366 x 768 laptop less its task bar
    assert window_size(QSize(2560, 1400)) == (1400, 900)
    open_folder(qtbot, window, _folder(tmp_path))
    panel = window.model_panel
    before = window.size()
    charts = panel.loss_chart.height(), panel.iou_chart.height()
    panel.form.advanced_toggle.setChecked(True)
    qtbot.waitUntil(lambda: panel.form.advanced.isVisible(), timeout=5000)
    assert window.size() == before
    assert panel.loss_chart.height() >= min(charts[0], panel.loss_chart.minimumHeight())
    assert panel.iou_chart.height() >= panel.iou_chart.minimumHeight()


def test_advanced_options_keep_the_model_panel_within_its_dock(qtbot, window, tmp_path):
    window.resize(1400, 900)  # the window's size on a large screen
    open_folder(qtbot, window, _folder(tmp_path))
    panel = window.model_panel
    panel.form.advanced_toggle.setChecked(True)
    qtbot.waitUntil(lambda: panel.form.advanced.isVisible(), timeout=5000)
    scroll = next(s for s in window.findChildren(QScrollArea) if s.widget() is panel)
    # Before: the form's long choices made the panel 415 px wide in a dock showing 325, and the
    # Stop button, Replace Mask and the end of every message were cut off at the right.
    for _ in range(3):  # the layout requests the toggle posted: the panel takes its new size
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    assert panel.width() <= scroll.viewport().width(), (panel.width(), scroll.viewport().width())
    stop = next(b for b in panel.findChildren(QAbstractButton) if b.text() == "Stop")
    assert stop.mapTo(panel, stop.rect().topRight()).x() < scroll.viewport().width()


def test_the_fill_tool_fills_pixels_that_look_alike_and_painting_can_spare_labels(qtbot, window, tmp_path):
    image = np.full((40, 60), 200, np.uint8)
    image[:, 20:40] = 30
    Image.fromarray(image).save(tmp_path / "im0.png")
    open_folder(qtbot, window, tmp_path)
    at_zoom_one(window)
    assert (
        window.tool_bar.fill_mode_combo.currentData() == "similar pixels"
        and window.tool_bar.tolerance_spin.value() == 10
    )
    window.tool_state.set_tool("fill")
    window.tool_state.set_class(1)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 5.5, 5.5))
    mask = window.state.document.mask
    assert np.all(mask[:, :20] == 1) and np.all(mask[:, 20:] == IGNORE_INDEX)  # one click, one region

    window.actions.tools.keep_labels.trigger()  # Tools > Paint Only Unlabelled Pixels
    window.tool_state.set_tool("brush")
    window.tool_state.set_class(0)
    drag(qtbot, window, [(10, 20), (30, 20)])  # from the filled half into the unlabelled band
    assert np.all(mask[:, :20] == 1)  # the filled pixels kept their class
    assert (mask[:, 20:40] == 0).any()


def test_the_mask_can_be_drawn_as_outlines_while_painting(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    window.actions.view.styles["mask"]["outline"].trigger()
    window.tool_state.set_brush_radius(6)
    drag(qtbot, window, [(20, 20), (40, 20)])
    image = window.canvas.mask_layer.image()
    painted = window.state.document.mask != IGNORE_INDEX
    assert image.pixelColor(30, 20).alpha() == 0 and painted[20, 30]  # inside: not drawn
    top = int(np.argwhere(painted[:, 30])[0][0])
    assert image.pixelColor(30, top).alpha() > 0  # the stroke's border is
    window.actions.view.styles["mask"]["fill"].trigger()
    assert window.canvas.mask_layer.image().pixelColor(30, 20).alpha() > 0


def test_a_polygon_being_drawn_shows_its_vertices_and_a_line_to_the_pointer(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    canvas, viewport = window.canvas, window.canvas.viewport()
    window.tool_state.set_tool("polygon")
    for x, y in ((10, 10), (40, 10)):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, x, y))
    qtbot.mouseMove(viewport, view_point(window, 40, 30))
    band = canvas._rubber_band.path()
    assert band.elementCount() == 2
    start, end = band.elementAt(0), band.elementAt(1)
    assert (round(start.x), round(start.y)) == (40, 10) and (round(end.x), round(end.y)) == (40, 30)
    assert canvas._vertices.path().boundingRect().width() >= 30  # markers on both vertices
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas._rubber_band.path().isEmpty() and canvas._vertices.path().isEmpty()


def test_undo_history_survives_opening_another_image_and_coming_back(qtbot, window, tmp_path):
    open_folder(qtbot, window, _folder(tmp_path))
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (20, 10)])
    drag(qtbot, window, [(10, 30), (20, 30)])
    two_strokes = window.state.document.mask.copy()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.step_image(1)
    assert not window.actions.edit.undo.isEnabled()  # the other image has no history of its own
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session.step_image(-1)
    assert np.array_equal(window.state.document.mask, two_strokes)
    window.actions.edit.undo.trigger()  # the second stroke goes, as if the image had never been left
    assert (window.state.document.mask[30] == IGNORE_INDEX).all() and (
        window.state.document.mask[10] != IGNORE_INDEX
    ).any()


def test_every_registered_tool_has_its_key_menu_entry_and_tool_bar_button(window):
    from PySide6.QtGui import QKeySequence

    from seggui.canvas.tools import TOOLS

    tools_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    in_menu = {a.text() for a in tools_menu.actions()}
    for info in TOOLS:
        action = window.actions.tools.tools[info.name]
        assert action.shortcut() == QKeySequence(info.key) and info.title in in_menu
        action.trigger()
        assert window.canvas.tool is window.tools[info.name]
        assert window.canvas.viewport().cursor().shape() == window.tools[info.name].cursor


def test_an_image_read_while_its_save_was_being_written_is_read_again(qtbot, window, tmp_path):
    """A read that began before this window's save of the same mask ended holds the old pixels:
    shown, the strokes seemed gone and the next save made a conflict copy (CI saw it under load)."""
    from seggui.controllers.loading import load_image

    folder = _folder(tmp_path)
    open_folder(qtbot, window, folder)
    first = window.state.current
    stale = load_image(first.path, first.mask_path, window.state.project.classes)  # before the save
    at_zoom_one(window)
    drag(qtbot, window, [(10, 10), (20, 10)])
    strokes = window.state.document.mask.copy()
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.session.step_image(1)
    qtbot.waitUntil(lambda: window.state.current.path != first.path, timeout=10000)

    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.session._on_image_loaded(stale)  # as the race delivers it: after the save ended
    assert window.state.current.path == first.path
    assert np.array_equal(window.state.document.mask, strokes)
    drag(qtbot, window, [(10, 30), (20, 30)])
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    assert not list(folder.glob("masks/*conflict*"))  # the file was read as it is: no conflict
    window.actions.edit.undo.trigger()
    assert np.array_equal(window.state.document.mask, strokes)  # and its undo history came back with it
