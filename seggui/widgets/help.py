"""Help > Keyboard Shortcuts and Help > About: the shortcut table (every action's key included)
and the version text."""

from __future__ import annotations

import re

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

SHORTCUTS = [
    ("B", "Brush"),
    ("E", "Eraser"),
    ("F", "Fill"),
    ("P", "Polygon (double-click or Enter closes)"),
    ("L", "Lasso"),
    ("O", "Object prompt: click an object, shift+click leaves a part out, drag a box"),
    ("Enter / Esc", "Keep / drop the proposed object (polygon: close / cancel)"),
    ("0, 1-9", "Pick class (0: background)"),
    ("I", "Pick the class under the pointer"),
    ("[ / ]", "Brush size"),
    ("Space + drag, middle drag", "Pan"),
    ("Wheel", "Zoom around the cursor"),
    ("Ctrl+0", "Fit to window"),
    ("M", "Show/hide mask"),
    ("Page Down / Page Up", "Next / previous image"),
    (". / ,", "Next / previous plane of a stack"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
    ("Ctrl+T", "Train (fine-tune on everything painted)"),
    ("R", "Show/hide the prediction"),
    ("A / Shift+A", "Accept the prediction into unpainted pixels / replace the mask"),
    ("U", "Next most uncertain image"),
    ("N", "Next uncertain object of the prediction (the prompt tool, there)"),
    ("Shift+U", "Show/hide where the model is unsure"),
    ("Ctrl+Shift+P", "Predict all images"),
    ("Ctrl+E / Ctrl+I", "Export masks / import labels"),
]


_ALIASES = {"PgDown": "Page Down", "PgUp": "Page Up"}


def covered(key: str, listed: set[str]) -> bool:
    """Whether the row keys ``listed`` already name ``key`` (``Page Down / Page Up`` names PgDown,
    ``0, 1-9`` every digit)."""
    names = {part.strip() for row in listed for part in re.split(r" / |, ", row)}  # "," is a key too
    return key in names or _ALIASES.get(key) in names or (key.isdigit() and "1-9" in names)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """The shortcut list: ``SHORTCUTS`` (with gestures, and words on what the keys do), then
    every action's shortcut that it does not name, so a new shortcut cannot be missing."""
    rows = list(SHORTCUTS)
    listed = {key for key, _ in rows}
    for action in actions:
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if key and not covered(key, listed):
            rows.append((key, action.text().replace("&", "").removesuffix("...")))
            listed.add(key)
    return rows


def about_text() -> str:
    """Version, what SegGUI is, and where its help lives (no torch import: the GUI thread)."""
    from importlib.metadata import PackageNotFoundError, version

    from PySide6 import __version__ as pyside_version

    try:
        ours = version("seggui")
    except PackageNotFoundError:
        ours = "(not installed)"
    return (
        f"<h3>SegGUI {ours}</h3>"
        "<p>Label images for semantic segmentation with a U-Net in the loop: paint a few strokes, "
        "train on them in the background, accept and correct the predictions, export the masks.</p>"
        f"<p>Qt for Python {pyside_version}. The README holds the manual; Help &gt; Keyboard "
        "Shortcuts lists the keys.</p>"
    )


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About SegGUI", about_text())


def show_shortcuts(parent: QWidget) -> None:
    """Every key of the window's actions, with the gestures ``SHORTCUTS`` adds."""
    table = shortcut_rows(parent.findChildren(QAction))
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in table)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table cellspacing=6>{rows}</table>")
