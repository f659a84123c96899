"""The window's answers to the controllers' questions (``seggui.controllers.questions``): message
boxes and the TIFF axes dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from model.storage.folder_lock import LockOwner
from model.storage.tiff_files import AxesUnsettled
from seggui.controllers.questions import READ_ONLY, TAKE_OVER
from seggui.widgets.axes_dialog import ask_axes


class WindowDialogs:
    """``Questions`` asked with dialogs over ``parent``."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def confirm(self, title: str, text: str) -> bool:
        return QMessageBox.question(self.parent, title, text) == QMessageBox.StandardButton.Yes

    def folder_in_use(self, folder: Path, owner: LockOwner) -> str | None:
        return ask_about_lock(self.parent, folder, owner)

    def tiff_axes(self, unsettled: AxesUnsettled, current: str | None) -> str | None:
        return ask_axes(self.parent, unsettled, current)


def ask_about_lock(parent: QWidget, folder: Path, owner: LockOwner) -> str | None:
    """Ask what to do with a folder another SegGUI window edits (see ``model.storage.folder_lock``):
    ``READ_ONLY``, ``TAKE_OVER`` or None (cancel)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Folder in use")
    box.setText(f"{folder} is being edited in another SegGUI window: {owner.describe()}.")
    box.setInformativeText(
        "Open it read-only to look without changing anything. Edit anyway only if that window "
        "is gone (a crash on another computer): two windows saving the same masks would "
        "replace each other's strokes."
    )
    read_only = box.addButton("Open read-only", QMessageBox.ButtonRole.AcceptRole)
    take_over = box.addButton("Edit anyway", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(read_only)
    box.exec()
    clicked = box.clickedButton()
    return READ_ONLY if clicked is read_only else TAKE_OVER if clicked is take_over else None
