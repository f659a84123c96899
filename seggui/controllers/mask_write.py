"""One save of the mask store, done on its writer thread: what to write, where, and what happened.

Before replacing a mask file its modification time and size are compared with what the window
last saw; a file changed by another program is left alone and the strokes go to a conflict copy
beside it (a slide's mask does the same chunk by chunk). A file that could not be read is kept
aside (``.unusable``) before the first write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.classes import ClassInfo
from model.storage.atomic import file_stamp, free_name, move_aside
from model.storage.chunked_mask import ChunkedMask
from model.storage.imageio import write_mask
from seggui.state.label_status import Status, status_of_mask

log = logging.getLogger(__name__)

Stamp = tuple[int, int] | None


@dataclass(frozen=True)
class SaveRequest:
    image: Path
    path: Path
    """The mask file the image owns."""
    target: Path
    """Where this write goes: ``path``, or the conflict copy after a conflict."""
    mask: np.ndarray | ChunkedMask
    """A copy of the mask to write, or a slide's chunked mask (which saves its changed chunks)."""
    classes: tuple[ClassInfo, ...]
    revision: int
    expected: Stamp
    """``path``'s stamp as this window last saw it (checked before replacing the file)."""
    move_aside: bool
    """The file on disk could not be read: keep it as ``.unusable`` before the first write."""


@dataclass
class WriteResult:
    request: SaveRequest
    error: str | None = None
    written: Path | None = None
    stamp: Stamp = None
    reason: str = ""
    """Why the write failed, in the system's words (``No space left on device``)."""
    conflict: bool = False
    conflict_chunks: int = 0
    """Of a slide's mask: the chunks another window had changed, saved in the conflict copy."""
    moved_to: Path | None = None
    labelled: Status = Status.NO_MASK
    handled: bool = False


def write_request(request: SaveRequest) -> WriteResult:
    """On the writer thread: keep an unusable file, check nobody else changed the file, write."""
    result = WriteResult(request)
    target = request.target
    if isinstance(request.mask, ChunkedMask):
        return _save_chunked(request.mask, result)
    try:
        if request.move_aside and request.path.exists():
            result.moved_to = move_aside(request.path, "unusable")
        elif target == request.path:
            now = file_stamp(target)
            if now is not None and now != request.expected:
                target = free_name(request.path, "conflict")
                result.conflict = True
        target.parent.mkdir(parents=True, exist_ok=True)
        write_mask(target, request.mask, list(request.classes))
        result.written, result.stamp = target, file_stamp(target)
    except OSError as exc:
        result.reason = exc.strerror or str(exc)
        result.error = f"Cannot save {target}: {result.reason}"
        log.warning("%s", result.error)
    result.labelled = status_of_mask(request.mask)
    return result


def _save_chunked(mask: ChunkedMask, result: WriteResult) -> WriteResult:
    """A slide's mask: its changed chunks written, each atomically; a chunk another window
    changed since this one read it is left as it is, and this window's version goes to the
    conflict copy (``ChunkedMask.save``)."""
    try:
        report = mask.save()
    except OSError as exc:
        result.reason = exc.strerror or str(exc)
        result.error = f"Cannot save {mask.folder}: {result.reason}"
        log.warning("%s", result.error)
    else:
        log.info(
            "%s: %d chunks written, %d removed",
            mask.folder.name,
            report.chunks_written,
            report.chunks_removed,
        )
        result.written = mask.folder
        if report.conflicts:
            result.conflict, result.conflict_chunks = True, report.conflicts
            result.written = report.conflict_copy
    result.labelled = Status.PARTLY if mask.stored_chunks() else Status.NO_MASK
    return result
