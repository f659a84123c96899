"""A bioimage.io package opened in the window (Model > Open Model...) predicts as SegGUI's own
models do: the overlay, the uncertainty, Accept, Predict All and a slide's windows; Train then
trains a network of ours, and a package that cannot be used is refused with why."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from model.classes import default_classes
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict import Predictor
from model.storage.imageio import read_image, read_mask
from model.storage.project import Project, load_project, save_project
from tests.seggui.conftest import grey_slide_with_model
from tests.synthetic import write_shapes_folder


def _folder(root):
    folder = write_shapes_folder(root, 3, size=96, masks=0)
    save_project(Project(folder, classes=tuple(default_classes(3))))
    return folder


def test_a_package_opened_in_the_window_predicts_accepts_and_predicts_all_as_the_model_it_came_from(
    qtbot, started, tmp_path, shapes_model, shapes_package, monkeypatch
):
    folder = _folder(tmp_path)
    window = started(folder)
    window.model_panel.iou_label.setText("IoU: background 0.99 (the last run's)")
    window.model_panel.change_label.setText("Still changing: 0.0 % of img00.png's pixels (the last run's)")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(shapes_package), ""))
    with qtbot.waitSignal(window.models.prediction_shown, timeout=60000):
        window.actions.model.load_model.trigger()  # Model > Open Model...
    assert window.model_panel.iou_label.text() == ""  # no training history: no scores of another model
    assert window.model_panel.change_label.text() == ""
    assert window.models.model_path == shapes_package and window.models.is_package
    assert "bioimage.io package 'Shapes package'" in window.models.status
    assert window.model_panel.model_combo.currentText() == "shapes.zip"
    shown = window.models.shown
    assert shown.path == folder / "img00.png" and shown.prediction.uncertainty_map is not None
    ours = Predictor(load_checkpoint(shapes_model), "cpu").predict(read_image(shown.path))
    assert np.mean(shown.classes != ours.classes) < 0.001  # the same classes but where engines round apart

    window.actions.model.show_uncertainty.trigger()
    qtbot.waitUntil(lambda: not window.canvas.uncertainty_layer.image().isNull(), timeout=30000)
    if window.models.accept_sure_only:
        window.actions.model.accept_sure_only.trigger()
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.actions.model.accept_unpainted.trigger()
    assert np.array_equal(read_mask(folder / "masks" / "img00.png"), shown.classes)

    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000) as finished:
        window.actions.model.predict_all.trigger()
    assert not finished.args[0].problems
    for i in range(3):
        written = read_mask(folder / "predictions" / f"img{i:02d}.png")
        theirs = Predictor(load_checkpoint(shapes_model), "cpu").predict(
            read_image(folder / f"img{i:02d}.png")
        )
        assert np.mean(written != theirs.classes) < 0.001

    requests = []
    window.training._run_requested.connect(requests.append)
    told = []
    monkeypatch.setattr(window.state, "tell", lambda text, ms=0: told.append(text))
    with qtbot.waitSignal(window.training.finished, timeout=60000):
        window.actions.model.train.trigger()
        window.actions.model.stop.trigger()
    assert requests[0].init is None  # a network of ours, not the package's weights
    assert any("bioimage.io package, trained elsewhere" in text for text in told)


def test_the_projects_package_is_used_when_its_folder_opens_and_export_refuses_to_wrap_it_again(
    qtbot, started, tmp_path, shapes_package, monkeypatch
):
    folder = _folder(tmp_path)
    (folder / "models").mkdir()
    shutil.copy(shapes_package, folder / "models" / "shapes.zip")
    window = started(folder)
    qtbot.waitUntil(lambda: window.models.is_package, timeout=30000)
    assert load_project(folder).model_in_use == "shapes.zip"
    told = []
    monkeypatch.setattr(window.state, "tell", lambda text, ms=0: told.append(text))
    window.actions.model.export_package.trigger()  # refused before its dialog opens
    assert "a bioimage.io package already" in told[0]


def test_a_package_that_cannot_be_read_is_refused_and_the_model_in_use_stays(
    qtbot, started, tmp_path, shapes_model, monkeypatch
):
    folder = _folder(tmp_path)
    window = started(folder)
    with qtbot.waitSignal(window.choice.model_loaded, timeout=30000):
        window.choice.load_model(shapes_model)
    broken = tmp_path / "damaged.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    errors = []
    window.state.failed.connect(errors.append)
    with qtbot.waitSignal(window.choice.model_failed, timeout=30000):
        window.choice.load_model(broken)
    assert "damaged.zip: not a bioimage.io model package SegGUI can read" in errors[0]
    assert "download or export it again" in errors[0]
    assert window.models.model_path == shapes_model


@pytest.fixture
def slide_with_package(tmp_path, monkeypatch, shapes_package):
    """A 2600 x 1900 slide of grey shapes, the shapes package in its project's models, predicted
    in 512-pixel windows."""
    return grey_slide_with_model(tmp_path, shapes_package, monkeypatch)


def test_a_package_predicts_a_slides_windows_on_screen_as_the_model_it_came_from(
    qtbot, window, slide_with_package, shapes_model
):
    folder, image = slide_with_package
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: window.canvas.viewport().width() > 900, timeout=5000)
    predictions = window.slide_predictions
    with qtbot.waitSignal(predictions.output_shown, timeout=60000, check_params_cb=lambda o: o is not None):
        window.session.open_folder(folder)
    assert window.models.is_package
    arrived = []
    predictions.window_predicted.connect(arrived.append)
    window.canvas.actual_size()
    qtbot.waitUntil(lambda: not predictions._running and len(arrived) >= 4, timeout=120000)
    ours = Predictor(load_checkpoint(shapes_model), "cpu")
    for done in arrived[:2]:
        window_image = image[done.top : done.top + 512, done.left : done.left + 512]
        theirs = predictions.output.classes.read(done.top, done.left, *window_image.shape)
        assert np.mean(theirs != ours.predict(window_image).classes) < 0.001
