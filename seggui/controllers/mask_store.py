"""The mask store: the one place masks are saved, from the first stroke to the file on disk.

Per mask it owns the revision (a number that only grows, across images), the autosave debounce
(``AUTOSAVE_DELAY_MS`` after the last stroke, and at least every ``AUTOSAVE_MAX_WAIT_S`` of steady
painting), the stroke journal (each finished edit on disk before the next one starts), a single
writer thread, retry with back-off, and the status shown under the canvas. ``flush`` goes through
the same writer. A write result older than what is already on disk is dropped.

Before each write the mask file's modification time and size are compared with what this window
last read or wrote: if another program (or another window) changed the file, it is not replaced;
the strokes go to ``<name>.conflict.png`` beside it, and the status says so.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from model.classes import ClassInfo
from model.errors import first_line
from model.storage.chunked_mask import ChunkedMask
from model.storage.stroke_journal import JOURNAL_FILE, JournalRecord, StrokeJournal, Tiles
from seggui.controllers.mask_write import SaveRequest, Stamp, WriteResult, write_request
from seggui.state.document import MaskDocument
from seggui.state.slide_document import SlideDocument

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 1500
AUTOSAVE_MAX_WAIT_S = 5.0
RETRY_STEPS_MS = (1000, 2000, 4000, 8000, 16000)
"""Waits before each retry of a failing save; the last one repeats."""
JOURNAL_MAX_BYTES = 32 << 20
"""An edit changing more than this (accepting a prediction on a huge image) is not journalled:
the mask is handed to the writer at once instead, which is quicker than journalling it."""


@dataclass
class _MaskFile:
    """What the store knows of one mask file."""

    image: Path
    path: Path
    expected: Stamp
    target: Path
    unusable: bool = False
    on_disk: int = -1
    failing: bool = False
    error: str = ""


@dataclass
class _Current:
    image: Path
    path: Path
    document: MaskDocument
    revision: int
    saved: int
    dirty_since: float = field(default_factory=time.monotonic)


class MaskStore(QObject):
    """Saves the masks of the open folder; see the module docstring. GUI thread only."""

    saved = Signal(object, object)  # image path, Status of the mask written
    problem_found = Signal(str)  # a save failed, a conflict was set aside, the journal failed
    status_changed = Signal(str, bool, str)  # short text for the status bar, warning?, the whole story
    _finished = Signal(object)  # WriteResult, from the writer thread
    _journal_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mask-writer")
        self._journal_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stroke-journal")
        self._journal: StrokeJournal | None = None
        self._journal_warned = False
        self._classes: tuple[ClassInfo, ...] = ()
        self.read_only = False
        self.use_journal = True
        """False turns the stroke journal off (the reliability benchmark's baseline)."""
        self._files: dict[Path, _MaskFile] = {}
        self._pending: dict[Path, SaveRequest] = {}
        self._in_flight: dict[Path, tuple[SaveRequest, Future[WriteResult]]] = {}
        self._counter = 0
        self._closed = False
        self._current: _Current | None = None
        self._slide_masks: dict[Path, ChunkedMask] = {}
        self._warning: tuple[str, str] | None = None  # (short, whole) of the latest warning
        self.retry_steps_ms = RETRY_STEPS_MS
        self._retry_step = 0
        self._finished.connect(self._on_finished)
        self._journal_failed.connect(self._on_journal_failed)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self.autosave_timer.timeout.connect(self.save_current)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._retry_failed)

    # -- the folder and the image ---------------------------------------------------------------
    def set_folder(self, folder: Path | None, classes: tuple[ClassInfo, ...], *, read_only: bool) -> None:
        """Use ``folder``'s stroke journal from now on (none when read-only). Call ``flush`` first."""
        self._close_journal()
        self._current = None
        for path in [p for p, f in self._files.items() if not (f.failing or self._busy(p))]:
            del self._files[path]  # a file still failing keeps being retried
        self._classes = classes
        self.read_only = read_only
        self._slide_masks = {}
        self._warning = None
        self._journal_warned = False
        if folder is not None and not read_only and self.use_journal:
            self._journal = StrokeJournal(folder / JOURNAL_FILE)
        self._emit_status()

    def set_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        self._classes = classes

    def open(
        self, image: Path, mask_path: Path, document: MaskDocument, stamp: Stamp, *, unusable: bool = False
    ) -> None:
        """Edit ``document``, ``image``'s mask (its file's stamp as read: ``stamp``), from now on."""
        self.save_current()
        known = self._files.get(mask_path)
        if known is None or known.image != image:
            self._files[mask_path] = _MaskFile(image, mask_path, stamp, mask_path, unusable)
        elif not self._busy(mask_path) and not known.failing:
            # Read again from disk, which is the truth now (after a conflict too: the other
            # version is on screen, and the conflict copy stays as it was).
            known.expected, known.unusable, known.target = stamp, unusable, mask_path
        if self._warning and not self._warning[0].startswith("NOT SAVED"):
            self._warning = None
        self._current = _Current(image, mask_path, document, self._counter, self._counter)
        if isinstance(document, SlideDocument):
            self._slide_masks[mask_path] = document.chunked
        self._emit_status()

    def forget_slide_mask(self, folder: Path) -> None:
        """The slide mask ``folder`` was replaced on disk (an import): the one open here is not
        it any more, and the slide opens it afresh."""
        self._slide_masks.pop(folder, None)

    def slide_masks(self) -> dict[Path, ChunkedMask]:
        """The chunked masks of the folder's slides opened so far, by folder, with every stroke
        painted into them: a slide opened again, or trained on, reads these (opening a mask
        folder a second time would replay its journal a second time)."""
        return dict(self._slide_masks)

    def newest_mask(self, image: Path) -> np.ndarray | None:
        """A copy of ``image``'s mask as last handed to the writer, if that is not confirmed on
        disk yet (an image opened again before its save ended shows these strokes, not the file)."""
        for request in [*(r for r, _ in self._in_flight.values()), *self._pending.values()][::-1]:
            if request.image == image and isinstance(request.mask, np.ndarray):
                return request.mask.copy()
        return None

    def wrote_since_read(self, mask_path: Path, stamp: Stamp) -> bool:
        """Whether this window wrote ``mask_path`` after it was read with ``stamp``: a read that
        began before a save of the same mask ended holds the old pixels."""
        known = self._files.get(mask_path)
        return (
            known is not None
            and known.on_disk >= 0
            and known.target == mask_path
            and known.expected is not None
            and known.expected != stamp
        )

    # -- edits ------------------------------------------------------------------------------------
    def edited(self, document: MaskDocument, tiles: Tiles) -> None:
        """``document``'s ``tiles`` (row, column, new values) changed: journal them, save soon."""
        current = self._current
        if current is None or document is not current.document or self.read_only:
            return
        if not self.is_dirty():
            current.dirty_since = time.monotonic()
        self._counter += 1
        current.revision = self._counter
        tiles = list(tiles)
        large = sum(values.nbytes for _, _, values in tiles) > JOURNAL_MAX_BYTES
        if isinstance(document, SlideDocument) and self.use_journal:  # its mask has a journal of its own
            copies = tuple((ty, tx, values.copy()) for ty, tx, values in tiles)
            self._journal_writer.submit(self._append_chunked, document.chunked, copies)
        elif self._journal is not None and not large:
            name = self._files[current.path].target.name
            shape = (int(document.shape[0]), int(document.shape[1]))
            copies = tuple((ty, tx, values.copy()) for ty, tx, values in tiles)
            record = JournalRecord(name, shape, current.revision, copies)
            self._journal_writer.submit(self._append, self._journal, record)
        self._emit_status()
        if large or time.monotonic() - current.dirty_since > AUTOSAVE_MAX_WAIT_S:
            self.save_current()  # steady painting keeps restarting the timer: save anyway
        else:
            self.autosave_timer.start()

    def _append(self, journal: StrokeJournal, record: JournalRecord) -> None:
        try:
            journal.append(record)
        except Exception as exc:  # any failure on this thread must reach the user, not the void
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
            self._journal_failed.emit(f"cannot write the stroke journal {journal.path}: {reason}")

    def _append_chunked(self, mask: ChunkedMask, tiles: tuple) -> None:
        try:
            mask.journal_tiles(tiles)
        except Exception as exc:  # as ``_append``: the user must hear of it
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
            self._journal_failed.emit(f"cannot write the stroke journal of {mask.folder}: {reason}")

    def _on_journal_failed(self, message: str) -> None:
        if not self._journal_warned:
            self._journal_warned = True
            self._warn(
                f"{message}; strokes are safe once saved with the masks",
                short="stroke journal failing: strokes are safe once saved",
            )
            self._emit_status()
        else:
            log.warning("%s", message)

    def is_dirty(self) -> bool:
        """Whether the open mask has strokes not yet handed to the writer."""
        return self._current is not None and self._current.revision != self._current.saved

    def save_current(self) -> None:
        """Hand the open mask to the writer if it changed since it was last handed over."""
        self.autosave_timer.stop()
        current = self._current
        if current is None or not self.is_dirty():
            return
        known = self._files[current.path]
        document = current.document
        self._pending[current.path] = SaveRequest(
            current.image,
            current.path,
            known.target,
            document.chunked if isinstance(document, SlideDocument) else document.mask.copy(),
            self._classes,
            current.revision,
            known.expected,
            known.unusable,
        )
        known.unusable = False
        current.saved = current.revision
        current.dirty_since = time.monotonic()
        self._start(current.path)
        self._emit_status()

    # -- state ------------------------------------------------------------------------------------
    def has_unsaved(self) -> bool:
        """Anything not yet confirmed on disk: strokes not handed over, queued, in flight or failed."""
        return (
            self.is_dirty()
            or bool(self._pending or self._in_flight)
            or any(f.failing for f in self._files.values())
        )

    def unsaved_masks(self) -> dict[Path, np.ndarray]:
        """Image path -> its newest mask not yet confirmed on disk (new strokes on screen included).

        Training and export use these instead of the files, so they never wait for the writer
        and still see every stroke when saving fails. An image on screen without new strokes is
        not included: its file (or its lack of one) holds. Nor is a slide, whose chunked mask
        holds its strokes itself.
        """
        self.save_current()
        newest = {path: request for path, (request, _) in self._in_flight.items()}
        newest.update(self._pending)
        return {r.image: r.mask for r in newest.values() if isinstance(r.mask, np.ndarray)}

    # -- the writer -------------------------------------------------------------------------------
    def _busy(self, path: Path) -> bool:
        return path in self._pending or path in self._in_flight

    def _start(self, path: Path, *, retrying: bool = False) -> None:
        if path in self._in_flight or path not in self._pending:
            return
        if self._files[path].failing and not retrying:
            return  # a failing file is tried again by the back-off timer, not once per stroke
        known = self._files[path]
        # Checked against the stamp of this window's last write, which may have ended after the
        # request was queued (one writer: nothing of ours is in flight for this file now).
        request = dataclasses.replace(self._pending.pop(path), expected=known.expected, target=known.target)
        future = self._writer.submit(write_request, request)
        self._in_flight[path] = (request, future)
        # Last: a write already done calls back at once, on this thread.
        future.add_done_callback(lambda f: self._finished.emit(f.result()))

    def _on_finished(self, result: WriteResult) -> None:
        if result.handled:
            return  # flush() already took it
        result.handled = True
        request = result.request
        self._in_flight.pop(request.path, None)
        known = self._files.get(request.path)
        if known is None:
            return  # the folder was closed meanwhile
        if result.error is None:
            known.on_disk = max(known.on_disk, request.revision)
            known.failing, known.error = False, ""
            if result.conflict_chunks:
                copy = result.written.name if result.written else "a conflict copy"
                self._warn(
                    f"{result.conflict_chunks} chunk(s) of {request.path.name} were changed on disk by "
                    f"another window since they were read here; they were left as they are, and your "
                    f"strokes in them are saved in {copy} beside it (from now on too)",
                    short=f"{request.path.name} changed elsewhere: your strokes there are in {copy}",
                )
            elif result.conflict:
                known.target = result.written or known.target
                self._warn(
                    f"{request.path.name} was changed on disk by another program or window since it "
                    f"was opened here; it was left as it is, and your strokes were saved as "
                    f"{known.target.name} beside it",
                    short=f"{request.path.name} changed elsewhere: your strokes are in {known.target.name}",
                )
            elif known.target == request.path:
                known.expected = result.stamp
            if result.moved_to is not None:
                self._warn(f"The old, unusable mask was kept as {result.moved_to.name}", status_only=True)
            if not any(f.failing for f in self._files.values()):
                self._retry_step = 0
                if self._warning and self._warning[0].startswith("NOT SAVED"):
                    self._warning = None
            self._drop_journalled()
            self.saved.emit(request.image, result.labelled)
        elif request.revision > known.on_disk:
            known.failing, known.error = True, result.error
            self._pending.setdefault(request.path, request)  # a newer request, if any, wins
            where = f"{request.path.parent.name}/{request.path.name}"
            self._warn(
                f"NOT SAVED: {result.error} (retrying; your strokes are kept)",
                short=f"NOT SAVED: {where}: {result.reason} (retrying; strokes kept)",
            )
            self._schedule_retry()
        else:
            log.info("dropped a failed write of %s older than the file on disk", request.path.name)
        self._start(request.path)
        self._emit_status()

    def _schedule_retry(self) -> None:
        """Try the failing files again after the next wait of ``retry_steps_ms`` (unless a try
        is scheduled already)."""
        if not self._retry.isActive() and not self._closed:
            steps = self.retry_steps_ms
            self._retry.start(steps[min(self._retry_step, len(steps) - 1)])
            self._retry_step += 1

    def _retry_failed(self) -> None:
        for path, known in list(self._files.items()):
            if known.failing:
                self._start(path, retrying=True)

    def _drop_journalled(self) -> None:
        if self._journal is None:
            return
        saved = {f.target.name: f.on_disk for f in self._files.values()}
        journal = self._journal
        self._journal_writer.submit(
            self._drop, journal, lambda record: record.revision <= saved.get(record.mask_name, -1)
        )

    def _drop(self, journal: StrokeJournal, is_saved) -> None:
        try:
            journal.drop_saved(is_saved)
        except OSError as exc:
            self._journal_failed.emit(
                f"cannot update the stroke journal {journal.path}: {exc.strerror or exc}"
            )

    def flush(self) -> list[str]:
        """Write everything now through the writer, waiting for it (on close, before export and
        class removal). Returns one message per mask that could not be saved."""
        if self._closed:
            return []
        self.save_current()
        for _ in range(3):  # in flight, then what queued behind it, then one more try of a failure
            for path in list(self._pending):
                self._start(path, retrying=True)
            if not self._in_flight:
                break
            for _request, future in list(self._in_flight.values()):
                self._on_finished(future.result())
        self._journal_writer.submit(lambda: None).result()  # the journal is up to date as well
        failing = [known.error for known in self._files.values() if known.failing]
        if failing:
            self._schedule_retry()  # the back-off goes on: the fault may be mended
        return failing

    def shutdown(self) -> None:
        self._closed = True
        self._retry.stop()
        self._writer.shutdown(wait=True)
        self._close_journal()
        self._journal_writer.shutdown(wait=True)

    def _close_journal(self) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            self._journal_writer.submit(journal.close).result()

    # -- status -----------------------------------------------------------------------------------
    def _warn(self, message: str, *, short: str | None = None, status_only: bool = False) -> None:
        """Log ``message``; keep it (and its ``short`` form for the status bar) as the current
        warning and emit ``problem_found``, or only show it once (``status_only``)."""
        log.warning("%s", message)
        if not status_only:
            self._warning = (short or message, message)
            self.problem_found.emit(message)
        else:
            self.status_changed.emit(message, False, message)

    def status(self) -> tuple[str, bool, str]:
        """The save state in a few words, whether it is a warning, and the whole story."""
        if self.read_only:
            text = "read-only (another window edits this folder)"
            return text, True, f"{text}: nothing painted here can be saved"
        if self._warning:
            return self._warning[0], True, self._warning[1]
        text = "unsaved changes" if self.has_unsaved() else "saved"
        return text, False, text

    def _emit_status(self) -> None:
        self.status_changed.emit(*self.status())
