"""The files of a chunked mask folder (``model.storage.chunked_mask``), listed and read so that
no entry can stop a folder opening, block, or take all memory: only regular files named
``row.column`` in ASCII digits, of at most twice a chunk's bytes."""

from __future__ import annotations

import errno
import os
import re
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.errors import SegGUIError


class ChunkedMaskError(SegGUIError):
    """A chunked mask folder that cannot be used as one."""


ChunkStamp = tuple[int, int, int] | None
"""A chunk file as read or written: (inode, modification time in ns, size); None: no file. Two
equal stamps mean nobody replaced the file in between (``ChunkedMask.save`` checks it)."""


def chunk_stamp(path: Path) -> ChunkStamp:
    """The stamp of the chunk file at ``path`` now (not following a link)."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def read_chunk_file(
    path: Path, size: int, what: str = "a chunk of the mask"
) -> tuple[bytes | None, ChunkStamp]:
    """A chunk file's bytes (None: no file, no labels there) and its stamp. Only a regular file
    of at most twice ``size`` bytes is read: a fifo would block for ever, a link to
    ``/dev/zero`` never end, a link leads out of the folder. ``what`` names the file in errors."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        if path.is_symlink():  # where O_NOFOLLOW is missing (Windows)
            raise ChunkedMaskError(_refused(path, what, "a link"))
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ChunkedMaskError(_refused(path, what, "a link")) from exc
        raise ChunkedMaskError(f"{path}: {what} cannot be read ({exc.strerror or exc})") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ChunkedMaskError(_refused(path, what, "not a regular file (a fifo, socket or device)"))
        if status.st_size > 2 * size:
            raise ChunkedMaskError(
                f"{path}: {what} of {status.st_size:,} bytes, more than it can be; move it away"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(status.st_size + 1)  # a file that grows meanwhile stops there
    except OSError as exc:
        raise ChunkedMaskError(f"{path}: {what} cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    return data, (status.st_ino, status.st_mtime_ns, status.st_size)


def _refused(path: Path, what: str, kind: str) -> str:
    return f"{path}: {what} is {kind}, which SegGUI does not follow; move it away"


def stored_keys(folder: Path) -> set[tuple[int, int]]:
    """The chunks with a file in ``folder`` (none if there is no folder). An entry that is not
    a folder, or cannot be listed, raises ``ChunkedMaskError`` naming it."""
    try:
        with os.scandir(folder) as entries:
            return {key for entry in entries if (key := key_of(entry.name)) is not None}
    except FileNotFoundError:
        return set()
    except OSError as exc:  # a file, a link that loops, a folder that cannot be read
        raise ChunkedMaskError(
            f"{folder}: not a chunked mask folder ({exc.strerror or exc}); move it away and the slide "
            "gets a new mask"
        ) from exc


_CHUNK_NAME = re.compile(r"([0-9]+)\.([0-9]+)")


def key_of(name: str) -> tuple[int, int] | None:
    """``(row, column)`` of a chunk file's name ``row.column`` (ASCII digits only: ``².0`` is no
    chunk, though ``str.isdigit`` says its ``²`` is a digit)."""
    found = _CHUNK_NAME.fullmatch(name)
    return (int(found[1]), int(found[2])) if found else None


def decode_chunk(path: Path, data: bytes, chunk: int) -> np.ndarray:
    """The ``chunk x chunk`` uint8 values of a chunk file's zlib bytes ``data``, inflating no
    more than a chunk's bytes (2 MB that inflate to 2 GB stop at once)."""
    size = chunk * chunk
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(data, size + 1)
    except zlib.error as exc:
        raise ChunkedMaskError(
            f"{path}: a chunk of the mask is damaged ({exc}); move it away to read its pixels as not labelled"
        ) from exc
    if len(raw) != size or inflate.unconsumed_tail:
        more = " or more" if inflate.unconsumed_tail or len(raw) > size else ""
        raise ChunkedMaskError(
            f"{path}: a chunk of the mask holds {len(raw):,} bytes{more}, not {size:,}; move it "
            "away to read its pixels as not labelled"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(chunk, chunk).copy()


def aside_name(folder: Path, tag: str = "unusable") -> Path:
    """A free name beside ``folder`` for keeping it, or a copy of it, out of the way:
    ``NAME.unusable``, ``NAME.unusable-2``, ... (the tag after the whole name: ``slide.zarr.conflict``
    is no chunked mask of a slide)."""
    candidate, n = folder.with_name(f"{folder.name}.{tag}"), 1
    while os.path.lexists(candidate):
        n += 1
        candidate = folder.with_name(f"{folder.name}.{tag}-{n}")
    return candidate


def chunk_windows(
    shape: tuple[int, int], chunk: int, window: tuple[int, int, int, int], among: set | None = None
) -> Iterator[tuple[tuple[int, int], tuple[tuple[slice, slice], tuple[slice, slice]]]]:
    """(chunk key, (slice in the chunk, slice in the window)) for each chunk of a mask of
    ``shape`` that the ``window`` (top, left, height, width) meets (of those in ``among``, if given)."""
    top, left, height, width = window
    y0, y1 = max(top, 0), min(top + height, shape[0])
    x0, x1 = max(left, 0), min(left + width, shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    rows, columns = range(y0 // chunk, (y1 - 1) // chunk + 1), range(x0 // chunk, (x1 - 1) // chunk + 1)
    if among is not None and len(among) < len(rows) * len(columns):
        keys = sorted(key for key in among if key[0] in rows and key[1] in columns)
    else:
        keys = [(cy, cx) for cy in rows for cx in columns if among is None or (cy, cx) in among]
    for cy, cx in keys:
        ay0, ay1 = max(y0, cy * chunk), min(y1, (cy + 1) * chunk)
        ax0, ax1 = max(x0, cx * chunk), min(x1, (cx + 1) * chunk)
        src = (slice(ay0 - cy * chunk, ay1 - cy * chunk), slice(ax0 - cx * chunk, ax1 - cx * chunk))
        dst = (slice(ay0 - top, ay1 - top), slice(ax0 - left, ax1 - left))
        yield (cy, cx), (src, dst)
