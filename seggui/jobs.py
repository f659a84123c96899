"""Running a plain function on the thread pool and getting its result back on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Signal

from model.errors import SegGUIError


class _JobSignals(QObject):
    done = Signal(int, object)  # ticket, the function's result, or an error message (str)


class FunctionJob(QRunnable):
    """Calls ``function()`` off the GUI thread; ``signals.done`` carries the result or the error.

    Errors a user can act on (``SegGUIError``, ``OSError``) come back as their message;
    anything else is a bug and propagates.
    """

    def __init__(self, ticket: int, function: Callable[[], object]) -> None:
        super().__init__()
        self.signals = _JobSignals()
        self.ticket, self.function = ticket, function

    def run(self) -> None:
        try:
            result = self.function()
        except (SegGUIError, OSError) as exc:
            result = str(exc)
        self.signals.done.emit(self.ticket, result)
