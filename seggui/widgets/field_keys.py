"""The window's keys stay the window's after a number field was typed in.

A spin box with the keyboard focus takes every key it might type: after setting the time limit
or the learning rate, A (Accept), M (Show Mask) and Ctrl+Z (Undo) went silently into the field.
Here a number field keeps only the keys that can edit its number; every other key with a
shortcut of the window goes to its action, and the canvas takes the focus back. Enter and Esc
end the editing (the number typed is taken) and give the canvas the focus too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QWidget

_EDITING = (
    QKeySequence.StandardKey.Copy,
    QKeySequence.StandardKey.Cut,
    QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.SelectAll,
)
"""Keys with a modifier that a field keeps: the clipboard and Select All."""

_NUMBER_KEYS = frozenset("0123456789.,:-+ ")

_ENDS_EDITING = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)

_MODIFIER_KEYS = frozenset(
    (
        Qt.Key.Key_Shift,
        Qt.Key.Key_Control,
        Qt.Key.Key_Alt,
        Qt.Key.Key_AltGr,
        Qt.Key.Key_Meta,
        Qt.Key.Key_Super_L,
        Qt.Key.Key_Super_R,
        Qt.Key.Key_CapsLock,
        Qt.Key.Key_NumLock,
    )
)
"""Keys that arrive alone before the key they modify (Shift before the colon of 1:30, Ctrl
before A): the field keeps them, and the key after them decides."""


def field_takes(field: QAbstractSpinBox | QLineEdit, event: QKeyEvent) -> bool:
    """Whether ``field`` would use ``event``: a digit or separator, another printable key that
    can still make its number (its own validator says: "2 min" in a time field), or an editing
    key (clipboard, Select All), or a modifier pressed alone."""
    if event.key() in _MODIFIER_KEYS or any(event.matches(key) for key in _EDITING):
        return True
    modifiers = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
    text = event.text()
    if modifiers or not text or not text.isprintable():
        return False
    if text in _NUMBER_KEYS:
        return True  # a number field's own keys, whatever it shows ("no limit" included)
    edit = field.lineEdit() if isinstance(field, QAbstractSpinBox) else field
    current, cursor = edit.text(), edit.cursorPosition()
    if edit.hasSelectedText():
        start = edit.selectionStart()
        current = current[:start] + current[start + len(edit.selectedText()) :]
        cursor = start
    typed = current[:cursor] + text + current[cursor:]
    validator = field if isinstance(field, QAbstractSpinBox) else field.validator()
    state = validator.validate(typed, cursor + len(text))
    state = state[0] if isinstance(state, tuple) else state
    return state != QValidator.State.Invalid


class FieldKeys(QObject):
    """An event filter on the application: number fields of ``window`` give up the keys they
    cannot use, and the canvas (``focus_home``) takes the focus when editing ends. Text fields
    that take any text (no validator) keep every key."""

    def __init__(self, window: QWidget, focus_home: QWidget) -> None:
        super().__init__(window)  # goes with the window, and Qt drops a deleted filter
        self.window, self.focus_home = window, focus_home
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        field = _number_field(watched)
        if field is None or field.window() is not self.window:
            return False
        assert isinstance(event, QKeyEvent)
        if kind == QEvent.Type.ShortcutOverride:
            if event.key() in _ENDS_EDITING or field_takes(field, event):
                return False  # the field's own key: Qt asks it as usual
            event.ignore()  # not the field's: the window's shortcut runs
            self.focus_home.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        if event.key() in _ENDS_EDITING:
            self.focus_home.setFocus(Qt.FocusReason.OtherFocusReason)  # the number typed is taken
        return False


def _number_field(watched: QObject) -> QAbstractSpinBox | QLineEdit | None:
    """The number field ``watched`` is (a spin box, or a text box that checks what is typed),
    or is the text box of."""
    if isinstance(watched, QAbstractSpinBox):
        return watched
    if isinstance(watched, QLineEdit):
        parent = watched.parent()
        if isinstance(parent, QAbstractSpinBox):
            return parent
        return watched if watched.validator() is not None else None
    return None
