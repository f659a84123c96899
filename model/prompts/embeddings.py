"""Image embeddings of a promptable model, kept so that going back to an image is instant: the
last few in memory, and on disk in the project's cache folder keyed by the pixels encoded and
the model, the oldest files dropped past a byte budget."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from model.storage.atomic import atomic_write

log = logging.getLogger(__name__)

MEMORY_ITEMS = 6
"""Embeddings kept in memory (EfficientSAM's are 4 MB, SAM 2.1's 12 MB)."""
DISK_BUDGET = 1 << 30
"""Bytes of embeddings kept on disk per project (250 EfficientSAM images)."""
SUFFIX = ".npz"


def embedding_key(model: str, pixels: np.ndarray) -> str:
    """The name of the embedding of ``pixels`` (H x W x 3 uint8) by ``model``."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{model}|{pixels.shape}|".encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.hexdigest()


def embedding_bytes(embedding) -> int:
    """Memory one osam ``ImageEmbedding`` takes."""
    return int(embedding.embedding.nbytes + sum(f.nbytes for f in embedding.extra_features))


class EmbeddingCache:
    """Embeddings by key (``embedding_key``), in memory and, with a ``folder``, on disk; safe to
    use from several threads."""

    def __init__(self, folder: Path | None = None, disk_budget: int = DISK_BUDGET) -> None:
        self.folder = folder
        self.disk_budget = disk_budget
        self._memory: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str):
        """The embedding stored under ``key``, or None."""
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                return found
        found = self._read(key)
        if found is not None:
            self._remember(key, found)
        return found

    def put(self, key: str, embedding) -> None:
        self._remember(key, embedding)
        self._write(key, embedding)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            if key in self._memory:
                return True
        return self.folder is not None and (self.folder / f"{key}{SUFFIX}").exists()

    def memory_bytes(self) -> int:
        with self._lock:
            return sum(embedding_bytes(e) for e in self._memory.values())

    def _remember(self, key: str, embedding) -> None:
        with self._lock:
            self._memory[key] = embedding
            self._memory.move_to_end(key)
            while len(self._memory) > MEMORY_ITEMS:
                self._memory.popitem(last=False)

    def _read(self, key: str):
        if self.folder is None:
            return None
        path = self.folder / f"{key}{SUFFIX}"
        try:
            with np.load(path) as stored:
                from osam import types

                extra = [stored[f"extra{i}"] for i in range(int(stored["extras"]))]
                height, width = (int(v) for v in stored["size"])
                embedding = types.ImageEmbedding(
                    original_height=height,
                    original_width=width,
                    embedding=stored["embedding"],
                    extra_features=extra,
                )
            os.utime(path)  # recently used: dropped last
            return embedding
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:  # a damaged file is computed again
            log.warning("%s: cannot read this cached embedding (%s); it is computed again", path, exc)
            path.unlink(missing_ok=True)
            return None

    def _write(self, key: str, embedding) -> None:
        if self.folder is None:
            return
        buffer = io.BytesIO()
        arrays = {f"extra{i}": f for i, f in enumerate(embedding.extra_features)}
        np.savez(
            buffer,
            embedding=embedding.embedding,
            size=np.array([embedding.original_height, embedding.original_width]),
            extras=np.array(len(arrays)),
            **arrays,
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / f"{key}{SUFFIX}", lambda handle: handle.write(buffer.getvalue()))
            self._trim()
        except OSError as exc:  # the cache is a convenience: prompts work without it
            log.warning("%s: cannot keep the embedding on disk (%s)", self.folder, exc)

    def _trim(self) -> None:
        """Drop the least recently used files past the disk budget."""
        assert self.folder is not None
        files = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.disk_budget:
                break
            path.unlink(missing_ok=True)
            total -= size
