"""Opening a folder after a crash: the temporary files a kill left, and the journalled strokes.

Called when a folder opens and no other window edits it (``model.storage.folder_lock``): a temporary
file of an interrupted atomic write is garbage then (the file it was for is whole, old or new),
and the stroke journal holds the strokes the masks miss.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from model.storage.atomic import TEMPORARY_NAME, move_aside
from model.storage.project import Project
from model.storage.stroke_journal import Replay, replay_journal


@dataclass
class Recovery:
    """What ``recover_folder`` did."""

    replay: Replay
    removed: list[Path] = field(default_factory=list)
    """Temporary files of interrupted writes, removed."""
    problems: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        """What to tell the user (nothing when there was nothing to recover)."""
        out = [*self.problems, *self.replay.problems]
        if self.replay.restored:
            names = ", ".join(path.name for path in self.replay.restored[:5])
            more = f" and {len(self.replay.restored) - 5} more" if len(self.replay.restored) > 5 else ""
            out.append(f"Restored strokes a crash had not saved yet into {names}{more}")
        return out


def recover_folder(project: Project, mask_names: Collection[str]) -> Recovery:
    """Remove leftover temporary files of ``project``'s folders, then replay its stroke journal
    into the masks named ``mask_names`` (those of the project's images; a record naming any other
    file is refused) and keep an unreadable mask it applies to as ``.unusable``."""
    removed, problems = [], []
    for folder in (project.folder, project.mask_dir, project.predictions_dir, project.models_dir):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if TEMPORARY_NAME.match(path.name) and path.is_file():
                try:
                    path.unlink()
                    removed.append(path)
                except OSError as exc:
                    problems.append(
                        f"{path}: cannot remove this leftover temporary file ({exc.strerror or exc})"
                    )
    replay = replay_journal(
        project.folder,
        project.mask_dir,
        list(project.classes),
        lambda path: move_aside(path, "unusable"),
        mask_names=mask_names,
    )
    return Recovery(replay, removed, problems)
