"""Training images read from disk as needed: the same crops as in memory, in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from model.classes import IGNORE_INDEX, default_classes
from model.storage.image_cache import DecodedCache
from model.training.data import CropDataset, find_samples, load_labelled
from model.training.data_loader import loader_workers, make_loader
from model.training.settings import TrainSettings
from model.training.train import fit
from model.training.training_images import POSITIONS_PER_CLASS, ClassSampling, index_labelled


def _colour_folder(root, count=6, size=(48, 64)):
    """Colour images whose pixels encode their mask; masks with three classes and unlabelled."""
    (root / "masks").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(count):
        mask = rng.integers(0, 3, (size[0] // 8, size[1] // 8)).astype(np.uint8)
        mask = np.kron(mask, np.ones((8, 8), np.uint8))
        mask[: size[0] // 4] = IGNORE_INDEX if i % 2 else mask[: size[0] // 4]
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / f"im{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"im{i}.png")
    return root


def _dataset(images, **options):
    return CropDataset(
        images, crop_size=32, length=48, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), **options
    )


def test_streamed_images_give_the_same_crops_as_in_memory_for_the_same_seed(tmp_path):
    samples = find_samples(_colour_folder(tmp_path), tmp_path / "masks")
    in_memory, problems = load_labelled(samples, 3, 3)
    cache = DecodedCache(1 << 30)
    stored, stored_problems = index_labelled(samples, 3, 3, cache=cache)
    assert problems == stored_problems == [] and len(stored) == len(in_memory) == 6

    memory_set = _dataset(in_memory, seed=5, epoch_length=24, scale_range=(0.7, 1.4))
    stored_set = _dataset(stored, seed=5, epoch_length=24, scale_range=(0.7, 1.4))
    for index in range(48):  # two epochs
        image_a, mask_a = memory_set[index]
        image_b, mask_b = stored_set[index]
        assert torch.equal(mask_a, mask_b) and torch.allclose(image_a, image_b, atol=1e-6)
    assert cache.misses == 6  # each image decoded once
    other_seed = _dataset(stored, seed=6, epoch_length=24, scale_range=(0.7, 1.4))
    assert not all(torch.equal(other_seed[i][1], stored_set[i][1]) for i in range(8))


def test_a_small_cache_reads_each_image_about_once_per_epoch_and_keeps_the_same_crops(tmp_path):
    samples = find_samples(_colour_folder(tmp_path, count=8), tmp_path / "masks")
    two_images = 2 * (48 * 64 * 4 + 1024)
    small = DecodedCache(two_images)
    stored, _ = index_labelled(samples, 3, 3, cache=small)
    roomy, _ = index_labelled(samples, 3, 3, cache=DecodedCache(1 << 30))
    tight = _dataset(stored, seed=1, epoch_length=96)
    loose = _dataset(roomy, seed=1, epoch_length=96)
    assert tight.in_flight == 2 and loose.in_flight > 8

    for index in range(96):
        tight[index]
        assert small.used <= small.budget
    plan_tight, plan_loose = tight.plan(0), loose.plan(0)
    assert sorted(plan_tight.draw.tolist()) == sorted(plan_loose.draw.tolist())
    by_draw = np.argsort(plan_tight.draw), np.argsort(plan_loose.draw)
    for field in ("image", "top", "left", "region"):
        assert np.array_equal(getattr(plan_tight, field)[by_draw[0]], getattr(plan_loose, field)[by_draw[1]])
    assert small.misses == len(set(plan_tight.image.tolist())) == 8  # each image decoded once


def test_unsaved_strokes_override_the_mask_files(tmp_path):
    samples = find_samples(_colour_folder(tmp_path, count=2), tmp_path / "masks")
    newer = np.full((48, 64), IGNORE_INDEX, np.uint8)
    newer[10:20, 30:40] = 2
    stored, problems = index_labelled(
        samples, 3, 3, cache=DecodedCache(1 << 30), overrides={samples[1].image: newer}
    )
    assert problems == []
    assert stored[1].sampling.counts == {2: 100}
    assert np.array_equal(stored[1].planes()[1], newer)
    _, mask = stored[1].cut(5, 25, 32)
    assert int((mask == 2).sum()) == 100 and int((mask != IGNORE_INDEX).sum()) == 100


def test_class_positions_are_a_bounded_sample_inside_the_class(tmp_path):
    mask = np.zeros((300, 300), np.uint8)
    mask[:10, :10] = 1
    mask[-1, -1] = IGNORE_INDEX
    sampling = ClassSampling.of(mask)
    assert sampling.counts == {0: 300 * 300 - 101, 1: 100}
    assert len(sampling.positions[0]) == POSITIONS_PER_CLASS and len(sampling.positions[1]) == 100
    assert (mask.ravel()[sampling.positions[0]] == 0).all() and (
        mask.ravel()[sampling.positions[1]] == 1
    ).all()
    assert np.array_equal(ClassSampling.of(mask).positions[0], sampling.positions[0])  # fixed seed


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_an_image_deleted_or_corrupted_while_training_is_left_out_with_a_message(tmp_path, damage):
    samples = find_samples(_colour_folder(tmp_path, count=4), tmp_path / "masks")
    stored, _ = index_labelled(samples, 3, 3, cache=DecodedCache(0))  # every crop reads the file
    victim = samples[2].image
    if damage == "deleted":
        victim.unlink()
    else:
        victim.write_bytes(victim.read_bytes()[:200])
    messages: list[str] = []
    settings = TrainSettings(preset="fast", max_steps=6, crop_size=32, batch_size=4, device="cpu")
    result = fit(settings, stored, stored[:1], default_classes(3), on_problem=messages.append)
    assert result.steps == 6
    assert len(messages) == 1 and "im2.png" in messages[0] and "left out" in messages[0]


def test_loader_processes_cut_the_same_crops_as_the_training_process(tmp_path):
    samples = find_samples(_colour_folder(tmp_path, count=3), tmp_path / "masks")
    stored, _ = index_labelled(samples, 3, 3, cache=DecodedCache(1 << 30))
    dataset = _dataset(stored, seed=2, epoch_length=16)
    cpu = torch.device("cpu")
    alone = [batch for batch in make_loader(dataset, 4, 0, cpu)]
    helped = [batch for batch in make_loader(dataset, 4, 2, cpu)]
    assert len(alone) == len(helped) == 12
    for (image_a, mask_a), (image_b, mask_b) in zip(alone, helped, strict=True):
        assert torch.equal(mask_a, mask_b) and torch.equal(image_a, image_b)


def test_loader_processes_are_chosen_for_the_device(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert loader_workers(-1, torch.device("cpu")) == 0
    assert loader_workers(-1, torch.device("cuda", 0)) == 8
    assert loader_workers(-1, torch.device("cuda", 0), processes_per_machine=4) == 3
    assert loader_workers(3, torch.device("cpu")) == 3


def test_loader_processes_share_the_image_memory_budget(tmp_path):
    from model.training.data_loader import share_caches

    samples = find_samples(_colour_folder(tmp_path, count=2), tmp_path / "masks")
    cache = DecodedCache(3000_000)
    stored, _ = index_labelled(samples, 3, 3, cache=cache)
    share_caches(stored, 2)
    assert cache.budget == 1000_000
    share_caches(stored, 0)  # another run without loader processes: the whole budget again
    assert cache.budget == 3000_000
