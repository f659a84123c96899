"""A whole slide's labels out and back in, streamed: every slide format against the tiled TIFF.

    python benchmarks/slide_labels.py [--size 50000] [--cells 3000]

Writes a SIZE x SIZE tiled TIFF (one level of constant 512-pixel tiles: only its size matters
here) and a chunked mask of CELLS labelled cells (class 1, radius 40 to 160 pixels, each with
a nucleus of class 2 at half its radius, and every fifth cell as class 3 instead) scattered
over it, then exports the mask as a tiled index TIFF (the baseline: streamed tile by tile),
labelme polygons, COCO polygons and COCO run-length encoding, and imports each back into a new
chunked mask (the label TIFF import is the baseline), checking that the lossless ones (the TIFF
and RLE) come back pixel for pixel and counting the pixels the polygon formats cannot hold.
Each row gives seconds, bytes, the ratio to its baseline, and the process's peak resident
memory so far.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.classes import IGNORE_INDEX, default_classes  # noqa: E402
from model.labels.export_labels import ExportOptions, export_labels  # noqa: E402
from model.labels.import_labels import import_labels  # noqa: E402
from model.storage import tiff_files  # noqa: E402
from model.storage.chunked_mask import ChunkedMask  # noqa: E402

TILE = 512
CLASSES = default_classes(4)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_blank_slide(path: Path, size: int) -> None:
    tile = np.full((TILE, TILE, 3), 230, np.uint8)
    across = -(-size // TILE)
    count = across * across
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write((tile for _ in range(count)), shape=(size, size, 3), dtype=np.uint8, tile=(TILE, TILE),
                  compression="zlib", photometric="rgb", metadata=None)  # fmt: skip


def paint_cells(mask: ChunkedMask, cells: int, rng: np.random.Generator) -> int:
    """``cells`` cells with nuclei, saved; the labelled pixels."""
    height, width = mask.shape
    for index in range(cells):
        radius = int(rng.integers(40, 161))
        y, x = int(rng.integers(radius, height - radius)), int(rng.integers(radius, width - radius))
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        distance = yy**2 + xx**2
        value = 3 if index % 5 == 4 else 1
        mask.write(
            y - radius, x - radius, np.full(distance.shape, value, np.uint8), where=distance <= radius**2
        )
        if value == 1:
            inner = np.full(distance.shape, 2, np.uint8)
            mask.write(y - radius, x - radius, inner, where=distance <= (radius // 2) ** 2)
        if index % 200 == 199:
            mask.save()
    mask.save()
    return sum(int(np.count_nonzero(block_of(mask, key) != IGNORE_INDEX)) for key in mask.stored_chunks())


def block_of(mask: ChunkedMask, key: tuple[int, int]) -> np.ndarray:
    size = mask.chunk
    return mask.read(key[0] * size, key[1] * size, size, size)


def differing(a: ChunkedMask, b: ChunkedMask) -> int:
    """The pixels two chunked masks label differently, compared chunk by chunk."""
    keys = set(a.stored_chunks()) | set(b.stored_chunks())
    return sum(int(np.count_nonzero(block_of(a, key) != block_of(b, key))) for key in keys)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--cells", type=int, default=3000)
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    # a smaller --size is still taken for a slide (a trial run)
    tiff_files.MAX_PIXELS = min(tiff_files.MAX_PIXELS, args.size * args.size - 1)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        (project / "masks").mkdir(parents=True)
        slide = project / "slide.tif"
        start = time.perf_counter()
        write_blank_slide(slide, args.size)
        mask = ChunkedMask.create(project / "masks" / "slide.zarr", (args.size, args.size))
        labelled = paint_cells(mask, args.cells, np.random.default_rng(0))
        chunks, taken = len(mask.stored_chunks()), time.perf_counter() - start
        print(f"{args.size:,}² slide and {args.cells} cells ({labelled / 1e6:.0f} Mpx labelled, "
              f"{chunks} chunks) in {taken:.0f} s", flush=True)  # fmt: skip

        exports = {
            "tiled index TIFF": ExportOptions(format="index"),
            "labelme polygons": ExportOptions(format="labelme"),
            "COCO polygons": ExportOptions(format="coco", coco_polygons=True),
            "COCO run-length encoding": ExportOptions(format="coco"),
        }
        seconds: dict[str, float] = {}
        for name, options in exports.items():
            out = Path(tmp) / name.replace(" ", "-")
            start = time.perf_counter()
            report = export_labels([slide], project / "masks", CLASSES, out, options)
            seconds[name] = time.perf_counter() - start
            assert report.exported == [slide], report.skipped
            ratio = seconds[name] / seconds["tiled index TIFF"]
            rows.append((f"export: {name}", f"{seconds[name]:.1f} s, {folder_bytes(out) / 1e6:.1f} MB",
                         f"{ratio:.2f}x", f"{peak_mb():,.0f} MB"))  # fmt: skip
            print(rows[-1], flush=True)

        imports = {
            "tiled index TIFF": ("masks", "tiled-index-TIFF", True),
            # polygons hold no holes: a one-pixel gap left unlabelled between overlapping cells
            # comes back as the cell's class; COCO's cells cover their nuclei (one per class)
            "labelme polygons": ("labelme", "labelme-polygons", False),
            "COCO polygons": ("coco", "COCO-polygons", False),
            "COCO run-length encoding": ("coco", "COCO-run-length-encoding", True),
        }
        for name, (kind, folder, lossless) in imports.items():
            target = Path(tmp) / f"back-{folder}"
            start = time.perf_counter()
            report = import_labels(Path(tmp) / folder, kind, [slide], target, CLASSES, outside="unlabelled")
            taken = time.perf_counter() - start
            assert report.slides == [slide], report.skipped
            back = ChunkedMask.open(target / "slide.zarr")
            wrong = differing(mask, back)
            assert wrong == 0 or not lossless, name
            exact = "pixel for pixel" if wrong == 0 else f"{wrong:,} pixels differ"
            seconds[f"in {name}"] = taken
            ratio = taken / seconds["in tiled index TIFF"]
            rows.append(
                (f"import: {name} ({exact})", f"{taken:.1f} s", f"{ratio:.2f}x", f"{peak_mb():,.0f} MB")
            )
            print(rows[-1], flush=True)

    print(f"\n| {args.size:,}², {args.cells} cells | time, bytes | vs tiled TIFF | peak memory so far |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
