"""Images that share a stem (a.png, a.jpg) get a mask each, by one rule in train, predict,
export and import; a name that still collides is refused naming both files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from model.classes import default_classes
from model.labels.export_labels import ExportOptions, export_labels
from model.labels.import_labels import import_labels
from model.networks.checkpoint import load_checkpoint
from model.prediction.predict import Predictor
from model.prediction.predict_folder import predict_folder
from model.storage.imageio import list_images, read_mask, write_mask
from model.storage.mask_names import MaskNames
from model.training.data import find_samples, load_labelled

CLASSES = default_classes(3)


def _folder(tmp_path, names):
    (tmp_path / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    return list_images(tmp_path)


def test_a_stem_shared_by_two_images_gives_each_its_whole_name(tmp_path):
    images = _folder(tmp_path, ["a.png", "A.jpg", "b.tif", "c.png"])
    names = MaskNames(images)
    masks = {image.name: names.mask_path(image, tmp_path / "masks").name for image in images}
    assert masks == {"a.png": "a.png.png", "A.jpg": "A.jpg.png", "b.tif": "b.png", "c.png": "c.png"}
    assert not names.refused


def test_a_name_that_still_collides_is_refused_naming_both(tmp_path):
    images = _folder(tmp_path, ["a.png", "a.jpg", "a.png.tif"])
    names = MaskNames(images)
    assert set(names.refused) == {tmp_path / "a.png", tmp_path / "a.png.tif"}
    assert "a.png.tif and a.png" in names.refused[tmp_path / "a.png"]
    assert names.usable(images) == [tmp_path / "a.jpg"]


def test_training_reads_each_image_of_a_pair_with_its_own_mask(tmp_path):
    images = _folder(tmp_path, ["x.png", "x.tif", "y.png"])
    masks = tmp_path / "masks"
    write_mask(masks / "x.png.png", np.full((32, 40), 1, np.uint8), CLASSES)
    write_mask(masks / "x.tif.png", np.full((32, 40), 2, np.uint8), CLASSES)
    samples = find_samples(tmp_path, masks)
    assert [(s.image.name, s.mask.name if s.mask else None) for s in samples] == [
        ("x.png", "x.png.png"),
        ("x.tif", "x.tif.png"),
        ("y.png", None),
    ]
    loaded, problems = load_labelled(samples, 3, 3)
    assert not problems
    assert {item.path.name: int(item.mask[0, 0]) for item in loaded} == {"x.png": 1, "x.tif": 2}
    assert len(images) == 3


def test_an_old_shared_mask_is_named_not_used(tmp_path, caplog):
    _folder(tmp_path, ["x.png", "x.tif"])
    write_mask(tmp_path / "masks" / "x.png", np.full((32, 40), 1, np.uint8), CLASSES)
    samples = find_samples(tmp_path, tmp_path / "masks")
    assert all(s.mask is None for s in samples)
    assert "x.png and x.tif share this mask name" in caplog.text


def test_prediction_writes_one_file_per_image_of_a_pair(tmp_path, shapes_model):
    (tmp_path / "in").mkdir()
    images = _folder(tmp_path / "in", ["p.png", "p.jpg"])
    result = predict_folder(Predictor(load_checkpoint(shapes_model)), images, tmp_path / "out", CLASSES)
    assert not result.problems
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["p.jpg.png", "p.png.png"]


@pytest.mark.parametrize("fmt,kind", [("index", "masks"), ("labelme", "labelme"), ("coco", "coco")])
def test_export_and_import_keep_the_two_masks_of_a_pair_apart(tmp_path, fmt, kind):
    folder = tmp_path / "project"
    folder.mkdir()
    images = _folder(folder, ["a.png", "a.jpg", "b.png"])
    names = MaskNames(images)
    masks = {}
    for value, image in enumerate(images):
        masks[image] = np.zeros((32, 40), np.uint8)
        masks[image][4:20, 5 + 5 * value : 30] = value % 2 + 1
        write_mask(names.mask_path(image, folder / "masks"), masks[image], CLASSES)
    report = export_labels(images, folder / "masks", CLASSES, tmp_path / "out", ExportOptions(format=fmt))
    assert len(report.exported) == 3 and not report.skipped
    back = import_labels(tmp_path / "out", kind, images, tmp_path / "back", CLASSES)
    assert sorted(p.name for p in back.imported) == ["a.jpg", "a.png", "b.png"], back.skipped
    for image in images:
        assert np.array_equal(read_mask(names.mask_path(image, tmp_path / "back")), masks[image])


def test_import_refuses_a_label_that_could_belong_to_either_image_of_a_pair(tmp_path):
    images = _folder(tmp_path, ["a.png", "a.jpg"])
    source = tmp_path / "labels"
    source.mkdir()
    write_mask(source / "a.png", np.zeros((32, 40), np.uint8), CLASSES)
    report = import_labels(source, "masks", images, tmp_path / "masks", CLASSES)
    assert not report.imported
    assert "a.jpg and a.png share the name a" in report.skipped[0]
