"""Running plain functions off the GUI thread, their results and errors coming back on it.

One way for the whole app (in the spirit of superqt's ``create_worker``): ``Jobs.submit`` runs a
function on the pool; on the GUI thread ``on_done`` gets its return value or ``on_error`` the
exception it raised. A job submitted under a ``key`` makes the unfinished jobs of that key stale:
their results are dropped, so an image opened after another never shows the first. Callers keep
nothing alive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from model.errors import SegGUIError

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """A job that stops because nobody waits for its result any more: delivered, never logged."""


EXPECTED = (SegGUIError, OSError, MemoryError, JobCancelled)
"""Failures a user can act on, and cancellations; anything else is also delivered, and logged
as a bug."""


class _Relay(QObject):
    done = Signal(int, object)  # ticket, result
    failed = Signal(int, object)  # ticket, exception
    progressed = Signal(int, object)  # ticket, the arguments the function reported


@dataclass
class _Pending:
    runnable: QRunnable
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None] | None
    on_progress: Callable[..., None] | None
    key: str | None


class _Run(QRunnable):
    def __init__(self, ticket: int, function: Callable[..., Any], relay: _Relay, report: bool) -> None:
        super().__init__()
        self.setAutoDelete(False)  # ``Jobs`` holds it until its result is delivered
        self.ticket, self.function, self.relay, self.report = ticket, function, relay, report

    def run(self) -> None:
        try:
            if self.report:
                result = self.function(lambda *args: self.relay.progressed.emit(self.ticket, args))
            else:
                result = self.function()
        except Exception as exc:  # every failure goes back to the GUI thread as a value
            if not isinstance(exc, EXPECTED):
                log.exception("background job failed")
            self.relay.failed.emit(self.ticket, exc)
        else:
            self.relay.done.emit(self.ticket, result)


class Jobs(QObject):
    """A named pool of ``threads`` threads and the jobs submitted to it."""

    def __init__(self, name: str, threads: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._relay.progressed.connect(self._on_progress)
        self._pending: dict[int, _Pending] = {}
        self._latest: dict[str, int] = {}
        self._tickets = 0

    def submit(
        self,
        function: Callable[..., Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
        *,
        key: str | None = None,
        on_progress: Callable[..., None] | None = None,
        priority: int = 0,
    ) -> int:
        """Run ``function()`` (``function(report)`` with ``on_progress``: each ``report(*args)``
        reaches ``on_progress(*args)``); returns the job's ticket. Without ``on_error`` a failure
        is logged."""
        self._tickets += 1
        ticket = self._tickets
        runnable = _Run(ticket, function, self._relay, on_progress is not None)
        self._pending[ticket] = _Pending(runnable, on_done, on_error, on_progress, key)
        if key is not None:
            self._latest[key] = ticket
        self.pool.start(runnable, priority)
        return ticket

    def stale(self, key: str) -> None:
        """Drop the results of the unfinished jobs of ``key`` (without starting another)."""
        self._tickets += 1
        self._latest[key] = self._tickets

    def _take(self, ticket: int) -> _Pending | None:
        pending = self._pending.pop(ticket, None)
        if pending is None or (pending.key is not None and self._latest.get(pending.key) != ticket):
            return None
        return pending

    def _on_done(self, ticket: int, result: object) -> None:
        pending = self._take(ticket)
        if pending is not None:
            pending.on_done(result)

    def _on_failed(self, ticket: int, error: BaseException) -> None:
        pending = self._take(ticket)
        if pending is None:
            return
        if pending.on_error is not None:
            pending.on_error(error)
        else:
            log.warning("%s", error)

    def _on_progress(self, ticket: int, args: tuple) -> None:
        pending = self._pending.get(ticket)
        if pending is not None and pending.on_progress is not None:
            pending.on_progress(*args)

    def clear(self) -> None:
        """Drop the jobs not started yet, with their callbacks (running ones finish)."""
        for ticket, pending in list(self._pending.items()):
            if self.pool.tryTake(pending.runnable):
                del self._pending[ticket]

    def wait(self, ms: int) -> bool:
        return self.pool.waitForDone(ms)
