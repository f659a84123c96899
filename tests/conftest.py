from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Pretrained weights downloaded by tests go to a throw-away hub cache, never the user's; set
# before anything imports huggingface_hub (it reads these once).
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="seggui-test-hf-")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_ENDPOINT", None)
os.environ.pop("HF_HUB_OFFLINE", None)

import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def shapes_model(tmp_path_factory) -> Path:
    """A model file trained briefly on the synthetic shapes (3 classes), shared by the tests."""
    from model.classes import default_classes
    from model.networks.checkpoint import save_checkpoint
    from model.training.train import TrainSettings, fit
    from tests.synthetic import shapes_dataset

    settings = TrainSettings(max_steps=80, crop_size=64, batch_size=8, learning_rate=3e-3, device="cpu")
    checkpoint = fit(settings, shapes_dataset(12), [], default_classes(3)).checkpoint
    # Uncalibrated, as the app's tests of what is sure and unsure were written for: the
    # temperature a short run fits differs from one CPU to another (calibration's own tests
    # set theirs).
    checkpoint.temperature = 1.0
    path = tmp_path_factory.mktemp("models") / "shapes.pt"
    save_checkpoint(path, checkpoint)
    return path


@pytest.fixture(scope="session")
def shapes_package(shapes_model, tmp_path_factory) -> Path:
    """``shapes_model`` exported as a bioimage.io package (``shapes.zip``), shared by the tests."""
    import numpy as np

    from model.networks.bioimageio_export import export_bioimageio
    from model.networks.checkpoint import load_checkpoint
    from model.networks.package_info import PackageInfo
    from tests.synthetic import shapes_image

    test_image = shapes_image(np.random.default_rng(21), 96)[0]
    path = tmp_path_factory.mktemp("packages") / "shapes.zip"
    return export_bioimageio(
        load_checkpoint(shapes_model), test_image, path, PackageInfo(name="Shapes package")
    )


@pytest.fixture
def served_prompt_model(tmp_path, monkeypatch):
    """The stand-in prompt model served from 127.0.0.1, osam's cache in a throw-away home (no
    mirror set): not downloaded yet."""
    from tests.fake_osam import serve_stand_in

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OSAM_BLOB_ENDPOINT", raising=False)
    with serve_stand_in(tmp_path / "stand-in") as served:
        yield served


@pytest.fixture
def prompt_model(served_prompt_model):
    """The stand-in prompt model, downloaded into the throw-away cache: its osam name."""
    from model.prompts.catalogue import download

    download(served_prompt_model.name)
    return served_prompt_model.name


@pytest.fixture
def stand_in_as_default(tmp_path, monkeypatch):
    """The stand-in served from 127.0.0.1 under the name of the default prompt model (what the
    command line uses without --model), not downloaded yet, osam's cache in a throw-away home."""
    from model.prompts.catalogue import DEFAULT_MODEL
    from tests.fake_osam import serve_stand_in

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OSAM_BLOB_ENDPOINT", raising=False)
    with serve_stand_in(tmp_path / "stand-in", name=DEFAULT_MODEL) as served:
        yield served
