"""Large projects: peak memory and training speed, streamed from disk against all in memory.

    python benchmarks/scale.py --sizes 200 1000 3000

Makes ``--sizes`` labelled synthetic 1024 x 1024 colour images (JPEG images, dense four-class
PNG masks; kept in ``--data`` for the next run), then for each size and loader trains the
``fast`` preset for ``--steps`` steps in a fresh process through ``model.training.train.fit`` as the app
does, and reports: time to get the images ready, crops/s after the first ``--warmup`` steps,
and the process's peak resident memory. ``in-memory`` decodes every image before the first
step (``model.training.data.load_labelled``); ``streamed`` indexes the masks and reads images as
needed through a cache bounded by the default budget (``load_training_set``). A size
whose in-memory run would need more than 60 % of this machine's memory (extrapolated from the
smaller sizes) is skipped for that loader. Run it alone: another busy process skews crops/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = 1024
CLASSES = 4
LOADERS = ("in-memory", "streamed")


def make_image(index: int, folder: Path) -> None:
    """One smooth colour image with noise and a dense mask of four blob classes."""
    image_path = folder / f"img{index:05d}.jpg"
    mask_path = folder / "masks" / f"img{index:05d}.png"
    if image_path.exists() and mask_path.exists():
        return
    rng = np.random.default_rng(index)
    small = rng.random((16, 16, 3)).astype(np.float32)
    field = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((SIZE, SIZE), Image.BICUBIC))
    noise = rng.integers(0, 24, (SIZE, SIZE, 3), dtype=np.uint8)
    image = np.clip(field.astype(np.int16) + noise - 12, 0, 255).astype(np.uint8)
    levels = np.asarray(Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).resize((SIZE, SIZE)))
    mask = np.minimum(levels // (256 // CLASSES), CLASSES - 1).astype(np.uint8)
    Image.fromarray(image).save(image_path, quality=90)
    Image.fromarray(mask).save(mask_path, compress_level=1)


def make_dataset(folder: Path, count: int) -> None:
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda i: make_image(i, folder), range(count)))


def subset(folder: Path, count: int) -> Path:
    """A folder of links to the first ``count`` images and masks."""
    out = folder.parent / f"{folder.name}-{count}"
    if not (out / "masks" / f"img{count - 1:05d}.png").exists():
        (out / "masks").mkdir(parents=True, exist_ok=True)
        for i in range(count):
            for name in (f"img{i:05d}.jpg", f"masks/img{i:05d}.png"):
                link = out / name
                if not link.exists():
                    link.symlink_to(folder / name)
    return out


def child(loader: str, folder: Path, steps: int, warmup: int) -> dict[str, float]:
    """Load and train in this process; peak memory is this process's own."""
    from model.classes import default_classes
    from model.training.data import find_samples, load_labelled
    from model.training.settings import TrainSettings
    from model.training.train import StepEnded, fit

    classes = default_classes(CLASSES)
    samples = find_samples(folder, folder / "masks")
    start = time.perf_counter()
    if loader == "in-memory":
        images, problems = load_labelled(samples, 3, CLASSES)
        cache_mb = 0.0
    else:
        from model.storage.image_cache import DecodedCache, default_cache_bytes
        from model.training.training_images import load_training_set

        cache = DecodedCache(default_cache_bytes())
        images, problems = load_training_set(samples, 3, CLASSES, cache=cache)
        cache_mb = cache.budget / 2**20
    ready_s = time.perf_counter() - start
    assert not problems, problems
    times: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepEnded):
            times.append(time.perf_counter())

    settings = TrainSettings(preset="fast", max_steps=steps + 1, ema_decay=0.0, seed=0)
    fit(
        settings,
        images,
        images[:2],
        classes,
        on_event=on_event,
        should_stop=lambda: len(times) >= steps,
    )
    rate = (len(times) - 1 - warmup) * settings.batch_size / (times[-1] - times[warmup])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"ready_s": ready_s, "crops_per_s": rate, "peak_mb": peak_mb, "cache_mb": cache_mb}


def total_memory_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 3000])
    parser.add_argument("--loaders", nargs="+", choices=LOADERS, default=list(LOADERS))
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path("/tmp/seggui-scale/images"))
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.steps, args.warmup)))
        return

    start = time.perf_counter()
    make_dataset(args.data, max(args.sizes))
    print(f"{max(args.sizes)} synthetic images ready in {args.data} ({time.perf_counter() - start:.0f} s)")
    import torch

    memory = total_memory_mb() / 1024
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {memory:.1f} GiB memory")
    rows = []
    per_image: dict[str, float] = {}
    for size in sorted(args.sizes):
        folder = subset(args.data, size)
        for loader in args.loaders:
            projected = per_image.get(loader, 0.0) * size
            if projected > 0.6 * total_memory_mb():
                rows.append((size, loader, None, f"skipped: would need about {projected / 1024:.0f} GiB"))
                continue
            command = [sys.executable, __file__, "--child", loader, str(folder)]
            command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                rows.append((size, loader, None, f"failed (exit {done.returncode}): {done.stderr[-300:]}"))
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if loader == "in-memory":
                per_image[loader] = result["peak_mb"] / size
            rows.append((size, loader, result, ""))
            print(size, loader, result, flush=True)
    baseline = {size: r["crops_per_s"] for size, loader, r, _ in rows if r and loader == "in-memory"}
    print()
    header = [
        "images",
        "loader",
        "ready (s)",
        "crops/s",
        "ratio to in-memory",
        "peak memory (MB)",
        "cache (MB)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for size, loader, r, note in rows:
        if r is None:
            print(f"| {size} | {loader} | {note} | | | | |")
            continue
        measured = [b for b in baseline if b <= size]
        ratio = "-"
        if measured:
            near = max(measured)
            ratio = f"{r['crops_per_s'] / baseline[near]:.2f}" + ("" if near == size else f" (to {near})")
        cache = f"{r['cache_mb']:.0f}" if r["cache_mb"] else "-"
        print(
            f"| {size} | {loader} | {r['ready_s']:.1f} | {r['crops_per_s']:.1f} | {ratio} | "
            f"{r['peak_mb']:.0f} | {cache} |"
        )


if __name__ == "__main__":
    main()
