"""Opening a folder after a crash: the temporary files a kill left, and the journalled strokes.

Called when a folder opens and no other window edits it (``model.storage.folder_lock``): a temporary
file of an interrupted atomic write is garbage then (the file it was for is whole, old or new),
and the stroke journal holds the strokes the masks miss.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Collection, Mapping
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


def recover_folder(project: Project, mask_names: Collection[str] | Mapping[str, Path]) -> Recovery:
    """Remove what writes a kill cut short left in ``project``'s folders (``sweep_leftovers``),
    then replay its stroke journal into the masks named ``mask_names`` (those of the project's
    images, each mapped to its image to check the records' size against; a record naming any
    other file is refused) and keep an unreadable mask it applies to as ``.unusable``."""
    removed, problems = sweep_leftovers(project)
    replay = replay_journal(
        project.folder,
        project.mask_dir,
        list(project.classes),
        lambda path: move_aside(path, "unusable"),
        mask_names=mask_names,
    )
    return Recovery(replay, removed, problems)


_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>importing|replaced)-[0-9a-f]{8}$")
"""A slide import's staging folder, or the mask it was replacing (``model.labels.slide_import``)."""


def sweep_leftovers(project: Project) -> tuple[list[Path], list[str]]:
    """Remove the temporary files of interrupted atomic writes (in the project's folders and in
    its chunked masks and slide predictions), the staging folders of slide imports a kill cut
    short, and put back a slide's mask a kill left moved aside mid-import. Returns what was
    removed and what could not be."""
    removed: list[Path] = []
    problems: list[str] = []

    def remove(path: Path, what: str) -> None:
        try:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            removed.append(path)
        except OSError as exc:
            problems.append(f"{path}: cannot remove this leftover {what} ({exc.strerror or exc})")

    folders = [project.folder, project.mask_dir, project.predictions_dir, project.models_dir]
    folders += _chunked_folders(project.mask_dir)
    for slide_prediction in _entries(project.predictions_dir):
        folders += _chunked_folders(slide_prediction)
    for folder in folders:
        for path in _entries(folder):
            if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
                remove(path, "temporary file")
    for path in _entries(project.mask_dir):
        staging = _STAGING.match(path.name)
        if staging is None or not path.is_dir() or path.is_symlink():
            continue
        mask = path.with_name(staging["name"])
        if staging["kind"] == "replaced" and not os.path.lexists(mask):
            try:  # killed between moving the old mask aside and the new one in: the old one back
                os.replace(path, mask)
            except OSError as exc:
                problems.append(
                    f"{path}: the mask {mask.name} a killed import moved here cannot be put back "
                    f"({exc.strerror or exc}); rename it to {mask.name} by hand"
                )
        else:
            remove(path, "folder of a slide import a kill cut short")
    return removed, problems


def _entries(folder: Path) -> list[Path]:
    """What ``folder`` holds (nothing if it is missing, not a folder or cannot be read)."""
    try:
        with os.scandir(folder) as entries:
            return [Path(entry.path) for entry in entries]
    except OSError:
        return []


def _chunked_folders(folder: Path) -> list[Path]:
    """The chunked masks (``*.zarr`` folders, not links) directly in ``folder``."""
    return [p for p in _entries(folder) if p.name.endswith(".zarr") and p.is_dir() and not p.is_symlink()]
