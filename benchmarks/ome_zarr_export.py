"""Exporting a whole slide's mask as OME-Zarr: time and peak memory, against the tiled index
TIFF export of the same mask (the baseline, in the same run), and the OME-Zarr read back equal.

A synthetic pyramid slide of SIZE x SIZE (JPEG tiles, ``benchmarks/slide.py``) gets strokes
painted into its chunked mask; each export runs in its own process, so each peak memory is its
own (``ru_maxrss``). The OME-Zarr holds the slide's image pyramid too.

    python benchmarks/ome_zarr_export.py [--size 50000] [--work /tmp/ozx]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from limit_share import cpu_name  # noqa: E402
from slide import paint_strokes, write_slide  # noqa: E402

from model.classes import default_classes  # noqa: E402
from model.storage.chunked_mask import ChunkedMask  # noqa: E402


def measure(kind: str, slide: Path, masks: Path, out: Path) -> None:
    """One export in this process: prints its seconds and peak memory as JSON."""
    from model.labels.export_labels import ExportOptions, export_labels

    classes = default_classes(3)
    fmt = "ome-zarr" if kind == "ome-zarr" else "index"
    start = time.perf_counter()
    report = export_labels([slide], masks, classes, out, ExportOptions(format=fmt))
    seconds = time.perf_counter() - start
    if report.skipped or report.exported != [slide]:
        raise SystemExit(f"not exported: {report.skipped}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kind": kind, "seconds": seconds, "peak_mb": peak}))


def compare(masks: Path, out: Path) -> int:
    """Every chunk of the OME-Zarr's label level 0 against the chunked mask; returns the pixels
    that differ."""
    import zarr

    name = next(out.glob("*.ome.zarr"))
    labels = zarr.open_array(str(name / "labels" / "segmentation" / "s0"), mode="r")
    mask = ChunkedMask.open(next(masks.glob("*.zarr")))
    height, width = mask.shape
    differ = 0
    for top in range(0, height, 4096):
        for left in range(0, width, 4096):
            h, w = min(4096, height - top), min(4096, width - left)
            differ += int(
                np.count_nonzero(labels[top : top + h, left : left + w] != mask.read(top, left, h, w))
            )
    return differ


def run(kind: str, slide: Path, masks: Path, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(slide), str(masks), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ome-zarr-export-bench"))
    parser.add_argument(
        "--measure", nargs=4, metavar=("KIND", "SLIDE", "MASKS", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.measure:
        kind, slide, masks, out = args.measure
        measure(kind, Path(slide), Path(masks), Path(out))
        return
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "slides" / "masks").mkdir(parents=True)
    slide = work / "slides" / "slide.tif"
    start = time.perf_counter()
    write_slide(slide, args.size)
    mask = ChunkedMask.create(work / "slides" / "masks" / "slide.zarr", (args.size, args.size))
    rng = np.random.default_rng(0)
    areas = [
        (int(rng.integers(2000, args.size - 2000)), int(rng.integers(2000, args.size - 2000)))
        for _ in range(6)
    ]
    paint_strokes(mask, rng, 120, areas)
    mask.save()
    print(
        f"slide of {args.size:,} x {args.size:,} written and painted in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    tiff = run("tiled TIFF", slide, work / "slides" / "masks", work / "tiff")
    ome = run("ome-zarr", slide, work / "slides" / "masks", work / "ome")
    differ = compare(work / "slides" / "masks", work / "ome")
    print(f"\n{cpu_name()}, {os.cpu_count()} cores; a {args.size:,} x {args.size:,} slide, 120 strokes\n")
    print("| export | seconds | peak memory | written | ratio of seconds |")
    print("| --- | --- | --- | --- | --- |")
    for result, folder in ((tiff, work / "tiff"), (ome, work / "ome")):
        print(
            f"| {result['kind']} | {result['seconds']:.1f} | {result['peak_mb']:.0f} MB "
            f"| {folder_mb(folder):,.0f} MB "
            f"| {result['seconds'] / tiff['seconds']:.2f} |"
        )
    print(f"\nread back: {differ} pixels of the label image differ from the chunked mask")


if __name__ == "__main__":
    main()
