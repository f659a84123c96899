"""File > Open Recent: the last folders opened, kept in the preferences."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

MAX_RECENT = 8


class RecentFolders:
    """The recent folders in ``settings``, listed in ``menu``; a pick opens it."""

    def __init__(self, settings: QSettings, menu: QMenu, open_folder: Callable[[str], None]) -> None:
        self.settings, self.menu, self.open_folder = settings, menu, open_folder
        self._refresh()

    def folders(self) -> list[str]:
        value = self.settings.value("recent_folders", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.folders() if f != str(folder)]
        self.settings.setValue("recent_folders", recent[:MAX_RECENT])
        self._refresh()

    def dialog_start(self) -> str:
        """Where Open Folder starts: the last folder opened that still exists, else home."""
        for folder in self.folders():
            if Path(folder).is_dir():
                return folder
        return str(Path.home())

    def _refresh(self) -> None:
        self.menu.clear()
        for folder in self.folders():
            self.menu.addAction(folder, lambda f=folder: self.open_folder(f))
        self.menu.setEnabled(bool(self.folders()))
