"""Where a command may write: never over what a user made (images, masks, models) without the
``--overwrite`` consent, and never into a project folder that a SegGUI window edits.

The app honours the same two rules through its folder lock (``model.storage.folder_lock``) and the
project's folder checks (``model.storage.project``); these are the command line's side of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from model.errors import SegGUIError
from model.storage.folder_lock import FolderLock

LOCK_LEVELS = 3
"""How many folders up a write looks for a window's lock: the folder itself, the project folder
above its ``masks/`` or ``predictions/``, and one more (``project/exports/run1``)."""


class WriteRefused(SegGUIError):
    """A write that would replace a user's files without consent, or go under a window's feet."""


def check_not_edited(path: Path) -> None:
    """Refuse to write at ``path`` (a file or folder, made or not) while it lies in a project
    folder that another live SegGUI window edits."""
    where = path.resolve()
    for folder in [where, *where.parents][:LOCK_LEVELS]:
        owner = FolderLock(folder).owner()
        if owner is not None:
            raise WriteRefused(
                f"{folder} is being edited in a SegGUI window ({owner.describe()}); close that "
                f"window first (its strokes and yours would replace each other), or write elsewhere"
            )


def check_may_replace(paths: Iterable[Path], overwrite: bool, where: Path) -> None:
    """Refuse, unless ``overwrite``, when any of ``paths`` exists already."""
    if overwrite:
        return
    existing = [path for path in paths if path.exists() or path.is_symlink()]
    if existing:
        shown = ", ".join(path.name for path in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise WriteRefused(
            f"{where}: {len(existing)} file(s) already there would be replaced ({shown}{more}); "
            "add --overwrite to replace them"
        )


def check_apart(out: Path, protected: dict[str, Path], *, inside: bool = True) -> None:
    """Refuse ``out`` when it is one of the ``protected`` folders (name -> folder: the image
    folder, the mask folder...) or, with ``inside``, lies within one of them."""
    target = out.resolve()
    for name, folder in protected.items():
        home = folder.resolve()
        if target == home or (inside and target.is_relative_to(home)):
            raise WriteRefused(
                f"{out}: this is {name} ({folder}); what is written here would replace its files, "
                "so choose another folder"
            )
