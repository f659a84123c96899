"""Numbers in a user's words: "1 mask", "3 masks"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 mask", "0 masks", "3 masks" (``plural`` for nouns that do not add an s)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
