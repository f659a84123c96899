"""The command line: ``seggui train|predict|evaluate|export|...`` without a window."""

from model.cli.commands import COMMANDS, main

__all__ = ["COMMANDS", "main"]
