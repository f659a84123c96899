"""Decoded training images kept in memory up to a budget, least recently used dropped first."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

MIB = 1 << 20
MIN_BUDGET = 256 * MIB
MAX_BUDGET = 4096 * MIB
MEMORY_SHARE = 1 / 16
"""The default budget is this share of the machine's memory (1.5 GB of 24 GB), so that the
network, the optimiser and the app beside the cache stay well inside what is there."""


def total_memory_bytes() -> int | None:
    """Physical memory of this machine, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    if os.name == "nt":
        import ctypes

        class _Status(ctypes.Structure):
            _fields_ = [
                ("length", ctypes.c_ulong),
                ("load", ctypes.c_ulong),
                ("total", ctypes.c_ulonglong),
                ("available", ctypes.c_ulonglong),
                ("page_total", ctypes.c_ulonglong),
                ("page_available", ctypes.c_ulonglong),
                ("virtual_total", ctypes.c_ulonglong),
                ("virtual_available", ctypes.c_ulonglong),
                ("extended", ctypes.c_ulonglong),
            ]

        status = _Status()
        status.length = ctypes.sizeof(_Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.total)
    return None


def default_cache_bytes() -> int:
    """A sixteenth of the machine's memory, between 256 MB and 4 GB (1 GB if unknown)."""
    total = total_memory_bytes()
    if total is None:
        return 1024 * MIB
    return int(min(MAX_BUDGET, max(MIN_BUDGET, total * MEMORY_SHARE)))


def cache_bytes(setting_mb: int) -> int:
    """The budget a ``cache_mb`` setting asks for (0: the default for this machine)."""
    return default_cache_bytes() if setting_mb <= 0 else setting_mb * MIB


Decoded = tuple[np.ndarray, ...]


class DecodedCache:
    """Arrays decoded from files, kept while they fit in ``budget`` bytes.

    Thread-safe; a value larger than the whole budget is returned but not kept. Each process
    has its own: a copy sent to a data-loading worker arrives empty.
    """

    def __init__(self, budget: int) -> None:
        self.total_budget = int(budget)
        """What this cache and its copies in loader processes may hold together."""
        self.budget = self.total_budget
        """What this copy may hold (``share``)."""
        self._items: OrderedDict[Hashable, tuple[Decoded, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def used(self) -> int:
        return self._used

    def get(self, key: Hashable, load: Callable[[], Decoded]) -> Decoded:
        """The arrays for ``key``, loaded by ``load()`` (outside the lock) if not kept."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = load()
        size = sum(array.nbytes for array in value)
        with self._lock:
            if size <= self.budget and key not in self._items:
                self._items[key] = (value, size)
                self._used += size
                while self._used > self.budget:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._used -= dropped
        return value

    def share(self, processes: int) -> None:
        """Hold a ``processes``-th of the total budget: each process has a copy of its own."""
        with self._lock:
            self.budget = self.total_budget // max(1, processes)
            while self._used > self.budget and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._used -= dropped

    def __getstate__(self) -> dict[str, object]:
        return {"total_budget": self.total_budget, "budget": self.budget}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(int(state["total_budget"]))  # type: ignore[misc, arg-type]
        self.budget = int(state["budget"])  # type: ignore[arg-type]
