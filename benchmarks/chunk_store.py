"""The chunked mask's own chunk files against zarr-python's, on the same work: writing and
reading back N chunks of 512 x 512 labels as a painting session does (one chunk at a time,
synchronously), in zarr's version 2 layout both ways. The decision it informs: whether
``model.storage.chunked_mask`` should keep its journal, stamps and budget on top of
zarr-python's storage (docs/benchmarks.md, "Chunk storage").

    python benchmarks/chunk_store.py [--chunks 400]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from limit_share import cpu_name

from model.classes import IGNORE_INDEX
from model.storage.chunked_mask import CHUNK, ChunkedMask


def labels(rng: np.random.Generator) -> np.ndarray:
    """A chunk as painting leaves it: a few strokes of two classes over not labelled."""
    chunk = np.full((CHUNK, CHUNK), IGNORE_INDEX, np.uint8)
    for value in (1, 2):
        y, x = rng.integers(0, CHUNK - 64, 2)
        chunk[y : y + 64, x : x + 200] = value
    return chunk


def ours(folder: Path, chunks: list[np.ndarray], side: int) -> tuple[float, float]:
    mask = ChunkedMask.create(folder, (side * CHUNK, side * CHUNK))
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        top, left = (index // side) * CHUNK, (index % side) * CHUNK
        mask.write(top, left, chunk)
        mask.save()  # each edit saved, as autosave does chunk by chunk
    written = time.perf_counter() - start
    again = ChunkedMask.open(folder)
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        top, left = (index // side) * CHUNK, (index % side) * CHUNK
        assert np.array_equal(again.read(top, left, CHUNK, CHUNK), chunk)
    return written, time.perf_counter() - start


def zarr_python(folder: Path, chunks: list[np.ndarray], side: int) -> tuple[float, float]:
    import zarr
    from numcodecs import Zlib

    array = zarr.create_array(
        str(folder), shape=(side * CHUNK, side * CHUNK), chunks=(CHUNK, CHUNK), dtype="u1",
        fill_value=IGNORE_INDEX, zarr_format=2, compressors=Zlib(level=1),
    )  # fmt: skip
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        top, left = (index // side) * CHUNK, (index % side) * CHUNK
        array[top : top + CHUNK, left : left + CHUNK] = chunk
    written = time.perf_counter() - start
    again = zarr.open_array(str(folder), mode="r")
    start = time.perf_counter()
    for index, chunk in enumerate(chunks):
        top, left = (index // side) * CHUNK, (index % side) * CHUNK
        assert np.array_equal(again[top : top + CHUNK, left : left + CHUNK], chunk)
    return written, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    chunks = [labels(rng) for _ in range(args.chunks)]
    side = int(np.ceil(np.sqrt(args.chunks)))
    work = Path(tempfile.mkdtemp(prefix="chunk-store-"))
    try:
        base = ours(work / "ours.zarr", chunks, side)
        other = zarr_python(work / "zarr.zarr", chunks, side)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{cpu_name()}; {args.chunks} chunks of {CHUNK} x {CHUNK}, one at a time\n")
    print("| store | write ms / chunk | read ms / chunk | write ratio | read ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, (write, read) in (("chunked_mask (ours)", base), ("zarr-python", other)):
        print(
            f"| {name} | {1000 * write / args.chunks:.2f} | {1000 * read / args.chunks:.2f} "
            f"| {write / base[0]:.2f} | {read / base[1]:.2f} |"
        )


if __name__ == "__main__":
    main()
