"""Reading JSON files someone else may have written: every way they can be wrong, one message."""

from __future__ import annotations

import json
import os
from pathlib import Path

from model.errors import SegGUIError


def read_json(path: str | os.PathLike[str], what: str, error: type[SegGUIError] = SegGUIError) -> object:
    """The JSON value in ``path``; ``error`` naming the file as ``what`` if it cannot be read,
    is not UTF-8 JSON, or nests too deeply to parse (a file made to exhaust the stack)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    except RecursionError:
        raise error(f"{path}: cannot read {what} (it nests too deeply to be one)") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise error(f"{path}: cannot read {what} (not valid JSON: {exc})") from exc


def read_json_object(
    path: str | os.PathLike[str], what: str, error: type[SegGUIError] = SegGUIError
) -> dict[str, object]:
    """``read_json`` for a file whose top level must be a JSON object."""
    data = read_json(path, what, error)
    if not isinstance(data, dict):
        raise error(f"{path}: cannot read {what} (its top level is a {_kind(data)}, not a JSON object)")
    return data


def _kind(value: object) -> str:
    return {list: "list", str: "text", bool: "true/false", type(None): "null"}.get(type(value), "number")
