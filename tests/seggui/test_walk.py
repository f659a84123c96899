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
from PySide6.QtGui import QImage

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


def test_a_time_limit_typed_as_hands_type_it_stays_in_its_field(qtbot, started, tmp_path):
    """Hands press Ctrl before A, and Shift before the colon of 0:40: each arrives alone first.
    Before: a modifier alone was not the field's, so the canvas took the focus, and the rest of
    "0:40" went to the window (the 0 chose the background class)."""
    window = started(_shapes_project(tmp_path, 2, masks=0))
    window.tool_state.set_class(1)
    form = window.model_panel.form
    form.advanced_toggle.click()
    budget = form.budget_spin
    budget.setFocus()
    qtbot.keyPress(budget, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(budget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # Select All
    qtbot.keyRelease(budget, Qt.Key.Key_Control, Qt.KeyboardModifier.ControlModifier)
    assert budget.hasFocus() and budget.lineEdit().selectedText() == budget.lineEdit().text()
    qtbot.keyClicks(budget, "0")
    qtbot.keyPress(budget, Qt.Key.Key_Shift, Qt.KeyboardModifier.ShiftModifier)
    assert budget.hasFocus()
    qtbot.keyClick(budget, Qt.Key.Key_Colon, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyRelease(budget, Qt.Key.Key_Shift)
    qtbot.keyClicks(budget, "40")
    qtbot.keyClick(budget, Qt.Key.Key_Return)
    assert budget.value() == 40 and window.tool_state.class_index == 1 and window.canvas.hasFocus()
    # A time limit sets the run's length: the epochs field says so by being greyed out.
    assert not form.epochs_spin.isEnabled() and "time limit" in form.epochs_spin.toolTip()
    budget.setValue(0)
    assert form.epochs_spin.isEnabled()


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


# -- 10, 11: the charts of a run as a reloaded model shows them; what a score is measured on --------------
def _marks_in_plot(chart) -> int:
    """How many pixels inside ``chart``'s plot area are drawn darker than its grid lines."""
    chart.repaint()
    image = chart.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    area = chart.chart().plotArea().toRect().adjusted(3, 3, -3, -3)  # the axes' own lines left out
    grey = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    inside = grey[area.top() : area.bottom(), area.left() : area.right()]
    return int((inside < 150).sum())


def test_one_scored_epoch_shows_on_the_chart_and_reloading_draws_the_same_charts(qtbot, started, tmp_path):
    folder = write_shapes_folder(tmp_path, 1, masks=1)  # one image: nothing can be held out
    quick = {"crop_size": 64, "batch_size": 4, "device": "cpu", "epochs": 1}
    save_project(Project(folder, classes=tuple(default_classes(3)), train_settings=quick))
    window = started(folder)
    panel = window.model_panel
    assert _marks_in_plot(panel.iou_chart) == 0
    with qtbot.waitSignal(window.training.finished, timeout=120000) as done:
        window.training.train()
    history = done.args[0].result.history
    assert len(history) == 1 and history[0]["validated_on_training_images"]
    # Before: a line through a single point drew nothing at all.
    assert _marks_in_plot(panel.iou_chart) > 10
    # Before: "agreement with held-out strokes 1.000" with nothing held out.
    assert "agreement with the training strokes (nothing held out)" in panel.status_label.text()
    assert panel.iou_chart.chart().title() == "IoU on the training strokes (none held out)"
    live = {name: panel.iou_chart.points(name) for name in ("class 1", "class 2")}
    live_loss = panel.loss_chart.points("training loss")
    with qtbot.waitSignal(window.choice.model_loaded, timeout=30000):
        window.choice.load_model(done.args[0].model_path)  # as opening the folder again does
    assert {name: panel.iou_chart.points(name) for name in live} == live
    assert panel.loss_chart.points("training loss") == live_loss and len(live_loss) == history[0]["step"]


# -- 4: GeoTIFF nodata stays not labelled -------------------------------------------------------------
GEO_TAGS = {
    33550: (12, 3, (10.0, 10.0, 0.0)),
    33922: (12, 6, (0.0, 0.0, 0.0, 500000.0, 5600000.0, 0.0)),
    34735: (3, 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32632)),
}


def write_geotiff(path: Path, image: np.ndarray, nodata: str | None = "0", **options: object) -> None:
    """A GeoTIFF in UTM zone 32N with 10 m pixels and, unless None, GDAL's nodata tag."""
    tags = [(code, kind, count, value, True) for code, (kind, count, value) in GEO_TAGS.items()]
    if nodata is not None:
        tags.append((42113, 2, 0, nodata, True))
    tifffile.imwrite(path, image, extratags=tags, **options)


def _scene(folder: Path, border: int = 12, size: int = 64) -> np.ndarray:
    """A 16-bit scene of shapes whose border, as a tilted Landsat frame's, is 0: nodata."""
    rng = np.random.default_rng(4)
    from tests.synthetic import shapes_image

    image, _ = shapes_image(rng, size)
    scene = (image.astype(np.uint16) * 40 + 1000).astype(np.uint16)
    nodata = np.zeros((size, size), bool)
    nodata[:border] = nodata[:, :border] = True
    scene[nodata] = 0
    folder.mkdir(parents=True, exist_ok=True)
    write_geotiff(folder / "scene.tif", scene, photometric="minisblack")
    save_project(Project(folder, classes=tuple(default_classes(3))))
    return nodata


def test_geotiff_nodata_is_never_painted_predicted_accepted_trained_or_exported(
    qtbot, started, tmp_path, shapes_model, monkeypatch
):
    folder = tmp_path / "scene"
    nodata = _scene(folder)
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "shapes.pt")
    window = started(folder)
    qtbot.waitUntil(lambda: window.models.shown is not None, timeout=30000)
    assert np.array_equal(window.state.current.nodata, nodata)
    assert "nodata" in window.statusBar().currentMessage() or "nodata" in window.state.current.description
    # Before: every border pixel got a class in the prediction.
    predicted = window.models.shown.classes
    assert (predicted[nodata] == IGNORE_INDEX).all() and (predicted[~nodata] != IGNORE_INDEX).all()
    window.canvas.actual_size()
    window.tool_state.set_class(1)
    window.tool_state.set_brush_radius(20)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 12, 12))
    mask = window.state.document.mask
    assert (mask[nodata] == IGNORE_INDEX).all() and (mask[~nodata] == 1).any()  # the brush stops at it
    qtbot.keyClick(window.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # Replace Mask
    assert (window.state.document.mask[nodata] == IGNORE_INDEX).all()
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    # Trained on: nothing of the border, whatever the mask file says there.
    from model.training.training_images import index_labelled

    forged = read_mask(folder / "masks" / "scene.png")
    forged[nodata] = 2
    write_mask(folder / "masks" / "scene.png", forged, default_classes(3))
    from model.storage.image_cache import DecodedCache
    from model.training.data import find_samples

    samples = find_samples(folder, folder / "masks")
    stored, _ = index_labelled(samples, 1, 3, cache=DecodedCache(1 << 26))
    assert (stored[0].labels()[nodata] == IGNORE_INDEX).all()
    # Exported: the export dialog offers index GeoTIFFs for GeoTIFF images; nodata stays 255 there.
    from seggui.widgets import transfer_dialogs

    chosen = {}

    def accept(dialog):
        chosen["format"] = dialog.format_combo.currentData()
        return transfer_dialogs.ExportDialog.DialogCode.Accepted

    monkeypatch.setattr(transfer_dialogs.ExportDialog, "exec", accept)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000):
        window.actions.file.export.trigger()
    assert chosen["format"] == "geotiff"
    exported = folder / "export" / "scene.tif"
    with tifffile.TiffFile(exported) as tif:
        labels = tif.pages[0].asarray()
        assert tif.pages[0].tags[33922].value == GEO_TAGS[33922][2]  # placed where the scene lies
    assert (labels[nodata] == IGNORE_INDEX).all() and (labels[~nodata] != IGNORE_INDEX).any()


