"""A journey per kind of user, through the window as ``python main.py`` starts it, driven by keys,
clicks and menu entries, with what is on screen and on disk asserted: the sample, a stack of
planes, a slide by its own extension. (A GeoTIFF with nodata and a labelled folder whose list
follows the predictions are walked in tests/seggui/test_walk.py, items 4 and 6.)"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from model.classes import IGNORE_INDEX, default_classes
from model.storage import tiff_files
from model.storage.imageio import read_mask
from model.storage.project import Project, save_project
from seggui.widgets import transfer_dialogs
from tests.seggui.conftest import drag, write_svs
from tests.synthetic import shapes_image


def _key(qtbot, window, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifier)


def _export_with(monkeypatch, **choices: bool) -> None:
    """The export dialog answered: its default folder and format, these boxes ticked."""

    def answer(dialog):
        for box, on in choices.items():
            getattr(dialog, box).setChecked(on)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(transfer_dialogs.ExportDialog, "exec", answer)


def test_the_sample_paint_two_classes_train_preview_accept_undo_export(qtbot, started, monkeypatch):
    window = started()  # python main.py: the bundled sample
    folder = window.state.project.folder
    for _ in range(3):  # Page Down to cells_04.png, which has no mask yet
        with qtbot.waitSignal(window.state.image_opened, timeout=10000):
            _key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.state.shown_path == folder / "cells_04.png"
    assert (window.state.document.mask == IGNORE_INDEX).all()
    window.canvas.actual_size()
    raw = window.state.current.raw
    nucleus = np.argwhere(raw > 170)[len(np.argwhere(raw > 170)) // 2]  # bright: a nucleus
    _key(qtbot, window, Qt.Key.Key_2)
    drag(qtbot, window, [(nucleus[1] + 0.5, nucleus[0] + 0.5)])
    _key(qtbot, window, Qt.Key.Key_0)
    drag(qtbot, window, [(5.5, 5.5), (60.5, 8.5)])
    mask = window.state.document.mask
    assert mask[nucleus[0], nucleus[1]] == 2 and mask[6, 30] == 0
    form = window.model_panel.form
    form.advanced_toggle.click()
    form.budget_spin.setFocus()
    form.budget_spin.lineEdit().selectAll()
    qtbot.keyClicks(form.budget_spin, "0:06")
    qtbot.keyClick(form.budget_spin, Qt.Key.Key_Return)
    previews = []
    window.training.preview_changed.connect(lambda name, changed: previews.append(name))
    with qtbot.waitSignal(window.training.finished, timeout=120000) as done:
        _key(qtbot, window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert done.args[0].model_path.is_file() and done.args[0].model_path.parent == folder / "models"
    qtbot.waitUntil(
        lambda: window.models.shown is not None and window.models.shown.path.name == "cells_04.png"
    )
    assert window.canvas.prediction_layer.isVisible() and not window.canvas.prediction_layer.image().isNull()
    painted = mask.copy()
    window.models.set_accept_sure_only(False)
    _key(qtbot, window, Qt.Key.Key_A)  # Accept Prediction into the unpainted pixels
    accepted = window.state.document.mask.copy()
    assert (accepted[painted != IGNORE_INDEX] == painted[painted != IGNORE_INDEX]).all()  # strokes kept
    assert (accepted == IGNORE_INDEX).sum() < (painted == IGNORE_INDEX).sum() // 2
    _key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.state.document.mask, painted)
    _key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
    _export_with(monkeypatch)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000):
        _key(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(read_mask(folder / "export" / "cells_04.png"), accepted)
    assert (folder / "export" / "classes.json").is_file()


def test_a_stack_paint_a_plane_train_predict_all_export_with_predictions(
    qtbot, started, tmp_path, monkeypatch
):
    rng = np.random.default_rng(7)
    planes, truths = zip(*(shapes_image(rng, 64) for _ in range(8)))
    stack = (np.stack(planes).astype(np.uint16) * 100).astype(np.uint16)
    folder = tmp_path / "stack"
    folder.mkdir()
    tifffile.imwrite(folder / "nuclei.tif", stack, imagej=True, metadata={"axes": "ZYX"})
    quick = {"epochs": 3, "crop_size": 64, "batch_size": 4, "device": "cpu"}
    save_project(Project(folder, classes=tuple(default_classes(3)), train_settings=quick))
    window = started(folder)
    assert window.images.rowCount() == 8 and window.plane_bar.isVisible()
    with qtbot.waitSignal(window.state.image_opened, timeout=10000):
        _key(qtbot, window, Qt.Key.Key_Period)  # the next plane
    assert window.state.shown_path == folder / "nuclei.tif" / "plane-2"
    window.canvas.actual_size()
    truth = truths[1]
    for value in (0, 1, 2):
        y, x = np.argwhere(truth == value)[0]
        _key(qtbot, window, getattr(Qt.Key, f"Key_{value}"))
        drag(qtbot, window, [(x + 0.5, y + 0.5)])
    painted = window.state.document.mask.copy()
    assert {0, 1, 2} <= set(np.unique(painted).tolist())
    with qtbot.waitSignal(window.training.finished, timeout=120000):
        _key(qtbot, window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=120000):
        _key(
            qtbot,
            window,
            Qt.Key.Key_P,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert len(list((folder / "predictions").rglob("*.png"))) == 8
    _export_with(monkeypatch, predictions_check=True)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000) as done:
        _key(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    report = done.args[0]
    assert len(report.exported) == 8 and len(report.completed_from_predictions) == 1
    exported = [p for p in (folder / "export").rglob("*.png")]
    assert len(exported) == 8
    for path in exported:
        mask = read_mask(path)
        assert (mask != IGNORE_INDEX).all(), path  # painted or predicted: every pixel
    plane_2 = folder / "export" / "nuclei.z002.png"
    mask = read_mask(plane_2)
    assert (mask[painted != IGNORE_INDEX] == painted[painted != IGNORE_INDEX]).all()  # strokes win


@pytest.mark.parametrize("extension", [".svs", ".qptiff"])
def test_a_slide_by_its_own_extension_is_opened_painted_and_exported(
    qtbot, started, tmp_path, monkeypatch, extension
):
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)  # this 600 x 400 slide is "huge"
    image = np.random.default_rng(3).integers(0, 256, (400, 600, 3), dtype=np.uint8)
    folder = tmp_path / "slides"
    folder.mkdir()
    write_svs(folder / f"biopsy{extension}", image)
    window = started(folder)
    assert window.state.slide is not None and window.state.slide.shape == (400, 600)
    window.canvas.actual_size()
    _key(qtbot, window, Qt.Key.Key_1)
    window.tool_state.set_brush_radius(6)
    drag(qtbot, window, [(100.5, 100.5), (300.5, 100.5)])
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    assert (folder / "masks" / "biopsy.zarr" / ".zarray").is_file()
    _export_with(monkeypatch)
    with qtbot.waitSignal(window.transfer.export_finished, timeout=30000) as done:
        window.actions.file.export.trigger()
    assert done.args[0].exported == [folder / f"biopsy{extension}"]
    with tifffile.TiffFile(folder / "export" / "biopsy.tif") as tif:
        labels = tif.pages[0].asarray()
    assert labels.shape == (400, 600) and labels[100, 200] == 1 and labels[300, 300] == IGNORE_INDEX
