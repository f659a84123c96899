"""What controllers may ask the user, and the answers they get (the window's dialogs answer;
a test or a script can answer instead)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from model.storage.folder_lock import LockOwner
from model.storage.tiff_files import AxesUnsettled

READ_ONLY, TAKE_OVER, FREE, OWN = "read-only", "take over", "free", "own"
"""How a folder opens: the user's two answers, nobody else editing it, this window editing it."""


class Questions(Protocol):
    """Yes/no and choice questions to the user."""

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question; True for yes."""
        ...

    def folder_in_use(self, folder: Path, owner: LockOwner) -> str | None:
        """Another window edits ``folder``: ``READ_ONLY``, ``TAKE_OVER`` or None (stay)."""
        ...

    def tiff_axes(self, unsettled: AxesUnsettled, current: str | None) -> str | None:
        """Which sizes of a TIFF shape are channels and planes (None: the user declined)."""
        ...