def test_an_alpha_sample_and_a_mask_page_mark_nodata_too(tmp_path):
    from model.storage.imageio import read_image
    from model.storage.nodata import nodata_pixels

    rgba = np.full((20, 30, 4), 200, np.uint8)
    rgba[:5, :, 3] = 0  # transparent: no data
    tifffile.imwrite(tmp_path / "alpha.tif", rgba, photometric="rgb", extrasamples=[2])
    raw = read_image(tmp_path / "alpha.tif")
    assert raw.shape == (20, 30, 3)
    assert np.array_equal(nodata_pixels(tmp_path / "alpha.tif", raw), rgba[..., 3] == 0)
    grey = np.full((20, 30), 7, np.uint16)
    valid = np.ones((20, 30), np.uint8) * 255
    valid[:, :4] = 0
    with tifffile.TiffWriter(tmp_path / "masked.tif") as tif:
        tif.write(grey, photometric="minisblack")
        tif.write(valid > 0, photometric="mask", subfiletype=4)  # GDAL_TIFF_INTERNAL_MASK: 1 bit
    assert np.array_equal(nodata_pixels(tmp_path / "masked.tif", grey), valid == 0)
    write_geotiff(tmp_path / "nan.tif", np.where(valid > 0, 1.5, np.nan).astype(np.float32), nodata="nan")
    assert np.array_equal(nodata_pixels(tmp_path / "nan.tif", read_image(tmp_path / "nan.tif")), valid == 0)
    write_geotiff(tmp_path / "none.tif", grey, nodata=None)
    assert nodata_pixels(tmp_path / "none.tif", grey) is None


