"""Small synthetic segmentation data made by the tests: shapes on noisy backgrounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from model.classes import default_classes
from model.storage.imageio import write_mask
from model.training.data import LabelledImage


def shapes_image(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 noisy grey image with a bright disk (class 1) and a dark square (class 2)."""
    image = rng.normal(110, 18, (size, size))
    mask = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
    radius = rng.integers(size // 10, size // 6)
    disk = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    image[disk] += 70
    mask[disk] = 1
    side = size // 5
    y0, x0 = rng.integers(0, size - side, 2)
    square = np.zeros_like(disk)
    square[y0 : y0 + side, x0 : x0 + side] = True
    square &= ~disk
    image[square] -= 70
    mask[square] = 2
    return np.clip(image, 0, 255).astype(np.uint8), mask


def shapes_dataset(n: int, size: int = 64, seed: int = 0) -> list[LabelledImage]:
    """``n`` in-memory labelled images (float planes in [0, 1]) with 3 classes."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        image, mask = shapes_image(rng, size)
        out.append(LabelledImage(Path(f"shape{i}.png"), (image / 255.0).astype(np.float32)[None], mask))
    return out


def write_shapes_folder(root: Path, n: int, size: int = 64, seed: int = 0, masks: int | None = None) -> Path:
    """Write ``n`` shape images to ``root/images`` and the first ``masks`` masks to ``root/images/masks``."""
    rng = np.random.default_rng(seed)
    image_dir = root / "images"
    mask_dir = image_dir / "masks"
    mask_dir.mkdir(parents=True, exist_ok=True)
    classes = default_classes(3)
    for i in range(n):
        image, mask = shapes_image(rng, size)
        Image.fromarray(image).save(image_dir / f"img{i:02d}.png")
        if masks is None or i < masks:
            write_mask(mask_dir / f"img{i:02d}.png", mask, classes)
    return image_dir
