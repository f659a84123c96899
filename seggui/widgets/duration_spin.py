"""A spin box for a length of time that shows its unit: ``1:30`` is a minute and a half, and
``90 s``, ``1.5 min`` and ``2 h`` are read as written (a bare ``90`` in a minutes field reads like
seconds to many)."""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QSpinBox, QWidget

from model.words import could_become_duration, parse_duration


def format_duration_field(seconds: int) -> str:
    """``1:30 min`` (``1:02:03 h`` past an hour)."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d} h" if hours else f"{minutes}:{secs:02d} min"


class DurationSpin(QSpinBox):
    """Seconds, shown as ``m:ss min``; steps of 30 s; 0 shows ``special`` (say, "no limit")."""

    def __init__(self, special: str, maximum_s: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, maximum_s)
        self.setSingleStep(30)
        self.setSpecialValueText(special)
        self.setToolTip(
            "Minutes and seconds (1:30 is a minute and a half); '90 s', '2 min' or '1 h' also work"
        )

    def textFromValue(self, value: int) -> str:
        return format_duration_field(value)

    def valueFromText(self, text: str) -> int:
        parsed = parse_duration(text.removesuffix(" min").removesuffix(" h") if ":" in text else text)
        return self.value() if parsed is None else parsed

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if text == self.specialValueText():
            return QValidator.State.Acceptable, text, pos
        stripped = text.removesuffix(" min").removesuffix(" h") if ":" in text else text
        parsed = parse_duration(stripped)
        if parsed is not None and self.minimum() <= parsed <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        if not could_become_duration(stripped) and not self.specialValueText().startswith(text):
            return QValidator.State.Invalid, text, pos  # a key that is not the field's: a shortcut
        return QValidator.State.Intermediate, text, pos