# -- 12: a band left out is named, a constant channel is said to be constant -----------------------------
def test_a_left_out_alpha_band_is_named_and_a_constant_channel_is_said(qtbot, window, tmp_path):
    bands = np.full((32, 32, 4), 10000, np.uint16)
    bands[..., 0] = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32)
    bands[..., 3] = 65535  # opaque alpha
    tifffile.imwrite(tmp_path / "four.tif", bands, photometric="rgb", extrasamples=[2])
    open_folder(qtbot, window, tmp_path)
    description = window.state.current.description
    # Before: "3 channels", the fourth sample gone without a word; channels 2 and 3 shown black.
    assert "3 channels" in description and "sample 4, declared alpha, left out" in description
    assert "channel 2 is constant (10000)" in description and "channel 3 is constant" in description
    rows = window.channel_dock.widget().rows
    assert rows[1].limits.text() == "constant 10000" and rows[0].limits.text() != "constant 0"
    shown = window.canvas.image_layer.image().pixelColor(3, 3)
    assert shown.green() > 100 and shown.blue() > 100  # at half their colour, not black


# -- 14: small things ----------------------------------------------------------------------------------
def test_the_shortcut_list_has_one_row_per_key(window):
    from seggui.widgets.help import shortcut_rows

    keys = [key for key, _ in shortcut_rows(window.actions.all())]
    assert len(keys) == len(set(keys)) and "," not in keys  # before: a second ", Previous Plane" row


def test_a_stack_lists_plane_1_and_its_planes_share_their_contrast_limits(qtbot, window, tmp_path):
    planes = np.stack([np.full((24, 24), 100 * (i + 1), np.uint16) for i in range(6)])
    planes[:, :12] += np.arange(6, dtype=np.uint16)[:, None, None] * 50 + 7
    tifffile.imwrite(tmp_path / "stack.tif", planes, metadata={"axes": "ZYX"})
    open_folder(qtbot, window, tmp_path)
    names = [window.images.data(window.images.index(row)) for row in range(window.images.rowCount())]
    assert names[:2] == ["stack.tif, plane 1", "stack.tif, plane 2"]  # before: "stack.tif"
    first = [(v.low, v.high) for v in window.display.views]
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        window.plane_bar.step(4)
    assert window.state.current.raw.mean() > planes[0].mean()
    assert [(v.low, v.high) for v in window.display.views] == first  # before: each plane its own


