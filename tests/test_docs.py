"""The guide cannot go stale: it builds strictly (a broken link or a missing page fails), its
command-line reference is the parser's own help, every picture it shows is made by its
screenshot script, and the README stays a front page with CI's own commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def run(*args: str) -> None:
    """``python ARGS`` in the repository, offscreen, as a contributor runs it; it must succeed."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_guide_builds_strictly_with_the_parsers_help_as_its_reference(tmp_path):
    from model.cli.args import build_parser

    run("-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site"))
    site = tmp_path / "site"
    pages = {p.parent.name for p in site.rglob("index.html")}
    assert {"getting-started", "microscopy", "remote-sensing", "pathology", "photographs"} <= pages
    reference = (site / "cli-reference" / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", reference).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    parser = build_parser()
    commands = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    for sub in commands.choices.values():
        for line in sub.format_help().splitlines():
            assert line.strip() in text, line  # every line of every --help, as printed


def _pictures(text: str) -> set[str]:
    return set(re.findall(r"\]\((?:docs/)?([\w.-]+\.png)\)", text))


def test_every_picture_shown_is_made_by_the_screenshot_script():
    sys.path.insert(0, str(DOCS))
    try:
        from screenshots import SHOTS
    finally:
        sys.path.remove(str(DOCS))
    shown = _pictures((ROOT / "README.md").read_text())
    for page in DOCS.glob("*.md"):
        shown |= _pictures(page.read_text())
    made = {f"{name}.png" for name in SHOTS}
    assert shown == made, (shown - made, made - shown)
    assert {p.name for p in DOCS.glob("*.png")} == made  # and no picture is left over


def test_the_screenshot_script_makes_a_picture_of_the_real_window(tmp_path):
    run(str(DOCS / "screenshots.py"), "--only", "labelling", "--out", str(tmp_path))
    picture = Image.open(tmp_path / "labelling.png")
    assert picture.size == (1400, 900)  # the whole window
    colours = picture.convert("RGB").getcolors(1 << 16)
    assert any(
        abs(r - 40) < 30 and abs(g - 40) < 30 and b > 150 for _, (r, g, b) in colours
    )  # background paint


def test_the_readme_is_a_front_page_with_the_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"```bash\n{ci}\n```" in readme  # the test command, exactly as CI runs it
    assert "```bash\npip install -e . && python main.py\n```" in readme
    for link in re.findall(r"\]\((docs/[\w.-]+\.md)(?:#[\w-]+)?\)", readme):
        assert (ROOT / link).is_file(), link
