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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX
from model.storage.atomic import atomic_write, free_name
from model.storage.chunk_files import (
    ChunkedMaskError,
    ChunkStamp,
    aside_name,
    chunk_stamp,
    chunk_windows,
    decode_chunk,
    read_chunk_file,
    stored_keys,
)
from model.storage.json_files import read_json_object
from model.storage.stroke_journal import JOURNAL_FILE, TILE, JournalRecord, StrokeJournal, decode_records

CHUNK = 512
MAX_CHUNK = 4096
"""The largest chunk side a mask is opened with (a chunk is read whole: 16 MB at most)."""
MAX_SIDE = 1 << 24
"""The longest side of a mask opened (the largest slides are some 200,000 pixels a side)."""
SLIDE_MASK_SUFFIX = ".zarr"
"""A slide's mask in a project: its mask name with this suffix, a chunked mask folder."""
DEFAULT_CLEAN_BYTES = 64 * 1024 * 1024
"""Unchanged chunks kept in memory after reading them (128 of 512 x 512)."""
_META = ".zarray"


@dataclass(frozen=True)
class SaveReport:
    chunks_written: int
    chunks_removed: int
    bytes_written: int
    conflicts: int = 0
    """Chunks found changed on disk by another writer since this mask read them: left as they
    are, this mask's version of each saved in ``conflict_copy`` (from now on, its saves go there)."""
    conflict_copy: Path | None = None


