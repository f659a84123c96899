"""The stroke journal: every finished edit's changed tiles, on disk before the next stroke starts.

Mask files are written a second or so after painting pauses, so a crash or a kill between
strokes and that save would lose them. Each finished edit (a stroke, a fill, an undo) appends a
record to ``.seggui_journal`` in the project folder: the mask file's name, the mask's size, a
revision number and the new values of the 64 x 64 tiles it changed, followed by a CRC. The
record is flushed and ``fsync``-ed at once. Once the mask files hold every journalled revision
the journal is emptied. On the next open, ``replay_journal`` writes what the mask files miss:
the tiles' newest values over each mask file, in journal order, then removes the journal.

A record cut short by the kill itself (a torn tail) fails its CRC and is ignored, together
with anything after it: at most the edit being written is lost.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, ClassInfo
from model.errors import MaskError, SegGUIError
from model.storage.atomic import atomic_write
from model.storage.chunk_files import read_chunk_file
from model.storage.imageio import check_mask_values, read_mask, write_mask

JOURNAL_FILE = ".seggui_journal"
TILE = 64
_MAGIC = b"SGJ1"
_HEAD = struct.Struct("<4sIIIQI")  # magic, name length, height, width, revision, tile count
_TILE = struct.Struct("<IIHH")  # tile row, tile column, height, width
_CRC = struct.Struct("<I")

Tiles = Iterable[tuple[int, int, np.ndarray]]
"""(tile row, tile column, the tile's new uint8 values)."""


@dataclass(frozen=True)
class JournalRecord:
    """One edit: the new values of the tiles it changed in one mask."""

    mask_name: str
    shape: tuple[int, int]
    revision: int
    tiles: tuple[tuple[int, int, np.ndarray], ...]


def encode_record(record: JournalRecord) -> bytes:
    name = os.fsencode(record.mask_name)  # the file system's bytes: any name a folder can hold
    parts = [_HEAD.pack(_MAGIC, len(name), *record.shape, record.revision, len(record.tiles)), name]
    for ty, tx, values in record.tiles:
        parts += [_TILE.pack(ty, tx, *values.shape), np.ascontiguousarray(values, np.uint8).tobytes()]
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def decode_records(data: bytes) -> tuple[list[JournalRecord], bool]:
    """The whole records in ``data``, and whether a damaged or torn tail was dropped."""
    records: list[JournalRecord] = []
    offset = 0
    while offset < len(data):
        record, offset = _decode_one(data, offset)
        if record is None:
            return records, True
        records.append(record)
    return records, False


def _decode_one(data: bytes, start: int) -> tuple[JournalRecord | None, int]:
    try:
        magic, name_len, height, width, revision, count = _HEAD.unpack_from(data, start)
        if magic != _MAGIC:
            return None, start
        offset = start + _HEAD.size
        name = os.fsdecode(data[offset : offset + name_len])
        offset += name_len
        tiles = []
        for _ in range(count):
            ty, tx, th, tw = _TILE.unpack_from(data, offset)
            offset += _TILE.size
            if offset + th * tw > len(data):
                return None, start
            values = np.frombuffer(data, np.uint8, th * tw, offset).reshape(th, tw).copy()
            tiles.append((ty, tx, values))
            offset += th * tw
        (crc,) = _CRC.unpack_from(data, offset)
    except (struct.error, ValueError):
        return None, start
    if crc != zlib.crc32(data[start:offset]):
        return None, start
    return JournalRecord(name, (height, width), revision, tuple(tiles)), offset + _CRC.size


@dataclass
class StrokeJournal:
    """Appends edit records to one journal file, each flushed to disk before ``append`` returns.

    Not thread-safe: the app calls it from one thread (its journal writer).
    """

    path: Path
    _records: list[tuple[JournalRecord, bytes]] = field(default_factory=list)
    _fd: int | None = None

    def append(self, record: JournalRecord) -> None:
        """Write ``record`` and ``fsync`` it. Raises ``OSError`` if the disk refuses."""
        data = encode_record(record)
        if self._fd is None:
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o666
            )
        os.write(self._fd, data)
        os.fsync(self._fd)
        self._records.append((record, data))

    def drop_saved(self, is_saved: Callable[[JournalRecord], bool]) -> None:
        """Forget the records ``is_saved`` says the mask files already hold: the file is emptied
        when none is left, else rewritten (atomically) with the rest."""
        if not self._records:
            return
        keep = [(record, data) for record, data in self._records if not is_saved(record)]
        if len(keep) == len(self._records):
            return
        self.close()
        if keep:
            atomic_write(self.path, lambda fh: fh.write(b"".join(data for _, data in keep)))
        else:
            self.path.unlink(missing_ok=True)
        self._records = keep

    def __len__(self) -> int:
        return len(self._records)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class Replay:
    """What ``replay_journal`` did."""

    restored: list[Path] = field(default_factory=list)
    """Masks that got journalled strokes their files did not have."""
    problems: list[str] = field(default_factory=list)


