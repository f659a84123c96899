"""Edit > Memory Budget: how much the window's caches may keep, stated share by share, kept in
the settings for the next start (``model.compute.memory_budget``)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from model.compute.memory_budget import MIB, MIN_BYTES, MemoryBudget, default_budget_bytes
from model.storage.image_cache import total_memory_bytes
from seggui.controllers.memory_use import SETTING, uses_default
from seggui.state.app_state import AppState


class MemoryDialog(QDialog):
    """A size in MB, the default for this machine, and what each cache gets of it."""

    def __init__(self, budget: MemoryBudget, uses_default: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Memory Budget")
        self.uses_default = uses_default
        default_mb = default_budget_bytes() // MIB
        machine = total_memory_bytes()
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_BYTES // MIB, max(default_mb, int((machine or 0) * 0.9) // MIB, 1024))
        self.size_spin.setSingleStep(256)
        self.size_spin.setSuffix(" MB")
        self.size_spin.setGroupSeparatorShown(True)
        self.size_spin.setValue(budget.total_bytes // MIB)
        self.size_spin.valueChanged.connect(self._on_changed)
        default_button = QPushButton(f"Default for this machine ({default_mb:,} MB)")
        default_button.clicked.connect(lambda: self._use_default(default_mb))
        row = QHBoxLayout()
        row.addWidget(QLabel("Keep in memory at most"))
        row.addWidget(self.size_spin)
        row.addWidget(default_button)
        intro = QLabel(
            "What the window keeps to be quick stays within this budget, for a folder of "
            "2,000 x 2,000 images as for a 100,000 x 100,000 slide:"
        )
        intro.setWordWrap(True)
        self.shares = QLabel()
        outside = QLabel(
            "Outside it: the image on screen with its mask (decoded whole only for images, never "
            "for a slide, which is read tile by tile), the network while it trains, and the window "
            "being predicted. Memory of the machine: "
            + (f"{machine // MIB:,} MB." if machine else "unknown.")
        )
        outside.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for part in (intro, row, self.shares, outside, buttons):
            layout.addLayout(part) if isinstance(part, QHBoxLayout) else layout.addWidget(part)
        self._show_shares()

    @property
    def setting(self) -> int:
        """The setting this dialog asks for: MB, or 0 for the machine's default."""
        return 0 if self.uses_default else self.size_spin.value()

    def budget(self) -> MemoryBudget:
        return MemoryBudget.from_setting(self.setting)

    def _use_default(self, default_mb: int) -> None:
        self.size_spin.setValue(default_mb)
        self.uses_default = True
        self._show_shares()

    def _on_changed(self, _: int) -> None:
        self.uses_default = False
        self._show_shares()

    def _show_shares(self) -> None:
        self.shares.setText("\n".join(f"  {line}" for line in self.budget().lines()))


def choose_memory_budget(parent: QWidget, app: AppState, settings: QSettings) -> None:
    """Edit > Memory Budget: ask, then resize every cache and keep the choice."""
    dialog = MemoryDialog(app.memory_budget, uses_default(settings), parent)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        apply_choice(dialog, app, settings)


def apply_choice(dialog: MemoryDialog, app: AppState, settings: QSettings) -> None:
    settings.setValue(SETTING, dialog.setting)
    app.set_memory_budget(dialog.budget())
    app.tell(f"Memory budget: {dialog.budget().total_bytes // MIB:,} MB", 5000)