class ChunkedMask:
    """An ``H x W`` uint8 mask in ``folder`` (see the module's docstring); thread-safe."""

    def __init__(
        self, folder: Path, shape: tuple[int, int], chunk: int, clean_bytes: int, listed: bool = True
    ) -> None:
        self.folder = folder
        self.shape = shape
        self.chunk = chunk
        self.clean_bytes = clean_bytes
        self._clean: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._dirty: dict[tuple[int, int], np.ndarray] = {}
        self._on_disk = stored_keys(folder) if listed else set()
        """The chunks with a file: what is not here, dirty or held holds no label."""
        self._stamps: dict[tuple[int, int], ChunkStamp] = {}
        """Each chunk file as this mask last read or wrote it (``save`` checks nobody else did)."""
        self._diverted: set[tuple[int, int]] = set()
        self.conflict_copy: ChunkedMask | None = None
        """Where the chunks another writer changed are saved from this mask (``SaveReport``)."""
        self.on_unreadable_chunk: Callable[[str], None] | None = None
        """Told (once per chunk) of a chunk file that cannot be read, which then reads as not
        labelled and is kept aside when first saved over; without it, reading it raises."""
        self.unreadable: dict[tuple[int, int], str] = {}
        self._lock = threading.RLock()
        self._journal = StrokeJournal(folder / JOURNAL_FILE)
        self._revision = 0
        self._unwritten = False  # ``planned``: the folder is written by the first edit kept
        self._replacing = False  # ``planned`` over an unusable folder, moved aside when written
        self.set_aside: Path | None = None
        """Where the unusable folder this mask replaced was moved (``planned(replacing=True)``)."""
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
        replacing: bool = False,
    ) -> ChunkedMask:
        """A new, empty mask whose folder is written by the first journalled edit or save, so
        that only looking at a slide leaves nothing on disk. ``replacing``: what is at ``folder``
        cannot be used; it is left as it is until then, and moved aside (``set_aside``) then."""
        path = Path(folder)
        if not replacing and (path / _META).exists():
            raise ChunkedMaskError(f"{path}: a mask is there already; open it instead of creating one")
        mask = cls(path, (int(shape[0]), int(shape[1])), chunk, clean_bytes, listed=not replacing)
        mask._unwritten, mask._replacing = True, replacing
        return mask

    def _materialise(self) -> None:
        """Write the folder and its ``.zarray`` description if they are not on disk yet."""
        if not self._unwritten:
            return
        if self._replacing and os.path.lexists(self.folder):
            aside = aside_name(self.folder)
            os.replace(self.folder, aside)  # OSError: the caller says the edit was not kept
            self.set_aside, self._replacing = aside, False
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
        description = read_chunk_file(path / _META, 64 * 1024, "the chunked mask's description")[0]
        if description is None:  # read only if a regular file, small: never a fifo
            raise ChunkedMaskError(f"{path}: not a readable chunked mask (it has no {_META})")
        meta = read_json_object(path / _META, "the chunked mask's description", ChunkedMaskError)
        try:
            shape = tuple(int(v) for v in meta["shape"])  # type: ignore[union-attr]
            chunks = tuple(int(v) for v in meta["chunks"])
            compressor = meta.get("compressor")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ChunkedMaskError(f"{path}: not a readable chunked mask ({exc})") from exc
        if (
            meta.get("zarr_format") != 2
            or meta.get("dtype") != "|u1"
            or len(shape) != 2
            or len(chunks) != 2
            or chunks[0] != chunks[1]
            or not 1 <= chunks[0] <= MAX_CHUNK
            or min(shape) < 1
            or max(shape) > MAX_SIDE
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
        data, _ = read_chunk_file(journal, 1 << 40, "the stroke journal")
        records, torn = decode_records(data or b"")
        fitting = [record for record in records if record.shape == self.shape]
        for record in fitting:
            for ty, tx, values in record.tiles:
                self.write(ty * TILE, tx * TILE, values)
            self._revision = max(self._revision, record.revision)
        self.save()
        journal.unlink(missing_ok=True)
        self.restored_edits = len(fitting)
        if torn:
            self.journal_problem = f"{journal}: the last journalled edit was cut short and is not restored"
        elif len(fitting) < len(records):
            self.journal_problem = (
                f"{journal}: {len(records) - len(fitting)} journalled edit(s) of another size than the "
                "mask's were not restored"
            )

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

    def check_fits(self, shape: tuple[int, int]) -> None:
        """Raise ``ChunkedMaskError`` naming both sizes unless this mask is ``shape`` (its slide's)."""
        if self.shape != tuple(shape):
            (height, width), (rows, columns) = self.shape, shape
            raise ChunkedMaskError(
                f"{self.folder}: a mask of {width:,} x {height:,} beside a slide of {columns:,} x {rows:,}"
            )

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
        """Write the changed chunks (each atomically); remove the files of chunks now empty. A
        chunk file another writer replaced since this mask read it (a second window on the slide)
        is left as it is: this mask's version goes to the conflict copy, as do its later saves."""
        written = removed = size = conflicts = 0
        with self._lock:  # copies: a write during the save stays changed, to be saved next time
            dirty = {key: block.copy() for key, block in self._dirty.items()}
            revision = self._revision
            if dirty:
                self._materialise()
        for key, block in dirty.items():
            path = self.folder / f"{key[0]}.{key[1]}"
            empty = not np.any(block != IGNORE_INDEX)
            data = b"" if empty else zlib.compress(np.ascontiguousarray(block).tobytes(), 1)
            with self._lock:  # checked just before writing: another writer's save is seen
                if key not in self._diverted and chunk_stamp(path) != self._stamps.get(key):
                    self._diverted.add(key)
                    conflicts += 1
                diverted = key in self._diverted
            if not diverted and key in self.unreadable and os.path.lexists(path):
                os.replace(path, aside_name(path.with_name(f".{path.name}")))  # kept, never written over
                self.unreadable.pop(key, None)
            if diverted:
                self._copy_of_conflict().write(key[0] * self.chunk, key[1] * self.chunk, block)
            elif empty:
                if path.exists():
                    path.unlink()
                    removed += 1
                with self._lock:
                    self._on_disk.discard(key)
                    self._stamps[key] = None
            else:
                atomic_write(path, lambda handle, data=data: handle.write(data))
                written += 1
                size += len(data)
                with self._lock:
                    self._on_disk.add(key)
                    self._stamps[key] = chunk_stamp(path)
            with self._lock:
                current = self._dirty.get(key)
                if current is not None and np.array_equal(current, block):
                    del self._dirty[key]
                    self._keep_clean(key, current)
        copy = self.conflict_copy
        if copy is not None and copy.unsaved_chunks:
            copy.save()
        with self._lock:
            self._journal.drop_saved(lambda record: record.revision <= revision)
        return SaveReport(written, removed, size, conflicts, copy.folder if conflicts and copy else None)

    def _copy_of_conflict(self) -> ChunkedMask:
        """The conflict copy beside this mask (``NAME.conflict.zarr``), made at the first conflict."""
        with self._lock:
            if self.conflict_copy is None:
                folder = free_name(self.folder, "conflict")
                self.conflict_copy = ChunkedMask.create(folder, self.shape, chunk=self.chunk, clean_bytes=0)
            return self.conflict_copy

    def _blocks(self, top: int, left: int, height: int, width: int, among: set | None = None):
        return chunk_windows(self.shape, self.chunk, (top, left, height, width), among)

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
        block = np.full((self.chunk, self.chunk), IGNORE_INDEX, dtype=np.uint8)
        try:  # not written yet: what is at the folder holds none of this mask's chunks
            data, stamp = (None, None) if self._unwritten else read_chunk_file(path, self.chunk**2)
            self._stamps[key] = stamp
            if data is not None:
                block = decode_chunk(path, data, self.chunk)
        except ChunkedMaskError as exc:
            if self.on_unreadable_chunk is None:
                raise
            self._stamps[key] = chunk_stamp(path)
            if key not in self.unreadable:
                self.on_unreadable_chunk(
                    f"{exc}. Its pixels show as not labelled; painting there keeps it as "
                    f".{path.name}.unusable"
                )
            self.unreadable[key] = str(exc)
        self._keep_clean(key, block)
        return block

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
    return bool(stored_keys(folder))
