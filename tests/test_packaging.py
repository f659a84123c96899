"""A non-editable install holds every module and the bundled sample project."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("seggui-*.whl")
    return built


def test_wheel_holds_every_module_and_the_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        path.relative_to(ROOT).as_posix()
        for package in ("model", "seggui")
        for path in (ROOT / package).rglob("*.py")
    }
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    sample = {
        "seggui/resources/" + path.relative_to(ROOT / "resources").as_posix()
        for folder in ("sample", "icons")
        for path in (ROOT / "resources" / folder).rglob("*")
        if path.is_file()
    }
    assert sample and sample <= names, f"sample or icon files missing: {sorted(sample - names)}"
    assert "main.py" in names


def test_installed_app_finds_its_sample(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
    )
    probe = (
        "from seggui.app import ICON, SAMPLE_PROJECT as s; assert ICON.is_file(), ICON; print(s); "
        "print(sorted(p.name for p in s.iterdir()))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path, env=env
    ).stdout
    location, listing = out.splitlines()
    assert Path(location).is_relative_to(target)
    assert "seggui_project.json" in listing and "masks" in listing and "cells_01.png" in listing
