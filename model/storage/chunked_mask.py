"""A label mask of any size kept on disk in square chunks, only changed chunks written.

The folder is a zarr array in zarr's version 2 layout (a ``.zarray`` description and one
zlib-compressed file per chunk, named ``row.column``), so zarr, dask and napari open it as it
is. A chunk that holds no label is not stored at all (zarr reads it as the fill value, "not
labelled"): an empty 100,000 x 100,000 mask is a few hundred bytes. Each chunk is written
atomically (``model.storage.atomic``), so a kill during ``save`` leaves every chunk either as
it was or as it is now. Chunks read are kept in memory within a budget; changed chunks stay
until saved.

Between saves, ``journal_edit`` puts each finished edit's 64-pixel tiles into the folder's
stroke journal (``model.storage.stroke_journal``'s records, flushed and ``fsync``-ed at once);
``save`` forgets the records it wrote, and ``open`` replays what a kill left, so a kill loses at
most the edit being journalled.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.errors import SegGUIError
from model.storage.atomic import atomic_write
from model.storage.stroke_journal import JOURNAL_FILE, TILE, JournalRecord, StrokeJournal, decode_records

CHUNK = 512
SLIDE_MASK_SUFFIX = ".zarr"
"""A slide's mask in a project: its mask name with this suffix, a chunked mask folder."""
DEFAULT_CLEAN_BYTES = 64 * 1024 * 1024
"""Unchanged chunks kept in memory after reading them (128 of 512 x 512)."""
_META = ".zarray"


class ChunkedMaskError(SegGUIError):
    """A chunked mask folder that cannot be used as one."""


@dataclass(frozen=True)
class SaveReport:
    chunks_written: int
    chunks_removed: int
    bytes_written: int


