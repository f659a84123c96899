"""Export time per format for many masks (default 1,000 masks of 1024 x 1024), and import back.

    python benchmarks/export.py [--count 1000] [--size 1024]

Masks are membrane-like (thin curvy lines, several classes, some not-labelled pixels). The
baseline, measured in the same run, is writing the same masks as plain PNGs with Pillow alone,
the least any format has to do. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.classes import IGNORE_INDEX, default_classes
from model.labels.export_labels import ExportOptions, export_labels
from model.labels.formats import FORMATS
from model.labels.import_labels import import_labels
from model.storage.imageio import write_mask

IMPORT_KIND = {
    "index": "masks",
    "colour": "colour",
    "coco": "coco",
    "voc": "masks",
    "yolo": "yolo",
    "labelme": "labelme",
}


def make_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """Blobs of three classes on background, an unlabelled band: a realistic number of polygons."""
    small = rng.random((size // 32, size // 32))
    big = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC))
    mask = np.digitize(big, [110, 150, 190]).astype(np.uint8)
    mask[:, : size // 20] = IGNORE_INDEX
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--formats", nargs="*", default=list(FORMATS))
    args = parser.parse_args()
    classes = default_classes(4)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        masks_dir = root / "project" / "masks"
        masks_dir.mkdir(parents=True)
        print(f"making {args.count} masks of {args.size} x {args.size} ...", flush=True)
        images = []
        image = Image.fromarray(np.zeros((args.size, args.size), np.uint8))
        variants = [make_mask(rng, args.size) for _ in range(8)]
        for i in range(args.count):
            path = root / "project" / f"img{i:05d}.png"
            image.save(path, compress_level=1)
            write_mask(masks_dir / path.name, variants[i % len(variants)], classes)
            images.append(path)

        start = time.perf_counter()
        plain = root / "plain"
        plain.mkdir()
        for path in images:
            Image.fromarray(variants[images.index(path) % len(variants)]).save(plain / path.name)
        baseline = time.perf_counter() - start
        print(f"baseline (Pillow PNG writes only): {baseline:.1f} s", flush=True)

        rows = []
        for fmt in args.formats:
            out = root / f"export-{fmt}"
            start = time.perf_counter()
            report = export_labels(
                images, masks_dir, classes, out, ExportOptions(format=fmt, val_fraction=0.2)
            )
            seconds = time.perf_counter() - start
            size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
            back = root / f"back-{fmt}"
            start = time.perf_counter()
            imported = import_labels(out, IMPORT_KIND[fmt], images, back, classes)
            import_s = time.perf_counter() - start
            rows.append((fmt, seconds, size_mb, len(report.exported), import_s, len(imported.imported)))
            print(f"  {fmt}: export {seconds:.1f} s, import {import_s:.1f} s", flush=True)

    print(f"\n### Export of {args.count} masks of {args.size} x {args.size} (4 classes)\n")
    print("| format | export time | per mask | ratio to plain PNG writes | size on disk | import back |")
    print("| --- | --- | --- | --- | --- | --- |")
    for fmt, seconds, size_mb, exported, import_s, imported in rows:
        print(
            f"| {fmt} | {seconds:.1f} s | {1000 * seconds / exported:.0f} ms | {seconds / baseline:.1f}x "
            f"| {size_mb:.0f} MiB | {import_s:.1f} s ({imported} masks) |"
        )


if __name__ == "__main__":
    main()
