"""A lock file that tells two SegGUI windows (or machines) on one project folder about each other.

``.seggui.lock`` in the project folder names the host, process, user and start time of the
window that edits the folder. A second window finds it and can open the folder read-only, or
take it over when the owner is gone (a crashed process on this host is detected; one on another
host cannot be, so the user is asked). The mask store's modification-time check is the second
line: a mask changed on disk by someone else is never silently replaced.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from model.storage.atomic import atomic_write

LOCK_FILE = ".seggui.lock"
_HELD_HERE: set[Path] = set()
"""Lock files held by this process (two windows of one process are two writers too)."""


@dataclass(frozen=True)
class LockOwner:
    """Who holds a folder's lock, as its lock file says."""

    host: str
    pid: int
    user: str
    since: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.since))
        return f"{self.user} on {self.host} (process {self.pid}) since {when}"

    def is_gone(self) -> bool:
        """True when the owner was a process on this host that no longer runs."""
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return False  # this process: held by another window here, or was (checked by the caller)
        if sys.platform == "win32":
            return False  # os.kill(pid, 0) would send Ctrl+C there: the user is asked instead
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # it runs, as another user
        except OSError:
            return False
        return False


class FolderLock:
    """This window's claim on a project folder; ``release`` it when the folder closes."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._key = self.path.resolve()
        self.held = False

    def owner(self) -> LockOwner | None:
        """The other window holding the folder, or None if it is free (or its owner is gone)."""
        if self._key in _HELD_HERE and not self.held:
            return LockOwner(socket.gethostname(), os.getpid(), _user(), self._since_of_file())
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            owner = LockOwner(str(data["host"]), int(data["pid"]), str(data["user"]), float(data["since"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None  # unreadable lock file: nobody can be told about, so it is not honoured
        if owner.is_gone() or (owner.host == socket.gethostname() and owner.pid == os.getpid()):
            return None
        return owner

    def acquire(self) -> None:
        """Write the lock file (over a stale one). ``OSError`` if the folder is not writable."""
        data = {"host": socket.gethostname(), "pid": os.getpid(), "user": _user(), "since": time.time()}
        atomic_write(self.path, lambda fh: fh.write(json.dumps(data).encode("utf-8")))
        _HELD_HERE.add(self._key)
        self.held = True

    def release(self) -> None:
        """Remove the lock file if this window holds it (and it is still ours)."""
        if not self.held:
            return
        self.held = False
        _HELD_HERE.discard(self._key)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("host") == socket.gethostname() and data.get("pid") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            return  # gone already, or taken over by another window: theirs now

    def _since_of_file(self) -> float:
        try:
            return float(json.loads(self.path.read_text(encoding="utf-8"))["since"])
        except (OSError, ValueError, KeyError, TypeError):
            return time.time()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown user"
