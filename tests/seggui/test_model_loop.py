"""The model in the loop, driven through the real window: train, stop, overlay, accept, predict all."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from model.classes import IGNORE_INDEX, default_classes
from model.networks.checkpoint import load_checkpoint
from model.storage.imageio import read_mask
from model.storage.project import Project, save_project
from seggui.state.label_status import Status
from tests.seggui.conftest import at_zoom_one, drag, open_folder
from tests.synthetic import shapes_image, write_shapes_folder

QUICK = {"crop_size": 64, "batch_size": 8, "learning_rate": 3e-3, "device": "cpu", "val_fraction": 0.0}


def _project(root: Path, n: int, masks: int | None, **settings: object) -> Path:
    folder = write_shapes_folder(root, n, masks=masks)
    save_project(Project(folder, classes=tuple(default_classes(3)), train_settings={**QUICK, **settings}))
    return folder


def _with_model(folder: Path, model: Path) -> None:
    (folder / "models").mkdir(exist_ok=True)
    shutil.copy(model, folder / "models" / "shapes.pt")


def _open_with_prediction(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(window.models.prediction_shown, timeout=30000):
        open_folder(qtbot, window, folder)


def _dice(a: np.ndarray, b: np.ndarray, c: int) -> float:
    return 2 * ((a == c) & (b == c)).sum() / max((a == c).sum() + (b == c).sum(), 1)


def test_train_shows_progress_and_a_matching_overlay_then_continues(qtbot, window, tmp_path):
    folder = _project(tmp_path, 8, masks=None, epochs=150)
    open_folder(qtbot, window, folder)
    steps, epochs = [], []
    window.training.worker.step_ended.connect(steps.append)
    window.training.worker.epoch_ended.connect(epochs.append)

    with qtbot.waitSignal(window.training.finished, timeout=180000) as finished:
        qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
        assert window.models.training and not window.actions.model.train.isEnabled()
    outcome = finished.args[0]

    assert [s.step for s in steps] == list(range(1, 151))
    assert steps[-1].loss < 0.5 * steps[0].loss
    assert window.model_panel.loss_chart.points("training loss")[-1][0] == 150
    # One point per scored epoch (how many epochs are scored depends on this machine's pace).
    scored = [e.epoch for e in epochs if e.metrics is not None and not math.isnan(e.metrics.iou[2])]
    assert [x for x, _ in window.model_panel.iou_chart.points("class 2")] == scored and len(scored) > 10
    assert window.model_panel.iou_label.text().startswith("IoU: background ")
    assert outcome.model_path.parent == folder / "models" and outcome.model_path.is_file()
    assert (
        "best epoch kept" in window.model_panel.status_label.text()
    )  # full masks: the epochs are told apart
    assert load_checkpoint(outcome.model_path).history == outcome.result.history
    qtbot.waitUntil(
        lambda: window.models.shown is not None and window.models.model_path == outcome.model_path,
        timeout=30000,
    )
    mask = window.state.document.mask
    predicted = window.models.shown.classes
    assert all(_dice(predicted, mask, c) > 0.9 for c in (1, 2)), [_dice(predicted, mask, c) for c in (1, 2)]
    assert window.canvas.prediction_layer.isVisible()
    assert (
        "of img00.png's pixels changed class since the last preview" in window.model_panel.change_label.text()
    )

    window.model_panel.form.epochs_spin.setValue(2)  # continue: fine-tunes the model just made
    with qtbot.waitSignal(window.training.finished, timeout=60000) as again:
        window.training.train()
    assert len(again.args[0].result.history) == 152
    assert window.model_panel.model_combo.count() == 2


def test_stop_returns_within_one_step_and_leaves_a_valid_model(qtbot, window, tmp_path):
    folder = _project(tmp_path, 4, masks=None, epochs=5000)
    open_folder(qtbot, window, folder)
    latest = [0]
    window.training.worker.step_ended.connect(
        lambda e: latest.__setitem__(0, e.step), Qt.ConnectionType.DirectConnection
    )  # runs on the training thread: the worker's own step count
    with qtbot.waitSignal(window.training.stepped, timeout=60000):  # on the GUI thread
        window.training.train()
    with qtbot.waitSignal(window.training.finished, timeout=60000) as finished:
        steps_at_stop = latest[0]
        window.training.stop()
    result = finished.args[0].result
    assert result.stopped and steps_at_stop <= result.steps <= steps_at_stop + 1
    model = load_checkpoint(finished.args[0].model_path)
    assert model.class_names == ["background", "class 1", "class 2"]
    assert "Stopped" in window.model_panel.status_label.text()
    assert (
        window.model_panel.progress.value() < window.model_panel.progress.maximum()
    )  # stopped early: not 100 %


def test_images_too_large_for_live_previews_are_predicted_at_the_end(qtbot, window, tmp_path, monkeypatch):
    from seggui.controllers import training as training_run

    monkeypatch.setattr(training_run, "PREVIEW_MAX_PIXELS", 32 * 32)  # the 64 x 64 images count as huge
    folder = _project(tmp_path, 4, masks=None, epochs=3)
    open_folder(qtbot, window, folder)
    previews = []
    window.training.worker.preview_made.connect(lambda *args: previews.append(args))
    with qtbot.waitSignal(window.training.finished, timeout=60000):
        window.training.train()
        assert "too large for live previews" in window.statusBar().currentMessage()
    assert previews == []
    with qtbot.waitSignal(window.models.prediction_shown, timeout=30000) as shown:
        pass
    assert shown.args[0].path == window.state.current.path


def test_painting_and_saving_go_on_while_training(qtbot, window, tmp_path):
    folder = _project(tmp_path, 4, masks=2, epochs=5000)
    open_folder(qtbot, window, folder)
    with qtbot.waitSignal(window.training.stepped, timeout=60000):  # on the GUI thread
        window.training.train()
    window.session.step_image(3)
    qtbot.waitUntil(lambda: window.state.current.path.name == "img03.png", timeout=10000)
    at_zoom_one(window)
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        drag(qtbot, window, [(10, 10), (40, 10)])
    assert window.models.training
    saved = read_mask(folder / "masks" / "img03.png", shape=(64, 64), num_classes=3)
    assert (saved[8:13, 12:38] == 1).all() and (saved[30:] == IGNORE_INDEX).all()
    with qtbot.waitSignal(window.training.finished, timeout=60000):
        window.training.stop()


def test_accept_fills_unpainted_pixels_or_replaces_the_mask_and_undo_restores(
    qtbot, window, tmp_path, shapes_model
):
    folder = _project(tmp_path, 2, masks=0)
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    predicted = window.models.shown.classes.copy()
    assert window.models.model_path.name == "shapes.pt"
    overlay = window.canvas.prediction_layer.image()
    for value in (0, 1, 2):  # objects tinted in their class colour, background left clear
        y, x = np.argwhere(predicted == value)[0]
        colour = overlay.pixelColor(int(x), int(y))
        expected = (0, 0, 0, 0) if value == 0 else (*default_classes(3)[value].color, 255)
        assert colour.getRgb() == expected
    at_zoom_one(window)
    drag(qtbot, window, [(5, 5), (20, 5)])  # class 1 where the prediction says background
    painted = window.state.document.mask.copy()
    stroke = painted != IGNORE_INDEX
    assert stroke.any() and (predicted[stroke] != 1).any()

    sure = window.service.cached(window.state.current.path).prediction.uncertainty_map < 128
    assert sure.any() and (~sure & ~stroke).any()
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)  # by default: only where the model is sure
    mask = window.state.document.mask
    assert np.array_equal(mask[stroke], painted[stroke])  # painted pixels are kept
    assert np.array_equal(mask[~stroke & sure], predicted[~stroke & sure])
    assert (mask[~stroke & ~sure] == IGNORE_INDEX).all()  # left for the user to paint
    assert "where the model is unsure stay unpainted" in window.statusBar().currentMessage()
    window.actions.edit.undo.trigger()

    window.actions.model.accept_sure_only.trigger()  # untick: every unpainted pixel
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)
    mask = window.state.document.mask
    assert np.array_equal(mask[stroke], painted[stroke])
    assert np.array_equal(mask[~stroke], predicted[~stroke])
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    on_disk = read_mask(folder / "masks" / "img00.png", shape=(64, 64), num_classes=3)
    assert np.array_equal(on_disk, mask)

    window.actions.edit.undo.trigger()
    assert np.array_equal(window.state.document.mask, painted)
    qtbot.keyClick(window.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.state.document.mask, predicted)
    window.actions.edit.undo.trigger()
    assert np.array_equal(window.state.document.mask, painted)


def test_predict_all_writes_every_prediction_and_leaves_masks_alone(qtbot, window, tmp_path, shapes_model):
    folder = _project(tmp_path, 5, masks=2)
    _with_model(folder, shapes_model)
    masks_before = {p.name: p.read_bytes() for p in (folder / "masks").iterdir()}
    _open_with_prediction(qtbot, window, folder)

    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000) as done:
        window.actions.model.predict_all.trigger()

    assert len(done.args[0].uncertainties) == 5
    written = sorted(p.name for p in (folder / "predictions").glob("*.png"))
    assert written == [f"img{i:02d}.png" for i in range(5)]
    assert (folder / "predictions" / "uncertainty.json").is_file()
    assert {p.name: p.read_bytes() for p in (folder / "masks").iterdir()} == masks_before
    statuses = [window.browser.model.status_of(folder / f"img{i:02d}.png") for i in range(5)]
    assert statuses == [Status.LABELLED] * 2 + [Status.PREDICTED] * 3
    assert window.model_panel.progress.value() == window.model_panel.progress.maximum()

    nan_image = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    nan_image[3, 3] = np.nan
    Image.fromarray(nan_image, mode="F").save(folder / "float.tif")
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000) as done:
        window.ranking.predict_all([folder / "float.tif"])
    # Before: predicted silently, the NaN pixel read as the darkest value without a word.
    assert "NaN or infinite pixels in float.tif" in window.model_panel.status_label.text()


def test_next_most_uncertain_opens_the_ambiguous_image(qtbot, window, tmp_path, shapes_model):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        Image.fromarray(shapes_image(rng)[0]).save(folder / f"clear{i}.png")
    noise = np.clip(rng.normal(110, 60, (64, 64)), 0, 255).astype(np.uint8)
    Image.fromarray(noise).save(folder / "murky.png")
    save_project(Project(folder, classes=tuple(default_classes(3))))
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    assert window.state.current.path.name == "clear0.png"

    with qtbot.waitSignal(window.state.image_opened, timeout=60000) as opened:
        qtbot.keyClick(window.canvas, Qt.Key.Key_U)
    assert opened.args[0].path.name == "murky.png"
    scores = window.images.uncertainties()
    assert max(scores, key=scores.get).name == "murky.png"


def test_broken_foreign_or_mismatched_model_files_give_a_clear_error(qtbot, window, tmp_path, shapes_model):
    folder = tmp_path / "two"
    folder.mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "a.png")
    open_folder(qtbot, window, folder)  # a project with 2 classes
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model at all")
    with qtbot.waitSignal(window.choice.model_failed, timeout=30000) as failed:
        window.choice.load_model(broken)
    assert "broken.pt" in failed.args[0] and "not a SegGUI model file" in failed.args[0]
    assert "broken.pt" in window.model_panel.status_label.text()
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")  # its torch error has no message: it used to escape as an IndexError
    with qtbot.waitSignal(window.choice.model_failed, timeout=30000) as failed:
        window.choice.load_model(empty)
    assert "empty.pt: not a SegGUI model file" in failed.args[0]
    assert (
        window.model_panel.status_label.text().startswith("Model not loaded: ")
        and "empty.pt" in window.model_panel.status_label.text()
    )

    with qtbot.waitSignal(window.choice.model_failed, timeout=30000) as failed:
        window.choice.load_model(shapes_model)
    assert "trained for 3 classes" in failed.args[0] and "this project has 2" in failed.args[0]
    assert window.models.checkpoint is None and not window.actions.model.predict_all.isEnabled()
    assert window.actions.model.train.isEnabled()  # the app keeps working


def test_training_keeps_to_its_own_folder_when_another_is_opened(qtbot, window, tmp_path):
    first = _project(tmp_path / "first", 4, masks=None, epochs=5000)
    second = _project(tmp_path / "second", 2, masks=None)
    open_folder(qtbot, window, first)
    with qtbot.waitSignal(window.training.stepped, timeout=60000):  # on the GUI thread
        window.training.train()
    open_folder(qtbot, window, second)
    shown = []
    window.models.prediction_shown.connect(shown.append)
    with qtbot.waitSignal(window.training.finished, timeout=60000) as finished:
        window.training.stop()
    assert finished.args[0].model_path.parent == first / "models"
    assert window.models.checkpoint is None and shown == []  # the second folder has no model of its own
    assert not (second / "models").exists()


def test_another_folder_starts_with_an_empty_panel_and_renames_keep_the_score_lines(qtbot, window, tmp_path):
    from seggui.widgets.training_panel import MEAN_LINE

    folder = _project(tmp_path / "a", 4, masks=None, epochs=3)
    open_folder(qtbot, window, folder)
    epochs = []
    window.training.worker.epoch_ended.connect(epochs.append)
    texts = []
    window.training.worker.epoch_ended.connect(lambda _: texts.append(window.model_panel.status_label.text()))
    with qtbot.waitSignal(window.training.finished, timeout=60000):
        window.training.train()
    panel = window.model_panel
    assert len(panel.iou_chart.points("class 1")) == 3
    # the chart plots what the status line says: the mean over all classes, background included
    mean = epochs[-1].metrics.mean_iou
    assert panel.iou_chart.points(MEAN_LINE)[-1] == (3, mean)
    assert f"mean IoU of all 3 classes, the dashed line) {mean:.3f}" in texts[-1]
    window.class_panel.rename(1, "nucleus")
    assert len(panel.iou_chart.points("nucleus")) == 3 and panel.iou_chart.points("class 1") == []

    other = _project(tmp_path / "b", 2, masks=0)
    open_folder(qtbot, window, other)
    assert panel.progress.value() == 0 and panel.eta_label.text() == "" and panel.iou_label.text() == ""
    assert panel.loss_chart.points("training loss") == [] and panel.iou_chart.points("class 1") == []
    assert panel.status_label.text().startswith("No model yet")


def test_a_failed_first_training_leaves_no_training_note_in_the_model_box(qtbot, window, tmp_path):
    folder = _project(tmp_path, 2, masks=0)  # nothing painted: training fails at once
    open_folder(qtbot, window, folder)
    with qtbot.waitSignal(window.training.failed, timeout=60000):
        window.training.train()
    assert window.model_panel.model_combo.placeholderText() == "none yet"
    assert "nothing to train on" in window.model_panel.status_label.text()


def test_time_left_follows_the_pace_since_the_first_step():
    from seggui.controllers.training import TimeLeft, format_duration

    time_left = TimeLeft()
    shown: list[tuple[float, int]] = []
    # 40 s of loading before the first step, then 1 % every 2 s.
    elapsed, progress = 40.0, 0.0
    for _ in range(60):
        elapsed += 2.0
        progress += 0.01
        left = time_left.update(progress, elapsed)
        if left is not None:
            shown.append((round(progress, 2), _seconds(f"{format_duration(left)} left")))
    assert shown[0][0] <= 0.05  # shown soon
    at_10 = dict(shown)[0.1]
    assert abs(at_10 - 0.9 * 200) <= 4, at_10  # 2 s a percent: the 40 s of loading is not pace
    seconds = [left for _, left in shown]
    assert all(b < a for a, b in itertools.pairwise(seconds))  # at a steady pace it only falls


def _seconds(text: str) -> int:
    """'2:42 left' or '1:02:03 left' or '45 s left' in seconds."""
    value = text.split(" left")[0]
    if value.endswith(" s"):
        return int(value[:-2])
    parts = [int(p) for p in value.split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def test_accept_then_undo_on_an_unpainted_image_lists_it_as_without_mask_also_after_reopening(
    qtbot, window, tmp_path, shapes_model
):
    folder = _project(tmp_path, 2, masks=0)
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    image = window.state.current.path
    model = window.browser.model
    qtbot.keyClick(window.canvas, Qt.Key.Key_A)  # the pixels the model is unsure of stay unpainted
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    assert model.status_of(image) == Status.PARTLY
    window.actions.edit.undo.trigger()
    with qtbot.waitSignal(window.store.saved, timeout=10000):
        window.store.save_current()
    assert model.status_of(image) == Status.NO_MASK
    assert (read_mask(folder / "masks" / "img00.png") == IGNORE_INDEX).all()

    window.session.rescan()  # as after a restart: the file exists, its thumbnail says what it holds
    qtbot.waitUntil(lambda: model.row_of(image) is not None, timeout=10000)
    model.index(model.row_of(image)).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: model.status_of(image) == Status.NO_MASK, timeout=10000)


def test_replacing_a_fully_labelled_mask_asks_first(qtbot, window, tmp_path, shapes_model, monkeypatch):
    folder = _project(tmp_path, 2, masks=0)
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    predicted = window.models.shown.classes.copy()
    window.editor.replace_where(np.ones((64, 64), bool), np.zeros((64, 64), np.uint8), "all background")
    finished = window.state.document.mask.copy()
    questions = []
    monkeypatch.setattr(window.dialogs, "confirm", lambda title, text: questions.append(text) or False)
    qtbot.keyClick(window.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.state.document.mask, finished)  # declined: nothing changed
    assert "Every pixel of this image is labelled" in questions[0]
    monkeypatch.setattr(window.dialogs, "confirm", lambda title, text: True)
    qtbot.keyClick(window.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.state.document.mask, predicted)


def test_uncertainty_scores_show_in_the_list_and_order_it(qtbot, window, tmp_path, shapes_model):
    folder = _project(tmp_path, 3, masks=0)
    ambiguous = np.clip(np.random.default_rng(0).normal(110, 60, (64, 64)), 0, 255).astype(np.uint8)
    Image.fromarray(ambiguous).save(folder / "img01.png")  # the one the model cannot read
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    browser = window.browser
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000):
        window.ranking.predict_all()
    model = browser.model
    texts = [model.index(r).data(Qt.ItemDataRole.DisplayRole) for r in range(3)]
    assert all("(" in text for text in texts), texts
    browser.order.setCurrentIndex(1)
    browser.order.activated.emit(1)
    names = [browser.path_at(r).name for r in range(3)]
    scores = [model.record(r).uncertainty for r in range(3)]
    assert names[0] == "img01.png" and scores == sorted(scores, reverse=True)
    assert f"({window.images.uncertainties()[folder / 'img01.png']:.2f})" in model.index(0).data(
        Qt.ItemDataRole.DisplayRole
    )


def test_predictions_are_hatched_unless_chosen_otherwise_and_classes_can_be_hidden(
    qtbot, window, tmp_path, shapes_model
):
    folder = _project(tmp_path, 2, masks=0)
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    predicted = window.models.shown.classes
    layer = window.canvas.prediction_layer

    def drawn(value: int) -> float:
        alpha = np.array([[layer.image().pixelColor(x, y).alpha() for x in range(64)] for y in range(64)])
        return float((alpha[predicted == value] > 0).mean())

    assert window.actions.view.styles["prediction"]["hatch"].isChecked()
    assert 0.3 < drawn(1) < 0.9  # stripes and outlines, not a solid tint like paint
    cached = window.service.cached(window.state.current.path)
    assert cached.rendered.drawing == layer.drawing  # hatched on the worker thread
    assert layer.image() is cached.rendered.image  # and shown as it came
    hatched = cached.rendered.image.copy()
    window.actions.view.styles["prediction"]["fill"].trigger()
    assert drawn(1) == 1.0
    assert cached.rendered.image == hatched  # the cached overlay is not drawn over
    assert window.settings.value("display/prediction_style") == "fill"

    item = window.class_panel.list.item(1)
    item.setCheckState(Qt.CheckState.Unchecked)  # untick class 1 in the class list
    assert drawn(1) == 0.0 and drawn(2) == 1.0
    assert (window.models.shown.classes == 1).any()  # only the drawing changed


def test_show_uncertainty_tints_where_the_model_is_unsure_even_after_predict_all(
    qtbot, window, tmp_path, shapes_model
):
    folder = _project(tmp_path, 3, masks=0)
    _with_model(folder, shapes_model)
    _open_with_prediction(qtbot, window, folder)
    heat = window.canvas.uncertainty_layer
    assert not heat.isVisible()  # off until asked for

    window.actions.model.show_uncertainty.trigger()
    qtbot.waitUntil(lambda: not heat.image().isNull(), timeout=30000)
    assert heat.isVisible()
    entropy = window.service.cached(window.state.current.path).prediction.uncertainty_map
    alpha = np.array([[heat.image().pixelColor(x, y).alpha() for x in range(64)] for y in range(64)])
    unsure, sure = entropy > 0.6 * 255, entropy < 0.5 * 255
    assert unsure.any() and sure.any()  # both kinds of pixel
    assert (alpha[unsure] > 0).all()  # unsure: tinted
    assert (alpha[sure] == 0).all()  # sure: left clear
    assert alpha[entropy > 0.8 * 255].mean() > alpha[unsure & (entropy < 0.7 * 255)].mean()

    # Predict All writes class maps only; an image it predicted still gets its heat map.
    with qtbot.waitSignal(window.ranking.predict_all_finished, timeout=60000):
        window.actions.model.predict_all.trigger()
    with qtbot.waitSignal(window.models.prediction_shown, timeout=30000):
        window.session.open_image(folder / "img01.png")
    qtbot.waitUntil(lambda: not heat.image().isNull(), timeout=30000)
    assert heat.image().size() == window.canvas.prediction_layer.image().size()

    window.actions.model.show_uncertainty.trigger()  # off again
    assert not heat.isVisible()


def test_previews_say_how_much_of_the_image_changed_class_since_the_last_one(qtbot):
    from model.prediction.predict import Prediction
    from model.training.train_events import PreviewReady
    from seggui.controllers.training_worker import TrainWorker

    worker = TrainWorker()
    worker._classes = tuple(default_classes(3))
    got = []
    worker.preview_made.connect(lambda key, prediction, rendered, changed: got.append((key, changed)))
    first = np.zeros((10, 20), np.uint8)
    second = first.copy()
    second[:5, :4] = 2  # 20 of 200 pixels
    for key, classes in (("a", first), ("a", second), ("b", second), ("b", second)):
        worker._on_event(PreviewReady(key, Prediction(classes, None, 0.0)))
    assert got == [("a", None), ("a", 0.1), ("b", None), ("b", 0.0)]  # another image starts again
