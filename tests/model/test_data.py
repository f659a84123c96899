from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.classes import IGNORE_INDEX
from model.errors import DatasetError
from model.training.data import CropDataset, IntensityJitter, LabelledImage, find_samples, load_labelled
from tests.synthetic import write_shapes_folder


def test_find_samples_pairs_images_with_masks_by_stem(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 3, masks=2)
    samples = find_samples(image_dir, image_dir / "masks")
    assert [s.image.name for s in samples] == ["img00.png", "img01.png", "img02.png"]
    assert [s.mask.name if s.mask else None for s in samples] == ["img00.png", "img01.png", None]


def test_find_samples_errors_name_the_folder(tmp_path):
    with pytest.raises(DatasetError, match="nowhere.*not found"):
        find_samples(tmp_path / "nowhere", tmp_path)
    with pytest.raises(DatasetError, match="no images"):
        find_samples(tmp_path, tmp_path)


def test_load_labelled_skips_bad_files_with_a_reason_and_keeps_the_rest(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 4)
    masks = image_dir / "masks"
    (image_dir / "img01.png").write_bytes(b"garbage")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(masks / "img02.png")
    Image.fromarray(np.full((64, 64), IGNORE_INDEX, np.uint8)).save(masks / "img03.png")

    loaded, problems = load_labelled(find_samples(image_dir, masks), in_channels=1, num_classes=3)
    assert [item.path.name for item in loaded] == ["img00.png"]
    assert len(problems) == 2
    assert "img01.png" in problems[0]
    assert "img02.png" in problems[1] and "10x10" in problems[1]


def test_crops_keep_image_and_mask_aligned_through_augmentation():
    # The image encodes its own label (value = class / 4), so any misalignment shows up.
    rng = np.random.default_rng(1)
    mask = rng.integers(0, 3, (40, 56)).astype(np.uint8)
    mask = np.kron(mask, np.ones((2, 2), np.uint8))  # blocks survive nearest resizing
    mask[:10] = IGNORE_INDEX
    image = (np.where(mask == IGNORE_INDEX, 0, mask) / 4.0).astype(np.float32)[None]
    dataset = CropDataset(
        [LabelledImage(None, image, mask)],
        crop_size=32,
        length=40,
        mean=(0.0,),
        std=(1.0,),
        scale_range=(1.0, 1.0),
    )
    dataset.transform.transforms = [
        t for t in dataset.transform.transforms if not isinstance(t, IntensityJitter)
    ]
    torch.manual_seed(0)
    for i in range(len(dataset)):
        x, y = dataset[i]
        assert x.shape == (1, 32, 32) and y.shape == (32, 32) and y.dtype == torch.long
        labelled = y != IGNORE_INDEX
        assert labelled.any()
        assert torch.allclose(x[0][labelled], y[labelled].float() / 4.0)


def test_crops_past_the_border_are_padded_as_not_labelled():
    image = np.ones((1, 8, 8), np.float32)
    mask = np.ones((8, 8), np.uint8)
    dataset = CropDataset(
        [LabelledImage(None, image, mask)], crop_size=32, length=4, mean=(0.0,), std=(1.0,), augment=False
    )
    x, y = dataset[0]
    assert (y == 1).sum() == 64 and (y == IGNORE_INDEX).sum() == 32 * 32 - 64
    assert x.sum() == 64


def test_unsaved_masks_override_the_files_and_count_without_a_file(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 3, masks=1)
    samples = find_samples(image_dir, image_dir / "masks")
    newer = np.full((64, 64), IGNORE_INDEX, np.uint8)
    newer[:8, :8] = 2
    unsaved = np.full((64, 64), IGNORE_INDEX, np.uint8)
    unsaved[10:20, 10:20] = 1
    overrides = {image_dir / "img00.png": newer, image_dir / "img02.png": unsaved}

    loaded, problems = load_labelled(samples, 1, 3, overrides=overrides)

    assert problems == []
    assert [item.path.name for item in loaded] == ["img00.png", "img02.png"]
    assert np.array_equal(loaded[0].mask, newer) and np.array_equal(loaded[1].mask, unsaved)


def test_an_override_of_the_wrong_size_is_reported_by_image_name(tmp_path):
    image_dir = write_shapes_folder(tmp_path, 1, masks=0)
    overrides = {image_dir / "img00.png": np.zeros((8, 8), np.uint8)}
    loaded, problems = load_labelled(find_samples(image_dir, image_dir / "masks"), 1, 3, overrides)
    assert loaded == [] and "img00.png" in problems[0] and "8 x 8" in problems[0]


