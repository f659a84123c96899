from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_and_cli_import_no_qt():
    code = (
        "import sys, model.cli, model.training.train, model.prediction.predict, model.networks.export;"
        "import seggui.launcher;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_engine_never_imports_the_app():
    """model/ is the engine; seggui/ is built on it, never the other way round."""
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in (ROOT / "model").rglob("*.py")
        for line in path.read_text().splitlines()
        if line.lstrip().startswith(("import seggui", "from seggui"))
    ]
    assert offenders == []


def test_no_qt_import_statement_in_model():
    offenders = [
        str(path)
        for path in (ROOT / "model").rglob("*.py")
        for line in path.read_text().splitlines()
        if line.lstrip().startswith(
            ("import PySide", "from PySide", "import PyQt", "from PyQt", "import qtpy")
        )
    ]
    assert offenders == []


def test_window_code_does_not_import_torch():
    """The window must appear before the 6 s torch import; nothing on its start-up path needs it."""
    code = (
        "import sys, seggui.launcher, seggui.app, seggui.widgets.main_window;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_the_app_module_imports_the_main_window():
    """Controllers and panels follow ``AppState``; the window builds and wires them, and only
    ``seggui.app`` (which starts it) imports it."""
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "seggui").rglob("*.py")
        if path.name not in ("app.py", "main_window.py")
        for line in path.read_text().splitlines()
        if "seggui.widgets.main_window" in line and line.lstrip().startswith(("import", "from"))
    ]
    assert offenders == []


def test_modules_stay_small():
    """One job per module: none over 650 lines (the aim is 400; see the README's layout)."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in ("model", "seggui")
        for path in (ROOT / package).rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 650} == {}
