from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from model.errors import SegGUIError
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict import Predictor
from model.prediction.predict_folder import predict_folder, rank_by_uncertainty
from model.storage.imageio import read_mask
from tests.synthetic import shapes_image


@pytest.fixture
def trained(shapes_model):
    return load_checkpoint(shapes_model)


def test_predicts_every_image_reports_bad_ones_and_ranks_the_ambiguous_first(tmp_path, trained):
    rng = np.random.default_rng(9)
    images = []
    for i in range(3):
        image, _ = shapes_image(rng)
        images.append(tmp_path / f"clear{i}.png")
        Image.fromarray(image).save(images[-1])
    # Half bright-disk texture, half dark-square texture, blurred together: no clear answer.
    ambiguous = np.clip(rng.normal(110, 60, (64, 64)), 0, 255).astype(np.uint8)
    images.append(tmp_path / "ambiguous.png")
    Image.fromarray(ambiguous).save(images[-1])
    images.append(tmp_path / "broken.png")
    images[-1].write_bytes(b"\x89PNG truncated")
    out = tmp_path / "predictions"
    seen = []

    result = predict_folder(Predictor(trained, "cpu"), images, out, trained.classes, on_image=seen.append)

    assert [e.image.name for e in seen] == ["clear0.png", "clear1.png", "clear2.png", "ambiguous.png"]
    assert len(result.problems) == 1 and "broken.png" in result.problems[0]
    for path in images[:4]:
        assert read_mask(out / path.name, shape=(64, 64), num_classes=3).shape == (64, 64)
    ranked = rank_by_uncertainty(result.uncertainties)
    assert ranked[0].name == "ambiguous.png"
    listed = json.loads((out / "uncertainty.json").read_text())
    assert [row["image"] for row in listed] == [p.name for p in ranked]
    assert rank_by_uncertainty(result.uncertainties, exclude={ranked[0]})[0] == ranked[1]


def test_stops_when_asked_and_a_failed_write_names_the_file(tmp_path, trained):
    image, _ = shapes_image(np.random.default_rng(1))
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"im{i}.png")
        Image.fromarray(image).save(paths[-1])
    predictor = Predictor(trained, "cpu")
    done = []
    result = predict_folder(
        predictor,
        paths,
        tmp_path / "out",
        trained.classes,
        on_image=done.append,
        should_stop=lambda: len(done) >= 1,
    )
    assert result.stopped and list(result.uncertainties) == paths[:1]

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "im0.png").mkdir()  # a folder where the prediction file should go
    with pytest.raises(SegGUIError, match="im0.png"):
        predict_folder(predictor, paths, blocked, trained.classes)


def test_a_large_image_reports_its_tiles_and_stops_between_them(tmp_path, trained):
    rng = np.random.default_rng(2)
    big = tmp_path / "big.png"
    Image.fromarray(rng.integers(0, 255, (1100, 1000), dtype=np.uint8)).save(big)
    predictor = Predictor(trained, "cpu", tile=256, overlap=32)
    seen: list[tuple[int, int]] = []
    result = predict_folder(
        predictor,
        [big],
        tmp_path / "out",
        trained.classes,
        on_tiles=lambda image, done, total: seen.append((done, total)),
    )
    total = seen[-1][1]
    assert total > 4 and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and not result.stopped
    # Stop asked while the first tiles run: before, the whole image was predicted first.
    seen.clear()
    result = predict_folder(
        predictor,
        [big],
        tmp_path / "stopped",
        trained.classes,
        on_tiles=lambda image, done, total: seen.append((done, total)),
        should_stop=lambda: bool(seen),
    )
    assert result.stopped and len(seen) == 1 and seen[0][0] < seen[0][1]
    assert not (tmp_path / "stopped" / "big.png").exists()


def test_nan_and_infinite_pixels_are_named_and_the_image_still_predicted(tmp_path, trained):
    image = np.random.default_rng(3).random((64, 64)).astype(np.float32)
    image[1, 1], image[2, 2] = np.nan, np.inf
    path = tmp_path / "float.tif"
    Image.fromarray(image, mode="F").save(path)
    result = predict_folder(Predictor(trained, "cpu"), [path], tmp_path / "out", trained.classes)
    assert result.warnings == [
        f"{path}: 2 pixels are NaN or infinite; predicted as the darkest (NaN, -inf) or "
        "brightest (+inf) value"
    ]
    assert not result.problems and (tmp_path / "out" / "float.png").exists()


def _shapes_images(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    paths = []
    for i in range(count):
        image, _ = shapes_image(rng)
        paths.append(folder / f"img{i:02d}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


def test_several_predictors_share_the_images_and_write_each_once(tmp_path, trained):
    images = _shapes_images(tmp_path / "images", 7)
    alone, together = tmp_path / "alone", tmp_path / "together"
    predict_folder(Predictor(trained, "cpu"), images, alone, trained.classes)
    seen = []
    result = predict_folder(
        [Predictor(trained, "cpu"), Predictor(trained, "cpu")],
        images,
        together,
        trained.classes,
        on_image=seen.append,
    )
    assert sorted(e.image.name for e in seen) == [p.name for p in images]
    assert sorted(e.index for e in seen) == list(range(1, 8)) and not result.stopped
    for path in images:
        assert np.array_equal(read_mask(together / path.name), read_mask(alone / path.name))
    listed = json.loads((together / "uncertainty.json").read_text())
    assert sorted(row["image"] for row in listed) == [p.name for p in images]


def test_two_gloo_processes_predict_a_folder_each_image_once(tmp_path, shapes_model):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    images = _shapes_images(tmp_path / "images", 5)
    out = tmp_path / "predictions"
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += [
        "-m",
        "model.cli",
        "predict",
        "--model",
        str(shapes_model),
        "--images",
        str(images[0].parent),
    ]
    command += ["--out", str(out), "--device", "cpu"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    import re

    lines = re.findall(r"rank (\d): \[\d+/\d+\] (\S+): uncertainty", done.stdout)
    assert sorted(name for _, name in lines) == [p.name for p in images], done.stdout  # each once
    assert {rank for rank, _ in lines} == {"0", "1"}
    assert sorted(p.name for p in out.glob("*.png")) == [p.name for p in images]
    listed = json.loads((out / "uncertainty.json").read_text())
    assert sorted(row["image"] for row in listed) == [p.name for p in images]