def test_the_last_folder_leaves_the_screen_when_the_next_opens_on_an_unreadable_file(qtbot, window, tmp_path):
    colour = tmp_path / "colour"
    colour.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(colour / "rgb.png")
    open_folder(qtbot, window, colour)
    assert len(window.display.views) == 3
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))  # a PNG's signature, then nothing
    with qtbot.waitSignal(window.session.image_failed, timeout=10000):
        window.session.open_folder(broken)
    assert window.display.views == () and window.channel_dock.widget().rows == []
    assert window.canvas.image_layer.image().isNull() and window.canvas.notice.isVisible()


def test_the_time_limit_counts_from_the_train_press(monkeypatch, tmp_path):
    from seggui.controllers import training_worker
    from seggui.controllers.training_worker import TrainRequest, TrainWorker

    folder = write_shapes_folder(tmp_path, 2)
    clock = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later (loading takes time)
    monkeypatch.setattr(training_worker.time, "perf_counter", lambda: float(next(clock)))
    given = {}

    def fit(settings, *args, **kwargs):
        given["budget"], given["started"] = settings.time_budget_s, kwargs["started"]
        raise training_worker.SegGUIError("stop here")

    monkeypatch.setattr("model.training.train.fit", fit)
    worker = TrainWorker()
    failures = []
    worker.failed.connect(failures.append)
    request = TrainRequest(
        image_dir=folder,
        mask_dir=folder / "masks",
        model_path=tmp_path / "m.pt",
        classes=tuple(default_classes(3)),
        settings={"time_budget_s": 45, "device": "cpu", "preset": "fast", "crop_size": 64},
        init=None,
        start_from="scratch",
    )
    worker.run(request)
    # Before: 45 s after the loading. The limit is the user's and counts from the press: the
    # clock's first reading, before the 10 s the loading took here.
    assert failures == ["stop here"] and given == {"budget": 45, "started": 0.0}


def test_the_command_line_names_the_image_folder_takes_1_30_and_explains_its_options(capsys, tmp_path):
    from model.cli.args import build_parser

    assert cli_main(["train", "--images", str(tmp_path / "nope"), "--out", str(tmp_path / "m.pt")]) == 2
    assert "nope: no such folder of images (--images)" in capsys.readouterr().err  # not nope/masks
    parser = build_parser()
    args = parser.parse_args(["train", "--images", "x", "--out", "y", "--time-budget", "1:30"])
    assert args.time_budget_s == 90.0
    again = parser.parse_args(["train", "--images", "x", "--out", "y", "--time-budget", "2 min"])
    assert again.time_budget_s == 120
    for command, options in {
        "train": ("--epochs", "--lr", "--batch-size", "--crop-size"),
        "predict": ("--tile", "--overlap"),
    }.items():
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        text = capsys.readouterr().out
        for option in options:
            described = text.split(option, 1)[1].split("\n  -", 1)[0]
            assert len(described.split()) > 3, (option, described)  # words after the option


def test_an_import_that_would_replace_a_mask_names_overwrite(tmp_path):
    from model.labels.import_labels import import_labels

    folder = _shapes_project(tmp_path, 1, masks=1)
    labels = tmp_path / "labels"
    labels.mkdir()
    write_mask(labels / "img00.png", np.zeros((64, 64), np.uint8), default_classes(3))
    report = import_labels(labels, "masks", list_images(folder), folder / "masks", default_classes(3))
    said = " ".join(report.skipped)
    assert "--overwrite" in said and "Replace masks the project already has" in said


def test_the_command_line_says_a_score_on_training_strokes_is_one(tmp_path, capsys):
    folder = write_shapes_folder(tmp_path, 1, masks=1)
    quick = ["--steps", "4", "--device", "cpu", "--preset", "fast", "--crop-size", "64"]
    code = cli_main(["train", "--images", str(folder), "--out", str(tmp_path / "m.pt"), *quick])
    said = capsys.readouterr()
    assert code == 0
    # Before: "best mIoU 1.0000 on held-out strokes" and "trained on 1 images (0 held out)".
    assert "on the training strokes of 1 image (nothing held out)" in said.out
    assert "trained on 1 image (" in said.out
    assert "held-out strokes" not in said.out + said.err