def replay_journal(
    folder: Path,
    mask_dir: Path,
    classes: list[ClassInfo],
    keep_unusable: Callable[[Path], Path] | None = None,
    *,
    mask_names: Collection[str] | Mapping[str, Path] | None = None,
) -> Replay:
    """Put what a journal left by a crash holds into the mask files of ``mask_dir``, then remove
    the journal. A mask that cannot be read is moved aside by ``keep_unusable`` first (or left,
    and its strokes kept in the journal, if none is given).

    A journal may come with a folder from someone else: a record is refused (named in
    ``problems``, not applied) unless it names a mask file directly in ``mask_dir`` (no folder
    part, no way out by a link) that is one of ``mask_names`` (the masks of the project's
    images, ``<name>.png``) or a conflict copy of one (``<name>.conflict[-N].png``). Given as a
    mapping to each mask's image, a record must also be of its image's size; it is never over
    ``MAX_PIXELS``. A mask that can be read is never moved aside because of a journal."""
    path = folder / JOURNAL_FILE
    result = Replay()
    if not path.exists():
        return result
    try:  # a regular file only: a fifo or a link to /dev/zero in a folder from elsewhere never ends
        data, _ = read_chunk_file(path, 1 << 40, "the stroke journal")
    except SegGUIError as exc:
        result.problems.append(str(exc))
        return result
    records, torn = decode_records(data or b"")
    if torn:
        result.problems.append(f"{path}: the last journalled edit was cut short and is not restored")
    kept: list[JournalRecord] = []
    for name, group in _by_mask(records):
        refusal = _refusal(name, mask_dir, mask_names)
        if refusal is not None:
            result.problems.append(
                f"{path}: {len(group)} journalled edit(s) of {name!r} not restored: {refusal}"
            )
            continue
        fitting, refusal = _fitting(name, group, mask_names)
        if refusal is not None:
            dropped = len(group) - len(fitting)
            result.problems.append(f"{path}: {dropped} journalled edit(s) of {name!r} {refusal}")
        if not fitting:
            continue
        group = fitting
        target = mask_dir / name
        try:
            changed = _apply(target, group, len(classes), keep_unusable)
            if changed is not None:
                mask_dir.mkdir(parents=True, exist_ok=True)
                write_mask(target, changed, classes)
                result.restored.append(target)
        except (SegGUIError, OSError) as exc:
            result.problems.append(f"{target}: strokes from the journal not restored ({exc})")
            kept += group
    try:
        if kept:
            atomic_write(path, lambda fh: fh.write(b"".join(encode_record(r) for r in kept)))
        else:
            path.unlink()
    except OSError as exc:
        result.problems.append(f"{path}: cannot update the stroke journal ({exc.strerror or exc})")
    return result


_CONFLICT_COPY = re.compile(r"^(?P<key>.+)\.conflict(?:-\d+)?(?P<suffix>\.png)$", re.IGNORECASE)


