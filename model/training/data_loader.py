"""How training crops reach the network: loader processes where they pay, pinned memory on CUDA."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import torch

from model.storage.image_cache import DecodedCache
from model.training.settings import AUTO_WORKERS
from model.training.training_images import StoredImage, TrainingImage

MAX_WORKERS = 8


def loader_workers(setting: int, device: torch.device, processes_per_machine: int = 1) -> int:
    """Loader processes for ``setting`` (``AUTO_WORKERS``: chosen here).

    On a CPU none: the network's own threads already use every core, and a loader process
    only takes one from them. On a GPU the CPU is otherwise idle while the GPU computes, so
    cutting and augmenting crops in ``cores - 1`` processes (at most 8, the cores shared among
    the training processes of this machine) keeps it fed.
    """
    if setting != AUTO_WORKERS:
        return max(0, setting)
    if device.type == "cpu":
        return 0
    cores = (os.cpu_count() or 1) // max(1, processes_per_machine)
    return max(0, min(MAX_WORKERS, cores - 1))


def share_caches(images: Sequence[TrainingImage], workers: int) -> None:
    """Split the decoded-image budget between this process and its ``workers`` (each process
    has its own cache), so that together they stay within it."""
    caches: dict[int, DecodedCache] = {}
    for image in images:
        if isinstance(image, StoredImage):
            caches[id(image.cache)] = image.cache
    for cache in caches.values():
        cache.share(workers + 1)


def make_loader(
    dataset: torch.utils.data.Dataset, batch_size: int, workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    """Batches of ``dataset`` in order (the dataset shuffles), ``workers`` processes cutting them
    ahead, page-locked on CUDA so that copies to the GPU overlap computing.

    A process running other threads (the app's window) starts its workers fresh ("spawn"):
    forking it would copy locks those threads hold."""
    context = "spawn" if workers > 0 and threading.active_count() > 1 else None
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        multiprocessing_context=context,
    )
