"""The layering of pyproject.toml's import-linter contracts holds: widgets -> canvas ->
controllers -> state -> rendering, and the engine (model/) imports neither the app nor Qt."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout, done.stdout


def _classes(package: Path):
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                yield path, node


def test_no_class_of_the_app_takes_its_methods_from_a_stateless_base():
    """No mixins: every base class of ours a class in seggui/ derives from has an __init__ of its
    own (state it sets up), as a composed part would."""
    ours = {node.name: node for _, node in _classes(ROOT / "seggui")}

    def has_init(node: ast.ClassDef) -> bool:
        return any(isinstance(item, ast.FunctionDef) and item.name == "__init__" for item in node.body)

    mixins = [
        f"{path.relative_to(ROOT)}: {node.name}({base.id})"
        for path, node in _classes(ROOT / "seggui")
        for base in node.bases
        if isinstance(base, ast.Name) and base.id in ours and not has_init(ours[base.id])
    ]
    assert mixins == []


def _signals(path: Path) -> set[str]:
    """The names of the signals the classes of ``path`` declare."""
    return {
        target.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "Signal"
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_state_signals_are_emitted_only_by_their_own_state_object():
    """A signal of a state object is emitted in its own module, never from outside (a module
    that declares a signal of the same name emits its own)."""
    state = ROOT / "seggui" / "state"
    signals = set().union(*(_signals(path) for path in state.glob("*.py")))
    outside = []
    for path in (ROOT / "seggui").rglob("*.py"):
        if state in path.parents:
            continue
        others = signals - _signals(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            emitted = node.func.value
            if node.func.attr == "emit" and isinstance(emitted, ast.Attribute) and emitted.attr in others:
                outside.append(f"{path.relative_to(ROOT)}:{node.lineno}: {emitted.attr}.emit")
    assert signals and outside == []


def test_the_main_window_only_builds_and_wires():
    lines = (ROOT / "seggui" / "widgets" / "main_window.py").read_text().splitlines()
    assert len(lines) < 250, len(lines)
