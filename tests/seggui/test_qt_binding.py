from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    number = Signal(int)
    anything = Signal(object)


def test_signal_emission_keeps_reference_counts(qapp):
    """PySide6 6.12.0 dropped a reference to True on every emission, so a long session aborted
    with "bool_dealloc"; pyproject.toml excludes it, and this test catches any binding that does so."""
    emitter = _Emitter()
    emitter.number.connect(lambda value: None)
    emitter.anything.connect(lambda value: None)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(100):
        emitter.number.emit(5)
        emitter.anything.emit(None)
    # A broken binding loses one reference per emission: 200 here.
    assert sys.getrefcount(True) >= before_true - 5
    assert sys.getrefcount(None) >= before_none - 5
