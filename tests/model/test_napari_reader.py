"""SegGUI's napari reader: the manifest validates with npe2, and a project opens as napari's
layer data (checked without napari): the image, the mask in the class colours with the class
names, the prediction; a slide lazily."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from model.classes import IGNORE_INDEX, ClassInfo
from model.napari_reader import get_reader
from model.storage import tiff_files
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import write_mask
from model.storage.project import Project, save_project

ROOT = Path(__file__).resolve().parents[2]
CLASSES = (ClassInfo("background", (0, 0, 0)), ClassInfo("cell", (230, 25, 75)))


def test_the_manifest_validates_with_npe2():
    npe2 = shutil.which("npe2", path=str(Path(sys.executable).parent))
    assert npe2 is not None, "npe2 (the test extra) is not installed"
    done = subprocess.run(
        [npe2, "validate", str(ROOT / "model" / "napari.yaml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in (done.stdout + done.stderr).lower()


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "masks").mkdir(parents=True)
    (folder / "predictions").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(folder / "a.png")
    tifffile.imwrite(
        folder / "b.tif", rng.integers(0, 4000, (2, 40, 50), dtype=np.uint16), metadata={"axes": "CYX"}
    )
    mask = np.full((40, 50), IGNORE_INDEX, np.uint8)
    mask[5:10, 5:20] = 1
    write_mask(folder / "masks" / "a.png", mask, list(CLASSES))
    write_mask(folder / "predictions" / "a.png", np.ones((40, 50), np.uint8), list(CLASSES))
    save_project(Project(folder, classes=CLASSES))
    return folder


def test_a_project_opens_as_image_mask_and_prediction_layers(tmp_path):
    folder = _project(tmp_path)
    assert get_reader(str(tmp_path)) is None  # not a project: other readers are asked
    layers = get_reader(str(folder))(str(folder))
    (image, image_meta, kind), (mask, mask_meta, mask_kind), (prediction, _, prediction_kind) = layers
    assert kind == "image" and image.shape == (40, 50, 3) and image_meta["rgb"]
    assert (mask_kind, prediction_kind) == ("labels", "labels")
    assert mask[7, 10] == 1 and mask[30, 30] == IGNORE_INDEX and (prediction == 1).all()
    assert mask_meta["colormap"][1] == pytest.approx([230 / 255, 25 / 255, 75 / 255, 1.0])
    assert mask_meta["colormap"][IGNORE_INDEX][3] == 0
    assert mask_meta["features"] == {"index": [0, 1], "class": ["background", "cell"]}


def test_one_image_of_a_project_with_its_channels(tmp_path):
    folder = _project(tmp_path)
    (image, meta, _), (mask, _, _) = get_reader(str(folder / "b.tif"))(str(folder / "b.tif"))
    assert image.dtype == np.uint16 and image.shape == (40, 50, 2) and meta["channel_axis"] == 2
    assert (mask == IGNORE_INDEX).all()  # no mask yet: an empty one to paint


def test_a_slide_opens_lazily(tmp_path, monkeypatch):
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)
    folder = tmp_path / "slides"
    (folder / "masks").mkdir(parents=True)
    image = np.random.default_rng(2).integers(0, 255, (700, 900, 3), dtype=np.uint8)
    tifffile.imwrite(folder / "s.tif", image, tile=(256, 256), photometric="rgb")
    mask = ChunkedMask.create(folder / "masks" / "s.zarr", (700, 900))
    mask.write(100, 200, np.full((50, 60), 1, np.uint8))
    mask.save()
    save_project(Project(folder, classes=CLASSES))
    (pixels, _, _), (labels, _, kind) = get_reader(str(folder / "s.tif"))(str(folder / "s.tif"))
    assert type(pixels).__module__.startswith("dask") and kind == "labels"
    assert np.array_equal(np.asarray(pixels[600:700, 800:900]), image[600:700, 800:900])
    assert (
        np.asarray(labels[100:150, 200:260]).min() == 1
        and np.asarray(labels[0:10, 0:10]).max() == IGNORE_INDEX
    )


def test_a_stack_opens_as_one_3d_image_with_each_planes_mask_in_its_place(tmp_path):
    folder = tmp_path / "stacks"
    (folder / "masks").mkdir(parents=True)
    stack = np.random.default_rng(4).integers(0, 4000, (4, 2, 30, 40), dtype=np.uint16)  # z, c, y, x
    tifffile.imwrite(folder / "z.tif", stack, photometric="minisblack", metadata={"axes": "ZCYX"})
    classes = (ClassInfo("background", (0, 0, 0)), ClassInfo("cell", (230, 25, 75)))
    save_project(Project(folder, classes=classes))
    third = np.full((30, 40), IGNORE_INDEX, np.uint8)
    third[5:10, 5:20] = 1
    write_mask(folder / "masks" / "z.z003.png", third, list(classes))
    for opened in (folder, folder / "z.tif"):  # the project, or its stack
        (image, meta, kind), (mask, mask_meta, mask_kind) = get_reader(str(opened))(str(opened))
        assert mask_meta["name"] == "z mask"
        assert kind == "image" and image.shape == (4, 30, 40, 2) and meta["channel_axis"] == 3
        assert np.array_equal(np.asarray(image[2]), np.moveaxis(stack[2], 0, -1))  # read as shown
        assert mask_kind == "labels" and mask.shape == (4, 30, 40)
        assert np.array_equal(mask[2], third) and (mask[[0, 1, 3]] == IGNORE_INDEX).all()


def test_napari_itself_takes_every_layer_the_reader_gives(tmp_path, monkeypatch):
    """napari's own viewer model (no window) adds the layers of a project, a stack and a slide:
    the class colours as its Labels colormap, the class names as features."""
    viewer_model = pytest.importorskip("napari.components").ViewerModel  # Python 3.11 and newer
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 100_000)
    folder = _project(tmp_path)
    stack = np.random.default_rng(4).integers(0, 255, (3, 30, 40), dtype=np.uint8)
    tifffile.imwrite(folder / "z.tif", stack, photometric="minisblack", metadata={"axes": "ZYX"})
    slide = np.random.default_rng(5).integers(0, 255, (700, 900, 3), dtype=np.uint8)
    tifffile.imwrite(folder / "s.tif", slide, tile=(256, 256), photometric="rgb")
    mask = ChunkedMask.create(folder / "masks" / "s.zarr", (700, 900))
    mask.write(10, 10, np.ones((5, 5), np.uint8))
    mask.save()
    for opened in (folder, folder / "z.tif", folder / "s.tif"):
        viewer = viewer_model()
        for data, meta, kind in get_reader(str(opened))(str(opened)):
            viewer._add_layer_from_data(data, meta, kind)
        labels = next(layer for layer in viewer.layers if type(layer).__name__ == "Labels")
        assert labels.colormap.map(np.array([1]))[0] == pytest.approx([230 / 255, 25 / 255, 75 / 255, 1.0])
        assert labels.colormap.map(np.array([IGNORE_INDEX]))[0][3] == 0
        assert list(labels.features["class"]) == ["background", "cell"]
    assert viewer.layers[0].data.shape[:2] == (700, 900)  # the slide, read as napari draws it
