"""Files that ship with SegGUI: the icon and the sample project."""

from __future__ import annotations

from pathlib import Path


def resource_path(*parts: str) -> Path:
    """A bundled resource: under ``resources/`` in a checkout, ``seggui/resources`` when installed."""
    in_checkout = Path(__file__).resolve().parents[1] / "resources"
    root = in_checkout if in_checkout.is_dir() else Path(__file__).resolve().parent / "resources"
    return root.joinpath(*parts)


SAMPLE_PROJECT = resource_path("sample")
ICON = resource_path("icons", "seggui.png")
