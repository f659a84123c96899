"""Asking what to do with a folder another SegGUI window edits (see ``model.storage.folder_lock``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from model.storage.folder_lock import LockOwner

READ_ONLY, TAKE_OVER, FREE, OWN = "read-only", "take over", "free", "own"
"""How a folder opens: the user's two answers, nobody else editing it, this window editing it."""


def ask_about_lock(parent: QWidget, folder: Path, owner: LockOwner) -> str | None:
    """Ask what to do with a folder another SegGUI window edits: ``READ_ONLY``, ``TAKE_OVER``
    or None (cancel)."""
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