def _dense_with_rare_square(n: int = 4, size: int = 128) -> list[LabelledImage]:
    """Dense masks: background everywhere, class 1 a wide band, class 2 one 6 x 6 square."""
    images = []
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        mask[:, : size // 3] = 1
        if i == 0:
            mask[90:96, 90:96] = 2
        images.append(LabelledImage(Path(f"d{i}.png"), np.zeros((1, size, size), np.float32), mask))
    return images


def test_rare_classes_are_in_many_crops_even_with_dense_masks():
    images = _dense_with_rare_square()
    share = 36 / sum(i.mask.size for i in images)  # 0.05 % of the labelled pixels
    dataset = CropDataset(images, crop_size=32, length=400, mean=(0.0,), std=(1.0,), augment=False)
    with_rare = np.mean([bool((dataset[i][1] == 2).any()) for i in range(400)])
    # Uniform crops would hold it about 2 % of the time; 80 % of the crops are centred on a
    # class drawn with weight 1 / share, which is almost always the square's.
    assert share < 0.001 and with_rare > 0.7, with_rare
    spread = CropDataset(
        images,
        crop_size=32,
        length=400,
        mean=(0.0,),
        std=(1.0,),
        augment=False,
        centred_share=0.0,
    )
    uniform = np.mean([bool((spread[i][1] == 2).any()) for i in range(400)])
    assert uniform < 0.1


def test_class_weights_favour_rare_classes_within_limits():
    from model.training.losses import class_weights

    assert np.allclose(class_weights(np.array([100, 10_000, 1_000_000]), power=1.0), [10, 1, 0.1])
    assert np.allclose(class_weights(np.array([100, 10_000, 1_000_000]), power=0.5), [10, 1, 0.1])
    assert np.allclose(class_weights(np.array([2_500, 10_000, 40_000]), power=0.5), [2, 1, 0.5])
    assert np.allclose(class_weights(np.array([0, 10, 40]), power=1.0), [1, 2.5, 0.625])
    assert np.allclose(class_weights(np.array([0, 7, 0])), [1, 1, 1])


def test_nan_and_infinite_pixels_are_replaced_named_and_train_without_diverging(tmp_path, caplog):
    from model.classes import default_classes
    from model.prediction.predict import Predictor
    from model.storage.imageio import write_mask
    from model.training.settings import TrainSettings
    from model.training.train import fit

    rng = np.random.default_rng(0)
    image = rng.random((48, 48), dtype=np.float32) * 100
    image[5, 5], image[6, 6], image[7, 7] = np.nan, np.inf, -np.inf
    Image.fromarray(image, mode="F").save(tmp_path / "float.tif")
    (tmp_path / "masks").mkdir()
    mask = (image > 50).astype(np.uint8)
    write_mask(tmp_path / "masks" / "float.png", mask, default_classes(2))
    with caplog.at_level("WARNING"):
        images, problems = load_labelled(find_samples(tmp_path, tmp_path / "masks"), 1, 2)
    assert problems == [] and np.isfinite(images[0].image).all()
    assert "float.tif: 3 pixels are NaN or infinite" in caplog.text
    settings = TrainSettings(preset="fast", max_steps=5, crop_size=32, batch_size=2, device="cpu")
    result = fit(settings, images, [], default_classes(2))  # raised "training diverged" before
    assert all(np.isfinite(h["train_loss"]) for h in result.history)
    prediction = Predictor(result.checkpoint, "cpu").predict(image, probabilities=True)
    assert np.isfinite(prediction.probabilities).all() and np.isfinite(prediction.uncertainty)


def test_crops_of_five_channel_images_are_augmented_in_every_channel():
    rng = np.random.default_rng(4)
    image = rng.uniform(0.2, 0.8, (5, 48, 48)).astype(np.float32)
    mask = rng.integers(0, 2, (48, 48)).astype(np.uint8)
    dataset = CropDataset(
        [LabelledImage(None, image, mask)], crop_size=32, length=4, mean=(0.0,) * 5, std=(1.0,) * 5
    )
    x, y = dataset[0]
    assert x.shape == (5, 32, 32) and set(torch.unique(y).tolist()) <= {0, 1}

    planes = torch.from_numpy(image)
    jitter = IntensityJitter(0.25)
    brighter = jitter.transform(planes, {"brightness": 1.2, "contrast": 1.0, "first": 0})
    assert torch.allclose(brighter, (planes * 1.2).clamp(0, 1))
    flatter = jitter.transform(planes, {"brightness": 1.0, "contrast": 0.5, "first": 1})
    assert torch.allclose(flatter, 0.5 * planes + 0.5 * planes.mean())
