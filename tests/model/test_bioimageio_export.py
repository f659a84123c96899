"""SegGUI models as bioimage.io packages, checked as the zoo checks them: bioimageio.core's
model test (both weights formats reproduce the package's test output from its test input
through its own pre- and postprocessing) on a 1-channel scratch network, a 3-channel pretrained
encoder and a 4-channel 16-bit model."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import yaml

from model.classes import default_classes
from model.networks.bioimageio_export import export_bioimageio
from model.networks.checkpoint import Checkpoint, load_checkpoint
from model.networks.config import preset
from model.networks.package_info import PackageInfo
from model.networks.unet import build_unet
from tests.synthetic import shapes_image

CLASSES = default_classes(3)


def _four_channel_checkpoint() -> Checkpoint:
    config = preset("fast", num_classes=3, in_channels=4)
    net = build_unet(config)
    return Checkpoint(config, net.state_dict(), CLASSES, (0.4, 0.5, 0.3, 0.2), (0.2, 0.25, 0.1, 0.3))


def _cases(shapes_model):
    rng = np.random.default_rng(7)
    grey, _ = shapes_image(rng, 200)
    yield "1-channel scratch", load_checkpoint(shapes_model), grey
    from model.networks.weights import initial_checkpoint

    pretrained = initial_checkpoint("lite0", CLASSES, "imagenet", allow_download=False)
    yield "3-channel pretrained", pretrained, rng.integers(0, 255, (150, 180, 3), dtype=np.uint8)
    sixteen = rng.integers(0, 60000, (160, 170, 4), dtype=np.uint16)
    yield "4-channel 16-bit", _four_channel_checkpoint(), sixteen


CASES = ["1-channel scratch", "3-channel pretrained", "4-channel 16-bit"]


@pytest.mark.parametrize("case", range(3), ids=CASES)
def test_the_package_passes_bioimageio_cores_model_test(case, shapes_model, tmp_path):
    from bioimageio.core import test_model

    title, checkpoint, image = list(_cases(shapes_model))[case]
    assert checkpoint is not None, title
    out = export_bioimageio(checkpoint, image, tmp_path / "model.zip", PackageInfo(name=f"SegGUI {title}"))
    summary = test_model(out)
    failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details if d.status != "passed"]
    assert summary.status == "passed", failed
    with zipfile.ZipFile(out) as package:
        description = yaml.safe_load(package.read("rdf.yaml"))
        assert {"cover.png", "README.md", "test_input.npy", "test_output.npy"} <= set(package.namelist())
    (output,) = description["outputs"]
    channel_axis = next(a for a in output["axes"] if a["type"] == "channel")
    assert channel_axis["channel_names"] == ["background", "class_1", "class_2"]
    assert [p["id"] for p in output["postprocessing"] if p["id"] != "ensure_dtype"] == ["softmax"]
    (inputs,) = description["inputs"]
    steps = [p["id"] for p in inputs["preprocessing"] if p["id"] != "ensure_dtype"]
    scaling = ["scale_linear"] if image.dtype == np.uint8 else ["scale_range", "clip"]
    assert steps == [*scaling, "fixed_zero_mean_unit_variance"]
    if checkpoint.config.encoder:  # a timm encoder: its source is timm's, not the package's
        assert set(description["weights"]) == {"torchscript", "onnx"}
    else:  # the classic U-Net also as a state dict, rebuilt from the source the package carries
        assert set(description["weights"]) == {"pytorch_state_dict", "torchscript", "onnx"}
        architecture = description["weights"]["pytorch_state_dict"]["architecture"]
        assert architecture["callable"] == "PackagedUNet"
        with zipfile.ZipFile(out) as package:
            source = package.read(architecture["source"]).decode()
        imported = {
            line.split()[1].split(".")[0]
            for line in source.splitlines()
            if line.startswith(("import ", "from "))
        }
        assert imported == {"__future__", "torch"}  # nothing of SegGUI: it runs without it


def test_the_command_line_writes_a_package(shapes_model, tmp_path, capsys):
    from PIL import Image

    from model.cli import main

    grey, _ = shapes_image(np.random.default_rng(3), 128)
    Image.fromarray(grey).save(tmp_path / "cells.png")
    out = tmp_path / "shapes.zip"
    argv = ["export", "model", "--model", str(shapes_model), "--format", "bioimageio", "--out", str(out)]
    assert main(argv) == 2 and "needs --image" in capsys.readouterr().err
    extra = ["--image", str(tmp_path / "cells.png"), "--author", "Ada Lovelace", "--license", "MIT"]
    assert main([*argv, *extra, "--name", "Shapes"]) == 0
    with zipfile.ZipFile(out) as package:
        description = yaml.safe_load(package.read("rdf.yaml"))
    assert description["name"] == "Shapes" and description["license"] == "MIT"
    assert [a["name"] for a in description["authors"]] == ["Ada Lovelace"]
    assert description["cite"][0]["doi"] == "10.1007/978-3-319-24574-4_28"  # U-Net's, by default


def test_a_package_predicts_from_the_command_line_as_the_model_it_came_from(shapes_model, tmp_path, capsys):
    from PIL import Image

    from model.cli import main
    from model.storage.imageio import read_mask, write_mask

    rng = np.random.default_rng(11)
    images = tmp_path / "images"
    images.mkdir()
    (images / "masks").mkdir()
    for i in range(2):  # the second of a size the package takes only padded (its step is 16)
        image, truth = shapes_image(rng, 160)
        crop = (slice(0, 160 - 3 * i), slice(0, 160 - 11 * i))
        Image.fromarray(image[crop]).save(images / f"held{i}.png")
        write_mask(images / "masks" / f"held{i}.png", truth[crop], CLASSES)
    package = tmp_path / "shapes.zip"
    export_bioimageio(
        load_checkpoint(shapes_model), shapes_image(rng, 128)[0], package, PackageInfo(name="Shapes")
    )
    argv = ["predict", "--images", str(images)]
    assert main([*argv, "--model", str(shapes_model), "--out", str(tmp_path / "ours")]) == 0
    assert main([*argv, "--model", str(package), "--out", str(tmp_path / "package")]) == 0
    for i in range(2):
        ours = read_mask(tmp_path / "ours" / f"held{i}.png")
        theirs = read_mask(tmp_path / "package" / f"held{i}.png")
        assert np.mean(ours != theirs) < 0.001  # the same classes but where engines round apart
    capsys.readouterr()
    scores = {}
    for model in (shapes_model, package):  # evaluate scores the package as the model it came from
        assert main(["evaluate", "--images", str(images), "--model", str(model), "--json"]) == 0
        scores[model.suffix] = json.loads(capsys.readouterr().out)
    assert scores[".zip"]["images"] == 2 and scores[".zip"]["classes"][1]["name"] == "class 1"
    assert scores[".zip"]["mean_iou"] == pytest.approx(scores[".pt"]["mean_iou"], abs=1e-3)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    assert main([*argv, "--model", str(broken), "--out", str(tmp_path / "x")]) == 2
    assert "not a bioimage.io model package SegGUI can read" in capsys.readouterr().err


def test_a_package_seggui_cannot_use_is_refused_with_why():
    from pathlib import Path
    from types import SimpleNamespace as Described

    from model.errors import SegGUIError
    from model.networks.package_model import check_usable

    def axis(kind, **fields):
        return Described(type=kind, **fields)

    image = Described(
        id="raw", axes=[axis("batch"), axis("channel", channel_names=["c"]), axis("space"), axis("space")]
    )
    per_class = Described(
        axes=[axis("batch"), axis("channel", channel_names=["a", "b"]), axis("space"), axis("space")]
    )
    instances = Described(axes=[axis("batch"), axis("space"), axis("space")])
    volume = Described(axes=[*per_class.axes, axis("space")])
    package = Path("model.zip")
    assert check_usable(package, Described(inputs=[image], outputs=[per_class]))[0] == 1
    with pytest.raises(SegGUIError, match="no channel axis .* instance labels"):
        check_usable(package, Described(inputs=[image], outputs=[instances]))
    with pytest.raises(SegGUIError, match="SegGUI uses 2-D models"):
        check_usable(package, Described(inputs=[image], outputs=[volume]))
    with pytest.raises(SegGUIError, match="2 inputs and 1 outputs"):
        check_usable(package, Described(inputs=[image, image], outputs=[per_class]))
    shrunk = Described(axes=[*per_class.axes[:2], axis("space", id="y", scale=2.0), axis("space")])
    with pytest.raises(SegGUIError, match="scaled 2.0x along y"):
        check_usable(package, Described(inputs=[image], outputs=[shrunk]))
    old = Described(format_version="0.4.10", inputs=[Described(axes="bcyx")], outputs=[per_class])
    with pytest.raises(SegGUIError, match="format 0.4.10; SegGUI reads format 0.5"):
        check_usable(package, old)


def test_a_package_predicts_a_large_image_tile_by_tile_as_it_does_in_one_pass(shapes_package):
    from model.networks.package_model import load_package
    from model.prediction.package_predictor import PackagePredictor

    image = np.vstack(
        [np.hstack([shapes_image(np.random.default_rng(i + j), 80)[0] for j in range(3)]) for i in range(3)]
    )
    image = image[:229, :237]  # no multiple of the tile or of the package's step
    package = load_package(shapes_package)
    whole = PackagePredictor(package, "cpu").predict(image)
    tiles = []
    tiled = PackagePredictor(package, "cpu", tile=96, overlap=24, single_pass_pixels=0).predict(
        image, on_tiles=lambda done, total: tiles.append((done, total))
    )
    assert tiles[-1] == (9, 9) and tiled.classes.shape == image.shape
    assert np.mean(tiled.classes != whole.classes) < 0.01  # blended seams, the same classes
    assert abs(tiled.uncertainty - whole.uncertainty) < 0.02
