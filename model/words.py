"""Numbers, times and scores in a user's words: "1 mask", "3 masks"; "1:30" and "2 min"; what a
score is measured on."""

from __future__ import annotations

import re

TO_REPLACE = "to replace it: --overwrite, or 'Replace masks the project already has' in the window"
"""How to replace a mask an import would not overwrite, on the command line and in the window."""


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 mask", "0 masks", "3 masks" (``plural`` for nouns that do not add an s)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def scored_on(on_training_strokes: bool) -> str:
    """What a model's score is agreement with: strokes held out from training, or, with too few
    images to hold some out, the strokes it trains on (a perfect score there proves little)."""
    return "the training strokes (nothing held out)" if on_training_strokes else "held-out strokes"


def scoring_said(scorings: int, images: int, on_training_strokes: bool, last_at: int, steps: int) -> str:
    """What a run scored its weights on and when: "scored 12 times on 73 held-out images, the
    last after the last step"."""
    if scorings == 0:
        return "not scored (stopped before its first scoring)"
    what = (
        f"the training strokes of {counted(images, 'image')} (nothing held out)"
        if on_training_strokes
        else counted(images, "held-out image")
    )
    when = "after the last step" if last_at == steps else f"after step {last_at} of {steps}"
    if scorings == 1:
        return f"scored on {what} {when}"
    return f"scored {scorings} times on {what}, the last {when}"


_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2})\s*$")
_UNIT = re.compile(r"^\s*(\d+(?:[.,]\d*)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\s*$", re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600}
_UNIT_WORDS = ("secs", "seconds", "mins", "minutes", "hours")
_TYPING = re.compile(r"^\s*(?:\d+(?:[.,]\d*)?|\d*:\d*(?::\d*)?)?\s*([a-z]*)\s*$", re.I)


def could_become_duration(text: str) -> bool:
    """Whether more typing can still make ``text`` a duration (digits, a clock, a unit begun)."""
    typing = _TYPING.match(text)
    return typing is not None and any(word.startswith(typing[1].lower()) for word in _UNIT_WORDS)


def parse_duration(text: str) -> int | None:
    """Seconds in ``text`` (``1:30``, ``1:02:03``, ``90 s``, ``1.5 min``, ``2 h``; a bare number
    is minutes, as the window's time field says), or None if it is not a duration."""
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = int(clock[1] or 0), int(clock[2]), int(clock[3])
        return hours * 3600 + minutes * 60 + seconds if seconds < 60 else None
    unit = _UNIT.match(text)
    if unit:
        value = float(unit[1].replace(",", "."))
        return round(value * _SECONDS[(unit[2] or "m")[0].lower()])
    return None
