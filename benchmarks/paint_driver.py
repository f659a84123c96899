"""A stand-in user for kill tests: opens a folder in the real window and paints a stroke every
``--interval`` seconds, logging each one as it ends. The log is the truth a kill test checks
the masks against (``benchmarks/reliability.py``, ``tests/seggui/test_reliability.py``).

Stroke ``i`` paints a short bar of class 1 in its own 8 x 8 cell of the first image or slide
(cells are numbered from ``--first-cell``), so which strokes reached the disk can be read off the
mask.

    python benchmarks/paint_driver.py FOLDER LOG [--interval 0.1] [--on-lock "take over"]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CELL = 8
CELLS_PER_ROW = 30


def cell_origin(index: int) -> tuple[int, int]:
    """Top-left pixel (x, y) of stroke ``index``'s cell."""
    return 4 + (index % CELLS_PER_ROW) * CELL, 4 + (index // CELLS_PER_ROW) * CELL


def stroke_on_mask(mask, index: int) -> bool:
    """Whether stroke ``index``'s bar is in ``mask`` (all of it: a torn stroke does not count)."""
    x, y = cell_origin(index)
    return bool((mask[y + 1 : y + 3, x + 1 : x + 5] == 1).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("log", type=Path)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--strokes", type=int, default=200)
    parser.add_argument("--first-cell", type=int, default=0)
    parser.add_argument("--on-lock", choices=("read-only", "take over"), default="read-only")
    parser.add_argument("--no-journal", action="store_true", help="the baseline: saves only")
    parser.add_argument(
        "--no-chunk-check",
        action="store_true",
        help="the baseline of two windows on a slide: chunks written without checking their stamps",
    )
    args = parser.parse_args()
    if args.no_chunk_check:
        import model.storage.chunked_mask as chunked_mask

        class Unchecked:  # every stamp equals every other: no chunk is ever seen changed
            def __eq__(self, other: object) -> bool:
                return True

            def __ne__(self, other: object) -> bool:
                return False

        chunked_mask.chunk_stamp = lambda path: Unchecked()

    from PySide6.QtCore import QPointF, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from seggui.widgets.main_window import MainWindow

    app = QApplication([])
    settings_dir = tempfile.mkdtemp()
    window = MainWindow(QSettings(f"{settings_dir}/settings.ini", QSettings.Format.IniFormat))
    window.dialogs.folder_in_use = lambda folder, owner: args.on_lock  # type: ignore[method-assign]
    window.store.use_journal = not args.no_journal
    # A line per write: what a kill leaves is whole lines; names that are not UTF-8 kept as bytes.
    log = args.log.open("a", buffering=1, encoding="utf-8", errors="surrogateescape")
    start = time.monotonic()

    def note(text: str) -> None:
        log.write(f"{time.monotonic() - start:.3f} {text}\n")

    window.store.problem_found.connect(lambda message: note(f"problem {message}"))
    done = 0

    def paint() -> None:
        nonlocal done
        index = args.first_cell + done
        x, y = cell_origin(index)
        editor = window.editor
        if editor.begin_edit("brush"):
            editor.paint_segment(QPointF(x + 2, y + 2), QPointF(x + 4, y + 2), 1)
            editor.end_edit()
            note(f"stroke {index}")
        else:
            note(f"refused {index}")
        done += 1
        if done >= args.strokes:
            timer.stop()
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(paint)

    def opened(loaded) -> None:
        note(f"ready {loaded.path.name}")
        window.tool_state.set_brush_radius(1.0)
        window.tool_state.set_class(1)
        if not timer.isActive():
            timer.start(round(args.interval * 1000))

    window.state.image_opened.connect(opened)
    window.state.slide_opened.connect(opened)
    window.session.open_folder(args.folder)
    app.exec()


if __name__ == "__main__":
    main()
