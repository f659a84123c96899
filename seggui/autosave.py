"""Background mask saving: one writer thread, coalesced requests, errors reported and retried.

The GUI thread hands over an immutable snapshot (a copy of the mask) with a revision number and
never waits for the disk. Pending saves of the same file are coalesced so only the newest is
written. A failed write (read-only folder, full disk) is reported through ``save_failed`` and
retried once every ``RETRY_MS`` (new strokes to a failing file wait for that retry too); the
strokes stay in memory, and the file counts as unsaved, until a write succeeds. A result older
than what is already on disk (a failed write that ``flush`` overtook) is dropped, never re-queued.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from model.classes import IGNORE_INDEX, ClassInfo
from model.imageio import write_mask

log = logging.getLogger(__name__)

RETRY_MS = 3000


@dataclass(frozen=True)
class SaveRequest:
    path: Path
    mask: np.ndarray
    classes: tuple[ClassInfo, ...]
    revision: int


class MaskSaver(QObject):
    """Writes masks off the GUI thread; ``saved``/``save_failed`` arrive on the GUI thread."""

    saved = Signal(object, int, bool)  # path, revision, every pixel labelled
    save_failed = Signal(object, str)  # path, message
    _finished = Signal(object, object, bool)  # request, error message or None, complete (thread -> GUI)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mask-saver")
        self._pending: dict[Path, SaveRequest] = {}
        self._in_flight: dict[Path, Future[None]] = {}
        self._writing: dict[Path, SaveRequest] = {}
        self._failed: set[Path] = set()
        self._on_disk: dict[Path, int] = {}  # the newest revision written, per file
        self._lock = threading.Lock()
        self._finished.connect(self._on_finished)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self._retry_failed)

    def request(self, path: Path, mask: np.ndarray, classes: tuple[ClassInfo, ...], revision: int) -> None:
        """Save a copy of ``mask`` to ``path`` soon (newest revision wins)."""
        self._pending[path] = SaveRequest(path, mask.copy(), classes, revision)
        self._start(path)

    def has_unsaved(self) -> bool:
        return bool(self._pending or self._in_flight or self._failed)

    def unsaved_masks(self) -> dict[Path, np.ndarray]:
        """Mask path -> the newest mask not yet confirmed on disk (being written, queued or failed)."""
        newest = {**self._writing, **self._pending}
        return {path: request.mask for path, request in newest.items()}

    def _start(self, path: Path, *, retrying: bool = False) -> None:
        if path in self._in_flight or path not in self._pending:
            return
        if path in self._failed and not retrying:
            return  # a failing file is tried again by the retry timer, not once per stroke
        request = self._pending.pop(path)
        future = self._executor.submit(self._write, request)
        self._in_flight[path] = future
        self._writing[path] = request

    def _write(self, request: SaveRequest) -> None:
        error: str | None = None
        try:
            request.path.parent.mkdir(parents=True, exist_ok=True)
            write_mask(request.path, request.mask, list(request.classes))
        except OSError as exc:
            error = f"Cannot save {request.path}: {exc.strerror or exc}"
            log.warning("%s", error)
        complete = not bool((request.mask == IGNORE_INDEX).any())
        self._finished.emit(request, error, complete)

    def _on_finished(self, request: SaveRequest, error: str | None, complete: bool) -> None:
        self._in_flight.pop(request.path, None)
        self._writing.pop(request.path, None)
        on_disk = self._on_disk.get(request.path, -1)
        if error is None:
            self._failed.discard(request.path)
            self._on_disk[request.path] = max(on_disk, request.revision)
            self.saved.emit(request.path, request.revision, complete)
        elif request.revision > on_disk:
            self._failed.add(request.path)
            # Keep the newest data for the retry unless a newer request already arrived.
            self._pending.setdefault(request.path, request)
            self.save_failed.emit(request.path, error)
            if not self._retry.isActive():
                self._retry.start()
        else:
            log.info("dropped a failed write of %s older than the file on disk", request.path.name)
        self._start(request.path)

    def _retry_failed(self) -> None:
        for path in list(self._failed):
            self._start(path, retrying=True)

    def flush(self) -> list[str]:
        """Write everything now, waiting for the writer (used on close). Returns failure messages."""
        errors = []
        for path in list(self._pending):
            request = self._pending.pop(path)
            future = self._in_flight.pop(path, None)
            if future is not None:
                future.result()
            try:
                request.path.parent.mkdir(parents=True, exist_ok=True)
                write_mask(request.path, request.mask, list(request.classes))
                self._failed.discard(path)
                self._on_disk[path] = max(self._on_disk.get(path, -1), request.revision)
            except OSError as exc:
                errors.append(f"Cannot save {request.path}: {exc.strerror or exc}")
                self._pending[path] = request
        for future in list(self._in_flight.values()):
            future.result()
        return errors

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
