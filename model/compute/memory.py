"""Giving freed memory back to the operating system after a large image, and keeping garbage
collection pauses short while a great many objects are made.

glibc keeps memory freed by a worker thread in that thread's arena: after decoding a
30000 x 30000 image that then failed to open, gigabytes stay resident although nothing uses
them. ``malloc_trim`` hands them back. Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import sys
import threading
from collections.abc import Iterator

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


_collector_lock = threading.Lock()
_collector_paused = 0


@contextlib.contextmanager
def many_lasting_objects() -> Iterator[None]:
    """Around code (on any thread) that makes a great many objects meant to last, such as the
    records of a 100,000-image folder: Python's full garbage collections, which walk every
    object and ran up to 130 ms each while such a listing grew, wait until it is done; then
    everything alive is frozen out of later collections (``gc.freeze``), so that they stay
    short. Frozen objects are still freed when nothing refers to them."""
    global _collector_paused
    with _collector_lock:
        _collector_paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _collector_lock:
            _collector_paused -= 1
            if _collector_paused == 0:
                gc.freeze()
                gc.enable()
