"""Atomic file writes: write a temporary file beside the target, then ``os.replace``."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMPORARY_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
"""The names ``atomic_write`` gives its temporary files (what a kill mid-write leaves)."""


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file in ``path``'s folder, then move it over ``path``.

    A reader never sees a half-written file: either the old file or the whole new one. The new
    file gets the usual permissions (0o666 less the umask), not a temporary file's 0o600. On any
    error the temporary file is removed and the error propagates unchanged.
    """
    target = Path(path)
    tmp_path = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def free_name(path: Path, tag: str) -> Path:
    """``<stem>.<tag><suffix>`` beside ``path``, or ``<stem>.<tag>-N<suffix>`` for the first N
    not taken, so a copy never replaces an earlier one."""
    candidate = path.with_name(f"{path.stem}.{tag}{path.suffix}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{tag}-{number}{path.suffix}")
        number += 1
    return candidate


def move_aside(path: Path, tag: str) -> Path:
    """Rename ``path`` to ``free_name(path, tag)`` and return the new name (``OSError`` if it cannot)."""
    target = free_name(path, tag)
    os.replace(path, target)
    return target


def file_stamp(path: Path) -> tuple[int, int] | None:
    """``(modification time in ns, size)`` of ``path``, or None if it does not exist: two equal
    stamps mean nobody wrote the file in between."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size