def _fitting(
    name: str, group: list[JournalRecord], mask_names: Collection[str] | Mapping[str, Path] | None
) -> tuple[list[JournalRecord], str | None]:
    """The records of ``name`` that fit its image, and why the others do not: a record's size
    must be its image's (``mask_names`` maps each mask name to its image), and never over
    ``MAX_PIXELS`` (a record of 65,535 x 65,535 would allocate 4 GiB before anything is read)."""
    from model.storage.imageio import image_size
    from model.storage.tiff_files import MAX_PIXELS

    expected = None
    if isinstance(mask_names, Mapping):
        conflict = _CONFLICT_COPY.match(name)
        of = f"{conflict['key']}{conflict['suffix']}" if conflict else name
        image = mask_names.get(of)
        if image is not None:
            try:
                width, height = image_size(image)
                expected = (height, width)
            except SegGUIError:
                expected = None  # the image cannot be read: the size rule below still holds
    if expected is not None:
        fitting = [record for record in group if record.shape == expected]
        why = f"not restored: they are not of its image's size, {expected[1]} x {expected[0]}"
    else:
        fitting = [record for record in group if 0 < record.shape[0] * record.shape[1] <= MAX_PIXELS]
        why = f"not restored: a mask of over {MAX_PIXELS:,} pixels, or of none, is no image's"
    return fitting, (why if len(fitting) < len(group) else None)


def _refusal(name: str, mask_dir: Path, mask_names: Collection[str] | None) -> str | None:
    """Why a journal record naming ``name`` must not be applied, or None if it may."""
    if not name or name in (".", "..") or Path(name).name != name or any(c in name for c in "\0/\\"):
        return "it is not a file name in the mask folder"
    if mask_names is not None:  # checked first: a name that is no project mask never reaches the disk
        conflict = _CONFLICT_COPY.match(name)
        own = f"{conflict['key']}{conflict['suffix']}" if conflict else name
        if name not in mask_names and own not in mask_names:
            return "no image of this project has that mask"
    target = mask_dir / name
    try:
        if target.is_symlink() or target.resolve().parent != mask_dir.resolve():
            return "it leads out of the mask folder"
    except OSError as exc:  # a name too long for the file system, say
        return f"it cannot be a file in the mask folder ({exc.strerror or exc})"
    return None


def _by_mask(records: list[JournalRecord]) -> Iterator[tuple[str, list[JournalRecord]]]:
    groups: dict[str, list[JournalRecord]] = {}
    for record in records:
        groups.setdefault(record.mask_name, []).append(record)
    yield from groups.items()


def _apply(
    target: Path,
    records: list[JournalRecord],
    num_classes: int,
    keep_unusable: Callable[[Path], Path] | None,
) -> np.ndarray | None:
    """The mask file with ``records`` applied in order, or None if it already holds them all."""
    shape = records[-1].shape
    mask = np.full(shape, IGNORE_INDEX, np.uint8)
    if target.exists():
        try:
            found = read_mask(target)
        except SegGUIError:  # damaged: kept aside, and the journal's strokes make a new mask
            if keep_unusable is None:
                raise
            keep_unusable(target)
        else:  # a readable mask is never moved aside because of a journal
            if found.shape != shape:
                raise MaskError(
                    f"the mask file is {found.shape[1]} x {found.shape[0]}, the journalled edits "
                    f"{shape[1]} x {shape[0]}; the edits stay in the journal"
                )
            check_mask_values(found, num_classes, target)
            mask = found.copy()
    before = mask.copy()
    for record in records:
        if record.shape != shape:
            continue  # an older edit of an image that changed size since: its tiles do not fit
        for ty, tx, values in record.tiles:
            window = mask[ty * TILE : ty * TILE + values.shape[0], tx * TILE : tx * TILE + values.shape[1]]
            window[...] = values[: window.shape[0], : window.shape[1]]  # a tile past the edge is cut
    return None if np.array_equal(mask, before) else mask
