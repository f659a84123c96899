"""Decides between the headless CLI and the labelling window, importing as little as possible."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from model.cli import COMMANDS
from model.cli import main as cli_main


def unknown_word(word: str) -> str | None:
    """Why ``word`` is neither a command nor something to open ("unknown command 'trian' (did
    you mean train?)"), or None when it is a path the window can open."""
    if Path(word).exists():
        return None
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if close:
        return f"unknown command '{word}' (did you mean {close[0]}?)"
    return (
        f"'{word}' is neither a command ({', '.join(COMMANDS)}) nor a folder that exists; "
        "seggui --help lists the commands, seggui FOLDER opens a folder of images"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``seggui COMMAND ...`` runs the CLI; ``seggui [FOLDER]`` opens the labelling window."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in COMMANDS or args[0].startswith("-")):
        return cli_main(args)
    if args:
        problem = unknown_word(args[0])
        if problem is not None:
            print(f"seggui: {problem}", file=sys.stderr)
            return 2
    from seggui.app import run

    return run(args[0] if args else None)
