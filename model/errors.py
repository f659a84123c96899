"""Errors the engine raises; each names the file and what was expected."""

from __future__ import annotations

import re

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


class SegGUIError(Exception):
    """Base class for every error the engine reports to a user."""


class ImageReadError(SegGUIError):
    """An image or mask file could not be read or decoded."""


class MaskError(SegGUIError):
    """A mask does not fit its image or holds values the project does not know."""


class DatasetError(SegGUIError):
    """A data folder is missing, empty or has nothing to train on."""


class ModelFileError(SegGUIError):
    """A file is not a SegGUI model, or does not fit the project."""


class TrainingCancelled(SegGUIError):
    """Training stopped because the caller asked it to."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none (a
    truncated file often raises an exception with an empty message). Terminal escape codes and
    control characters (bold text in torch's and other libraries' messages) are removed."""
    text = _TERMINAL_CODES.sub("", str(exc)).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__
