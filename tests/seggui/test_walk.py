"""What a walk through the product as a new user found (issue #35), each through the window as
``python main.py`` starts it, or the command line as a user types it. Each test failed on main
before its fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from PySide6.QtCore import Qt

from model.classes import IGNORE_INDEX, default_classes
from model.cli import main as cli_main
from model.labels.export_labels import ExportOptions, export_labels
from model.storage.imageio import list_images, read_mask, write_mask
from model.storage.project import Project, save_project
from seggui import launcher
from seggui.canvas.following import NO_FOLDER
from seggui.state.label_status import Status
from seggui.widgets.main_window import MainWindow
from tests.seggui.conftest import open_folder, view_point, write_svs
from tests.synthetic import write_shapes_folder


def _shapes_project(root: Path, n: int = 3, masks: int | None = None) -> Path:
    folder = write_shapes_folder(root, n, masks=masks)
    save_project(Project(folder, classes=tuple(default_classes(3))))
    return folder


def _on_screen(window: MainWindow, x: int, y: int):
    """The colour the canvas shows at image pixel (x, y), one screen pixel per image pixel."""
    window.canvas.viewport().repaint()
    point = view_point(window, x, y)  # the pixel's corner: its centre would round to the next
    return window.canvas.viewport().grab().toImage().pixelColor(point.x(), point.y()).getRgb()[:3]


# -- 1: start-up ---------------------------------------------------------------------------------
def test_main_py_opens_the_sample_a_folder_or_an_image_and_the_log_says_so(started, tmp_path, caplog):
    caplog.set_level("INFO")
    sample = started()  # python main.py
    assert sample.state.project.folder.name == "sample" and sample.images.rowCount() == 6
    assert sample.state.project.folder.is_relative_to(Path(str(tmp_path)).parents[1])  # the data folder
    assert sample.canvas.image_layer.image().width() == 256 and not sample.canvas.notice.isVisible()
    assert any("opened" in r.message and "6 images" in r.message for r in caplog.records)
    folder = _shapes_project(tmp_path / "mine", 3)
    window = started(folder)  # python main.py FOLDER
    assert window.state.shown_path == folder / "img00.png"
    window.close()  # the folder's lock goes with it
    one = started(folder / "img02.png")  # python main.py IMAGE: its folder, that image
    assert one.state.shown_path == folder / "img02.png" and one.images.rowCount() == 3


def test_the_empty_window_says_how_to_open_a_folder(qtbot, window):
    notice = window.canvas.notice
    assert notice.isVisible() and "File &gt; Open Folder (Ctrl+O)" in notice.text()
    assert NO_FOLDER[0] in notice.text()


def test_a_folder_without_images_says_so_and_names_what_it_left_out(qtbot, window, tmp_path):
    (tmp_path / "notes.txt").write_text("scan settings")
    (tmp_path / "scan.czi").write_bytes(b"ZISRAWFILE" + bytes(100))
    with qtbot.waitSignal(window.session.folder_opened, timeout=10000):
        window.session.open_folder(tmp_path)
    text = window.canvas.notice.text()
    assert window.canvas.notice.isVisible() and f"No images in {tmp_path.name}" in text
    assert "notes.txt, scan.czi" in text and "Zeiss CZI" in text and "bfconvert" in text


def test_a_mistyped_command_is_named_with_the_one_meant(capsys, tmp_path):
    assert launcher.main(["trian"]) == 2
    assert "unknown command 'trian' (did you mean train?)" in capsys.readouterr().err
    assert launcher.main([str(tmp_path / "nowhere")]) == 2
    said = capsys.readouterr().err
    assert "nowhere" in said and "neither a command" in said and "train" in said


# -- 2: M hides and shows the mask ---------------------------------------------------------------------
def test_m_hides_the_mask_and_shows_it_again(qtbot, started, tmp_path):
    folder = _shapes_project(tmp_path, 2, masks=1)
    window = started(folder)
    window.canvas.actual_size()
    painted = _on_screen(window, 5, 5)  # the mask's background over the image
    action = window.actions.view.mask_visible
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert not action.isChecked() and not window.canvas.mask_layer.isVisible()
    bare = _on_screen(window, 5, 5)
    assert bare == window.canvas.image_layer.image().pixelColor(5, 5).getRgb()[:3] and painted != bare
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert action.isChecked() and _on_screen(window, 5, 5) == painted


# -- 3: slides by their own extension, and every file left out named --------------------------------------
def test_a_slide_by_its_own_extension_is_listed_opened_and_other_files_are_named(qtbot, started, tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    write_svs(tmp_path / "small.svs", image)
    (tmp_path / "notes.txt").write_text("stain: H&E")
    (tmp_path / "scan.czi").write_bytes(b"ZISRAWFILE" + bytes(100))
    assert [p.name for p in list_images(tmp_path)] == ["small.svs"]
    window = started(tmp_path)
    assert window.state.shown_path == tmp_path / "small.svs"
    assert np.array_equal(window.state.current.raw, image)
    said = window.statusBar().currentMessage()
    assert "2 files skipped" in said and "notes.txt, scan.czi" in said


def test_predict_slide_on_a_damaged_slide_says_which_tile_in_one_line(tmp_path, shapes_model, capsys):
    image = np.random.default_rng(2).integers(0, 256, (512, 512), dtype=np.uint8)
    slide = tmp_path / "damaged.svs"
    write_svs(slide, image, tile=128)
    with tifffile.TiffFile(slide) as tif:
        page = tif.pages[0]
        offset, count = page.dataoffsets[5], page.databytecounts[5]
    data = bytearray(slide.read_bytes())
    data[offset : offset + count] = bytes(count)  # tile 5's bytes zeroed: zlib cannot inflate them
    slide.write_bytes(bytes(data))
    code = cli_main(
        ["predict-slide", "--model", str(shapes_model), "--image", str(slide), "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "damaged.svs: tile 5 of level 0" in line and "copy it again" in line


# -- 5: "use predictions" completes partly painted masks too ---------------------------------------------
def test_export_with_predictions_fills_what_is_not_painted_and_strokes_win(tmp_path):
    folder = _shapes_project(tmp_path, 2, masks=0)
    classes = default_classes(3)
    painted = np.full((64, 64), IGNORE_INDEX, np.uint8)
    painted[:10, :10] = 2
    write_mask(folder / "masks" / "img00.png", painted, classes)
    predicted = np.ones((64, 64), np.uint8)
    (folder / "predictions").mkdir()
    for name in ("img00.png", "img01.png"):
        write_mask(folder / "predictions" / name, predicted, classes)
    out = tmp_path / "export"
    report = export_labels(
        list_images(folder),
        folder / "masks",
        classes,
        out,
        ExportOptions(include_predictions=True),
        predictions_dir=folder / "predictions",
    )
    exported = read_mask(out / "img00.png")
    assert (exported[:10, :10] == 2).all()  # the strokes
    assert (exported[10:] == 1).all() and (exported[:10, 10:] == 1).all()  # the prediction elsewhere
    assert report.completed_from_predictions == [folder / "img00.png"]
    assert report.from_predictions == [folder / "img01.png"]
    assert report.summary() == "2 masks (1 from predictions; 1 painted in part, the rest predicted)"


# -- 6: the list follows the predictions ---------------------------------------------------------------
def test_the_predicted_filter_and_the_highlight_follow_next_most_uncertain(
    qtbot, window, tmp_path, shapes_model
):
    folder = _shapes_project(tmp_path, 4, masks=1)
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "shapes.pt")
    with qtbot.waitSignal(window.choice.model_loaded, timeout=30000):
        open_folder(qtbot, window, folder)
    browser = window.browser
    browser.filter.setCurrentIndex(browser.filter.findData(Status.PREDICTED))
    assert browser.model.rowCount() == 0
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_U)  # scores the unscored first, then opens one
    qtbot.waitUntil(lambda: window.state.shown_path != folder / "img00.png", timeout=20000)
    # Before: the filter stayed empty until chosen again, and the old row stayed highlighted.
    listed = [browser.path_at(row) for row in range(browser.model.rowCount())]
    assert listed == [folder / f"img0{i}.png" for i in (1, 2, 3)]
    highlighted = browser.path_at(browser.view.currentIndex().row())
    assert highlighted == window.state.shown_path
    window.session.open_image(folder / "img00.png")  # labelled: not under "Predicted"
    qtbot.waitUntil(lambda: window.state.shown_path == folder / "img00.png", timeout=10000)
    assert not browser.view.currentIndex().isValid() and not browser.view.selectionModel().hasSelection()


# -- 7: the window's keys after typing in a field ----------------------------------------------------------
def test_keys_work_after_typing_a_time_limit_and_a_learning_rate(qtbot, started, tmp_path):
    folder = _shapes_project(tmp_path, 2, masks=0)
    window = started(folder)
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    drag_at = view_point(window, 20, 20)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=drag_at)
    assert window.state.document.mask[20, 20] == 1
    form = window.model_panel.form
    form.advanced_toggle.click()
    budget = form.budget_spin
    budget.setFocus()
    budget.lineEdit().selectAll()
    qtbot.keyClicks(budget, "1:30")
    qtbot.keyClick(budget, Qt.Key.Key_E)  # no duration has an "e" here: the window's eraser
    assert window.tool_state.tool == "eraser"
    assert budget.value() == 90 and window.canvas.hasFocus()  # the number typed is taken
    lr = form.lr_spin
    lr.setFocus()
    lr.lineEdit().selectAll()
    qtbot.keyClicks(lr, "0.002")
    qtbot.keyClick(lr, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the window's undo
    assert window.state.document.mask[20, 20] == IGNORE_INDEX and window.canvas.hasFocus()
    assert lr.value() == pytest.approx(0.002)
    budget.setFocus()
    budget.lineEdit().selectAll()
    qtbot.keyClicks(budget, "2 min")  # units are the field's own letters
    assert "2 min" in budget.lineEdit().text()
    qtbot.keyClick(budget, Qt.Key.Key_Return)  # Enter gives the keys back to the canvas
    assert budget.value() == 120 and window.canvas.hasFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert not window.actions.view.mask_visible.isChecked()


# -- 8: background strokes show on grey images ---------------------------------------------------------------
@pytest.mark.parametrize("grey", [0, 60, 128, 170, 200, 255])
def test_background_strokes_show_on_grey_dark_and_bright_images(qtbot, started, tmp_path, grey):
    folder = tmp_path / "grey"
    folder.mkdir()
    Image.fromarray(np.full((40, 40), grey, np.uint8)).save(folder / "flat.png")
    window = started(folder)
    window.canvas.actual_size()
    before = _on_screen(window, 10, 10)
    window.tool_state.set_class(0)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 10.5, 10.5))
    after = _on_screen(window, 10, 10)
    # Before: light grey at half opacity over a grey of 170 changed nothing at all.
    assert max(abs(a - b) for a, b in zip(after, before)) >= 60, (before, after)


# -- 9: where the next run starts, as it will ------------------------------------------------------------
def test_start_from_never_offers_imagenet_for_grey_images_on_auto(qtbot, started, tmp_path):
    folder = _shapes_project(tmp_path, 2, masks=1)
    window = started(folder)
    form = window.model_panel.form
    assert form.preset_combo.currentData() == "auto"
    assert form.start_from() == "scratch"  # what the run does: auto is "fast" for grey images
    item = form.start_combo.model().item(form.start_combo.findData("imagenet"))
    assert not item.isEnabled()
    colour = tmp_path / "colour"
    colour.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(colour / "rgb.png")
    in_colour = started(colour)
    assert in_colour.model_panel.form.start_from() == "imagenet"


# -- 13: small screens ------------------------------------------------------------------------------------
def test_on_a_1024_by_700_screen_the_canvas_keeps_half_and_show_mask_stays_on_the_bar(
    qtbot, window, tmp_path
):
    folder = _shapes_project(tmp_path, 2)
    window.resize(1024, 700)
    from seggui.widgets.docks import fit_widths

    fit_widths(window, window.channel_dock, window.model_dock)
    open_folder(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.canvas.width() > 0)
    assert window.canvas.width() >= 0.45 * window.width(), window.canvas.width()  # before: 210 of 1024
    bar = window.tool_bar
    button = bar.widgetForAction(window.actions.view.mask_visible)
    assert button.isVisible() and bar.rect().contains(button.geometry())
