"""Makes the bundled sample project: small synthetic micrographs of cells, some labelled.

    python resources/make_sample.py

Writes resources/sample/*.png, a few masks in resources/sample/masks/ (two complete, one with
scribbles only) and the project file with the class names. Deterministic (seeded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.classes import IGNORE_INDEX, ClassInfo
from model.storage.imageio import write_mask
from model.storage.project import Project, save_project

SIZE = 256
CLASSES = [
    ClassInfo("background", (40, 40, 255)),
    ClassInfo("cell", (230, 25, 75)),
    ClassInfo("nucleus", (0, 130, 200)),
]


def cells(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A fluorescence-like image of cells with nuclei, and its 3-class mask."""
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    image = np.full((SIZE, SIZE), 30.0, np.float32)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for _ in range(rng.integers(6, 10)):
        cy, cx = rng.uniform(20, SIZE - 20, 2)
        ry, rx = rng.uniform(14, 28, 2)
        angle = rng.uniform(0, np.pi)
        dy, dx = yy - cy, xx - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / rx
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / ry
        cell = u**2 + v**2 <= 1
        nucleus = u**2 + v**2 <= 0.3
        image[cell] = 110 + rng.normal(0, 6)
        image[nucleus] = 190 + rng.normal(0, 6)
        mask[cell] = 1
        mask[nucleus] = 2
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def scribbles(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few short strokes inside each class, everything else "not labelled"."""
    out = np.full_like(mask, IGNORE_INDEX)
    for value in range(len(CLASSES)):
        ys, xs = np.nonzero(mask == value)
        for i in rng.choice(len(ys), size=min(6, len(ys)), replace=False):
            y0, x0 = ys[i], xs[i]
            stroke = (slice(max(0, y0 - 2), y0 + 2), slice(max(0, x0 - 2), x0 + 2))
            out[stroke] = np.where(mask[stroke] == value, value, out[stroke])
    return out


SAMPLE = Path(__file__).resolve().parent / "sample"


def main(folder: Path = SAMPLE) -> None:
    rng = np.random.default_rng(2026)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    for index in range(6):
        image, mask = cells(rng)
        Image.fromarray(image).save(folder / f"cells_{index + 1:02d}.png", optimize=True)
        if index < 2:
            write_mask(folder / "masks" / f"cells_{index + 1:02d}.png", mask, CLASSES)
        elif index == 2:
            write_mask(folder / "masks" / f"cells_{index + 1:02d}.png", scribbles(mask, rng), CLASSES)
    save_project(Project(folder, classes=tuple(CLASSES)))


if __name__ == "__main__":
    main()
