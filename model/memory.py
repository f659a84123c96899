"""Giving freed memory back to the operating system after a large image.

glibc keeps memory freed by a worker thread in that thread's arena: after decoding a
30000 x 30000 image that then failed to open, gigabytes stay resident although nothing uses
them. ``malloc_trim`` hands them back. Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

LARGE_BYTES = 64 << 20
"""Images at least this large are worth a trim once dropped (a trim costs milliseconds)."""


def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Return freed heap memory of every thread to the OS, where the C library allows it."""
    if _TRIM is not None:
        _TRIM(0)
