"""Decides between the headless CLI and the labelling window, importing as little as possible."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from model.cli import COMMANDS
from model.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    """``seggui COMMAND ...`` runs the CLI; ``seggui [FOLDER]`` opens the labelling window."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in COMMANDS or args[0].startswith("-")):
        return cli_main(args)
    from seggui.app import run

    return run(args[0] if args else None)