class ChunkedMask:
    """An ``H x W`` uint8 mask in ``folder`` (see the module's docstring); thread-safe."""

    def __init__(self, folder: Path, shape: tuple[int, int], chunk: int, clean_bytes: int) -> None:
        self.folder = folder
        self.shape = shape
        self.chunk = chunk
        self.clean_bytes = clean_bytes
        self._clean: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._dirty: dict[tuple[int, int], np.ndarray] = {}
        self._on_disk = _stored_keys(folder)
        """The chunks with a file: what is not here, dirty or held holds no label."""
        self._lock = threading.RLock()
        self._journal = StrokeJournal(folder / JOURNAL_FILE)
        self._revision = 0
        self._unwritten = False  # ``planned``: the folder is written by the first edit kept
        self.restored_edits = 0
        """Edits a kill had left in the journal, put back by ``open``."""
        self.journal_problem: str | None = None
        """Why an edit of the journal could not be put back (a record cut short by the kill)."""

    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str],
        shape: tuple[int, int],
        *,
        chunk: int = CHUNK,
        clean_bytes: int = DEFAULT_CLEAN_BYTES,
    ) -> ChunkedMask:
        """A new, empty mask (nothing labelled); ``folder`` must not hold one already."""
        mask = cls.planned(folder, shape, chunk=chunk, clean_bytes=clean_bytes)
        mask._materialise()
        return mask

    @classmethod
    def planned(
        cls,
        folder: str | os.PathLike[str],
        shape: tuple[int, int],
        *,
        chunk: int = CHUNK,
        clean_bytes: int = DEFAULT_CLEAN_BYTES,
    ) -> ChunkedMask:
        """A new, empty mask whose folder is written by the first journalled edit or save, so
        that only looking at a slide leaves nothing on disk."""
        path = Path(folder)
        if (path / _META).exists():
            raise ChunkedMaskError(f"{path}: a mask is there already; open it instead of creating one")
        mask = cls(path, (int(shape[0]), int(shape[1])), chunk, clean_bytes)
        mask._unwritten = True
        return mask

    def _materialise(self) -> None:
        """Write the folder and its ``.zarray`` description if they are not on disk yet."""
        if not self._unwritten:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "zarr_format": 2,
            "shape": [self.shape[0], self.shape[1]],
            "chunks": [self.chunk, self.chunk],
            "dtype": "|u1",
            "compressor": {"id": "zlib", "level": 1},
            "fill_value": IGNORE_INDEX,
            "order": "C",
            "filters": None,
            "dimension_separator": ".",
        }
        atomic_write(self.folder / _META, lambda handle: handle.write(json.dumps(meta, indent=1).encode()))
        self._unwritten = False

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, clean_bytes: int = DEFAULT_CLEAN_BYTES) -> ChunkedMask:
        path = Path(folder)
        try:
            meta = json.loads((path / _META).read_text())
            shape = tuple(int(v) for v in meta["shape"])
            chunks = tuple(int(v) for v in meta["chunks"])
            compressor = meta.get("compressor")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ChunkedMaskError(f"{path}: not a readable chunked mask ({exc})") from exc
        if (
            meta.get("zarr_format") != 2
            or meta.get("dtype") != "|u1"
            or len(shape) != 2
            or chunks[0] != chunks[1]
            or not isinstance(compressor, dict)
            or compressor.get("id") != "zlib"
        ):
            raise ChunkedMaskError(
                f"{path}: a zarr array SegGUI does not read as a mask (it reads 2-D uint8 arrays "
                "of square, zlib-compressed chunks, as SegGUI writes them)"
            )
        mask = cls(path, (shape[0], shape[1]), chunks[0], clean_bytes)
        mask._replay()
        return mask

    def _replay(self) -> None:
        journal = self.folder / JOURNAL_FILE
        if not journal.exists():
            return
        try:
            records, torn = decode_records(journal.read_bytes())
        except OSError as exc:
            raise ChunkedMaskError(f"{journal}: the stroke journal cannot be read ({exc})") from exc
        for record in records:
            if record.shape != self.shape:
                continue  # not an edit of this mask's size: its tiles do not fit
            for ty, tx, values in record.tiles:
                self.write(ty * TILE, tx * TILE, values)
            self._revision = max(self._revision, record.revision)
        self.save()
        journal.unlink(missing_ok=True)
        self.restored_edits = len(records)
        if torn:
            self.journal_problem = f"{journal}: the last journalled edit was cut short and is not restored"

    def journal_tiles(self, tiles: tuple[tuple[int, int, np.ndarray], ...]) -> None:
        """Journal an edit given as its 64-pixel tiles' new values (row, column, values), on
        disk before this returns. Raises ``OSError`` if the disk refuses."""
        with self._lock:
            self._materialise()
            self._revision += 1
            self._journal.append(JournalRecord(self.folder.name, self.shape, self._revision, tiles))

    def journal_edit(self, top: int, left: int, height: int, width: int) -> None:
        """Journal the window's values as they are now (the window an edit changed), on disk
        before this returns. Raises ``OSError`` if the disk refuses."""
        tiles = []
        y1, x1 = min(top + height, self.shape[0]), min(left + width, self.shape[1])
        for ty in range(max(top, 0) // TILE, (y1 - 1) // TILE + 1):
            for tx in range(max(left, 0) // TILE, (x1 - 1) // TILE + 1):
                y, x = ty * TILE, tx * TILE
                values = self.read(y, x, min(TILE, self.shape[0] - y), min(TILE, self.shape[1] - x))
                tiles.append((ty, tx, values))
        self.journal_tiles(tuple(tiles))

    @property
    def journalled_edits(self) -> int:
        """Edits in the journal that no save has written yet."""
        return len(self._journal)

    def __getstate__(self) -> dict:
        """For a loader process: the folder and the unsaved chunks (read only there; the journal
        stays with the process that edits)."""
        with self._lock:
            dirty = {key: block.copy() for key, block in self._dirty.items()}
        return {"folder": self.folder, "shape": self.shape, "chunk": self.chunk,
                "clean_bytes": self.clean_bytes, "dirty": dirty}  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["folder"], state["shape"], state["chunk"], state["clean_bytes"])
        self._dirty = state["dirty"]

    @property
    def grid(self) -> tuple[int, int]:
        """Chunks down and across."""
        return -(-self.shape[0] // self.chunk), -(-self.shape[1] // self.chunk)

    def set_clean_bytes(self, clean_bytes: int) -> None:
        """Keep at most ``clean_bytes`` of chunks read (not changed) from now on."""
        with self._lock:
            self.clean_bytes = clean_bytes
            while len(self._clean) * self.chunk * self.chunk > self.clean_bytes and self._clean:
                self._clean.popitem(last=False)

    def forget_clean(self) -> None:
        """Drop the unchanged chunks held in memory (the mask is no longer on screen)."""
        with self._lock:
            self._clean.clear()

    @property
    def unsaved_chunks(self) -> int:
        return len(self._dirty)

    def stored_chunks(self) -> list[tuple[int, int]]:
        """The chunks with labels, saved or not."""
        with self._lock:
            return sorted(key for key in set(self._dirty) | self._on_disk if not self._empty(key))

    def _empty(self, key: tuple[int, int]) -> bool:
        block = self._dirty.get(key)
        return block is not None and not np.any(block != IGNORE_INDEX)

    def read(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        """A window of the mask; outside it, ``IGNORE_INDEX``."""
        out = np.full((height, width), IGNORE_INDEX, dtype=np.uint8)
        for key, (src, dst) in self._blocks(top, left, height, width):
            with self._lock:
                out[dst] = self._chunk(key)[src]
        return out

    def read_strided(self, top: int, left: int, height: int, width: int, step: int) -> np.ndarray:
        """Every ``step``-th pixel of a window, down and across (nearest-neighbour reduction for
        display): ``ceil(height / step) x ceil(width / step)``. Only chunks that hold labels are
        read, so a reduced view of a whole slide's mask costs what is labelled."""
        out = np.full((-(-height // step), -(-width // step)), IGNORE_INDEX, dtype=np.uint8)
        with self._lock:
            labelled = set(self._dirty) | self._on_disk
        for (cy, cx), (src, dst) in self._blocks(top, left, height, width, labelled):
            # the first window row and column on the step grid within this chunk
            ry = dst[0].start + (-dst[0].start) % step
            rx = dst[1].start + (-dst[1].start) % step
            if ry >= dst[0].stop or rx >= dst[1].stop:
                continue
            with self._lock:
                block = self._chunk((cy, cx))
                part = block[
                    src[0].start + ry - dst[0].start : src[0].stop : step,
                    src[1].start + rx - dst[1].start : src[1].stop : step,
                ]
                out[ry // step : ry // step + part.shape[0], rx // step : rx // step + part.shape[1]] = part
        return out

    def write(self, top: int, left: int, values: np.ndarray, where: np.ndarray | None = None) -> None:
        """Set the window at (top, left) to ``values`` (where ``where`` is True, if given)."""
        height, width = values.shape
        for key, (src, dst) in self._blocks(top, left, height, width):
            with self._lock:
                block = self._dirty.get(key)
                if block is None:
                    block = self._chunk(key).copy()
                    self._dirty[key] = block
                    self._clean.pop(key, None)
                if where is None:
                    block[src] = values[dst]
                else:
                    block[src] = np.where(where[dst], values[dst], block[src])

    def save(self) -> SaveReport:
        """Write the changed chunks (each atomically); remove the files of chunks now empty."""
        written = removed = size = 0
        with self._lock:  # copies: a write during the save stays changed, to be saved next time
            dirty = {key: block.copy() for key, block in self._dirty.items()}
            revision = self._revision
            if dirty:
                self._materialise()
        for key, block in dirty.items():
            path = self.folder / f"{key[0]}.{key[1]}"
            if not np.any(block != IGNORE_INDEX):
                if path.exists():
                    path.unlink()
                    removed += 1
                with self._lock:
                    self._on_disk.discard(key)
            else:
                data = zlib.compress(np.ascontiguousarray(block).tobytes(), 1)
                atomic_write(path, lambda handle, data=data: handle.write(data))
                written += 1
                size += len(data)
                with self._lock:
                    self._on_disk.add(key)
            with self._lock:
                current = self._dirty.get(key)
                if current is not None and np.array_equal(current, block):
                    del self._dirty[key]
                    self._keep_clean(key, current)
        with self._lock:
            self._journal.drop_saved(lambda record: record.revision <= revision)
        return SaveReport(written, removed, size)

    def _blocks(self, top: int, left: int, height: int, width: int, among: set | None = None):
        """(chunk key, (slice in the chunk, slice in the window)) for each chunk the window meets
        (of those in ``among``, if given)."""
        c = self.chunk
        y0, y1 = max(top, 0), min(top + height, self.shape[0])
        x0, x1 = max(left, 0), min(left + width, self.shape[1])
        if y1 <= y0 or x1 <= x0:
            return
        rows, columns = range(y0 // c, (y1 - 1) // c + 1), range(x0 // c, (x1 - 1) // c + 1)
        if among is not None and len(among) < len(rows) * len(columns):
            keys = sorted(key for key in among if key[0] in rows and key[1] in columns)
        else:
            keys = [(cy, cx) for cy in rows for cx in columns if among is None or (cy, cx) in among]
        for cy, cx in keys:
            ay0, ay1 = max(y0, cy * c), min(y1, (cy + 1) * c)
            ax0, ax1 = max(x0, cx * c), min(x1, (cx + 1) * c)
            src = (slice(ay0 - cy * c, ay1 - cy * c), slice(ax0 - cx * c, ax1 - cx * c))
            dst = (slice(ay0 - top, ay1 - top), slice(ax0 - left, ax1 - left))
            yield (cy, cx), (src, dst)

    def _chunk(self, key: tuple[int, int]) -> np.ndarray:
        """The whole chunk (``chunk x chunk``, edge chunks padded as zarr stores them)."""
        block = self._dirty.get(key)
        if block is not None:
            return block
        block = self._clean.get(key)
        if block is not None:
            self._clean.move_to_end(key)
            return block
        path = self.folder / f"{key[0]}.{key[1]}"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            block = np.full((self.chunk, self.chunk), IGNORE_INDEX, dtype=np.uint8)
        except OSError as exc:
            raise ChunkedMaskError(f"{path}: a chunk of the mask cannot be read ({exc})") from exc
        else:
            block = self._decoded(path, data)
        self._keep_clean(key, block)
        return block

    def _decoded(self, path: Path, data: bytes) -> np.ndarray:
        try:
            raw = zlib.decompress(data)
        except zlib.error as exc:
            raise ChunkedMaskError(
                f"{path}: a chunk of the mask is damaged ({exc}); move it away to read its "
                "pixels as not labelled"
            ) from exc
        if len(raw) != self.chunk * self.chunk:
            raise ChunkedMaskError(f"{path}: a chunk of the mask has {len(raw)} bytes, not {self.chunk**2}")
        return np.frombuffer(raw, dtype=np.uint8).reshape(self.chunk, self.chunk).copy()

    def _keep_clean(self, key: tuple[int, int], block: np.ndarray) -> None:
        self._clean[key] = block
        self._clean.move_to_end(key)
        while len(self._clean) * self.chunk * self.chunk > self.clean_bytes and len(self._clean) > 1:
            self._clean.popitem(last=False)


def slide_mask_folder(mask_path: Path) -> Path:
    """The chunked mask folder of the slide whose mask file would be ``mask_path``."""
    return mask_path.with_suffix(SLIDE_MASK_SUFFIX)


def holds_labels(folder: Path) -> bool:
    """Whether the chunked mask folder ``folder`` has a chunk with labels (a missing folder has none)."""
    return bool(_stored_keys(folder))


def _stored_keys(folder: Path) -> set[tuple[int, int]]:
    try:
        return {key for entry in os.scandir(folder) if (key := _key_of(entry.name)) is not None}
    except FileNotFoundError:
        return set()


def _key_of(name: str) -> tuple[int, int] | None:
    row, dot, column = name.partition(".")
    if dot and row.isdigit() and column.isdigit():
        return int(row), int(column)
    return None
