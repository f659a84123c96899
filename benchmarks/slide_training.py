"""Training from a whole slide against the same regions in memory, alternated several times.

    python benchmarks/slide_training.py [--size 100000] [--repeats 4] [--train-steps 80]

``benchmarks/slide.py`` trains twice from each; one run of it at 100,000² fell short of its
target (0.72x) on a host whose speed drifted. This writes the same synthetic slide and paints
the same 100 strokes, makes the labelled regions training images (``slide_regions``, read on
demand through the tile cache) and the same regions held in memory, then trains from each in
turn, REPEATS times, so that a drift of the host falls on both alike. Each run's crops/s and
the tiles the cache holds are printed; the first run from the slide (cold tiles) is given
apart; the table gives the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from slide import crops_per_s, paint_strokes, write_slide  # noqa: E402

from model.prediction.predict_slide import slide_intensity  # noqa: E402
from model.storage.chunked_mask import ChunkedMask  # noqa: E402
from model.storage.slide import SlideReader, TileCache  # noqa: E402
from model.training.data import LabelledImage  # noqa: E402
from model.training.slide_regions import slide_regions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--train-steps", type=int, default=80)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "slide.tif"
        start = time.perf_counter()
        write_slide(path, args.size)
        print(f"wrote the slide in {time.perf_counter() - start:.0f} s", flush=True)
        cache = TileCache()
        reader = SlideReader(path, cache)
        mask = ChunkedMask.create(Path(tmp) / "mask.zarr", reader.shape)
        areas = [
            (reader.shape[0] // 4, reader.shape[1] // 4),
            (3 * reader.shape[0] // 4, reader.shape[1] // 2),
        ]
        paint_strokes(mask, np.random.default_rng(0), 100, areas)
        mask.save()
        regions = slide_regions(reader, mask, 3, slide_intensity(reader), region=2048)
        cold = crops_per_s(regions, args.train_steps)  # the tiles decoded as crops reach them
        held = f"{len(cache.held())} tiles, {cache.nbytes / 1e6:.0f} MB"
        print(f"{len(regions)} regions; first run from the slide (cold tiles): {cold:.1f} crops/s; "
              f"cache then: {held}", flush=True)  # fmt: skip
        in_memory = []
        for item in regions:
            planes, labels = item.planes()
            in_memory.append(LabelledImage(None, planes, labels))

        slide_rates, memory_rates = [], []
        for repeat in range(args.repeats):
            slide_rates.append(crops_per_s(regions, args.train_steps))
            memory_rates.append(crops_per_s(in_memory, args.train_steps))
            print(f"run {repeat + 1}: slide {slide_rates[-1]:.1f} crops/s, in memory {memory_rates[-1]:.1f} "
                  f"crops/s (cache: {len(cache.held())} tiles)", flush=True)  # fmt: skip
        reader.close()

    slide_rate, memory_rate = statistics.median(slide_rates), statistics.median(memory_rates)
    print(f"\n| {args.size:,}² slide, {len(regions)} regions, {args.repeats} alternated runs of "
          f"{args.train_steps} steps ({torch.get_num_threads()} threads) | crops/s |")  # fmt: skip
    print("| --- | --- |")
    print(f"| from the slide, first run (tiles decoded as crops reach them) | {cold:.1f} |")
    print(f"| from the slide, each run | {', '.join(f'{r:.1f}' for r in slide_rates)} |")
    print(f"| in memory, each run | {', '.join(f'{r:.1f}' for r in memory_rates)} |")
    ratio = slide_rate / memory_rate
    print(f"| medians: slide / in memory | {slide_rate:.1f} / {memory_rate:.1f} ({ratio:.2f}x) |")


if __name__ == "__main__":
    main()
