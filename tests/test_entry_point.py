"""The product as it is started: ``python main.py`` and ``python main.py FOLDER`` in a process of
their own, and every command the README shows, run as it is written on data made here. A
traceback or an error in what they print fails the test (for several sessions the first command
opened an empty window while every test of the parts passed)."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from model.classes import default_classes
from model.storage.imageio import write_mask
from tests.synthetic import shapes_image

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {
    "torchrun": "needs several processes or machines with GPUs (tests/model/test_distributed.py "
    "runs the same training with two CPU processes)",
}
"""README commands that cannot run here, and why."""


def app_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a new user's first start: no display, fresh data and settings folders."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "data-home"),
        XDG_CONFIG_HOME=str(tmp_path / "config-home"),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_window(args: list[str], env: dict[str, str], until: str, timeout: float = 90) -> str:
    """Start ``python main.py ARGS``, read what it prints until a line holds ``until``, then
    end it; everything it printed. A window that never gets there fails with its output."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    said: list[str] = []
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line is None:
                pytest.fail(f"main.py ended (exit {process.wait()}) before '{until}':\n{''.join(said)}")
            said.append(line)
            if until in line:
                break
    except queue.Empty:
        pytest.fail(f"no '{until}' within {timeout} s:\n{''.join(said)}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    return "".join(said)


def assert_clean(output: str) -> None:
    problems = [line for line in output.splitlines() if re.search(r"Traceback|Error\b|ERROR|WARNING", line)]
    assert not problems, output


def test_python_main_py_opens_the_sample_and_shows_its_first_image(tmp_path):
    output = run_window([], app_env(tmp_path), until="on screen")
    assert "opened" in output and "sample: 6 images" in output and "cells_01.png on screen" in output
    assert_clean(output)
    assert (tmp_path / "data-home" / "SegGUI" / "SegGUI" / "sample" / "seggui_project.json").is_file()


def test_python_main_py_folder_opens_that_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(shapes_image(rng, 48)[0]).save(folder / f"img{i}.png")
    output = run_window([str(folder)], app_env(tmp_path), until="on screen")
    assert f"opened {folder}: 2 images" in output and "img0.png on screen" in output
    assert_clean(output)


def test_a_mistyped_command_is_refused_by_the_process(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "trian"],
        cwd=ROOT,
        env=app_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "unknown command 'trian' (did you mean train?)" in done.stderr


# -- the README's commands, as written ---------------------------------------------------------------------
def readme_commands() -> list[str]:
    """Every command of the README's bash blocks: continued lines joined, and lines inside an
    open quotation joined as the shell joins them; comments left out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        pending = ""
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending = f"{pending}\n{line}" if pending else line.strip()
            try:
                shlex.split(pending)
            except ValueError:  # a quotation goes on on the next line
                continue
            commands.append(pending)
            pending = ""
    return commands


def cli_commands() -> list[str]:
    """The README's commands of the program itself (``python main.py VERB``)."""
    return [c for c in readme_commands() if c.startswith("python main.py ") and len(c.split()) > 2]


def _write_readme_data(root: Path) -> None:
    """What the README's commands name, made small: data/images with data/masks (background and
    membrane), new_images, a labelme folder, a slide with its label TIFF, a slide to predict."""
    rng = np.random.default_rng(1)
    classes = default_classes(2)
    for folder in ("data/images", "data/masks", "new_images", "labelme_folder"):
        (root / folder).mkdir(parents=True)
    for i in range(3):
        image, mask = shapes_image(rng, 64)
        Image.fromarray(image).save(root / "data/images" / f"img{i}.png")
        write_mask(root / "data/masks" / f"img{i}.png", (mask > 0).astype(np.uint8), classes)
        Image.fromarray(image).save(root / "new_images" / f"new{i}.png")
    labelme = {
        "version": "5.4.1",
        "imagePath": "img0.png",
        "imageHeight": 64,
        "imageWidth": 64,
        "shapes": [
            {"label": "membrane", "points": [[5, 5], [40, 5], [40, 40]], "shape_type": "polygon", "flags": {}}
        ],
    }
    (root / "labelme_folder" / "img0.json").write_text(json.dumps(labelme))
    slide = np.concatenate([shapes_image(rng, 64)[0] for _ in range(6)], axis=1)
    slide = np.concatenate([slide] * 4, axis=0)  # 256 x 384, grey: the train command's model reads it
    options = {"tile": (64, 64), "photometric": "minisblack", "compression": "zlib"}
    for name in ("slide.tif", "slide.svs.tif"):
        with tifffile.TiffWriter(root / name) as tif:
            tif.write(slide, subifds=1, **options)
            tif.write(slide[::2, ::2], subfiletype=1, **options)
    labels = np.zeros(slide.shape, np.uint8)
    labels[:64, :128], labels[64:128, :128] = 1, 2
    tifffile.imwrite(root / "labels.tif", labels, tile=(64, 64), photometric="minisblack")


def test_every_command_the_readme_shows_runs_as_written_in_its_order(tmp_path):
    """As a user follows the README: train writes model.pt, which the next commands use."""
    root = tmp_path / "work"
    _write_readme_data(root)
    for command in cli_commands():
        argv = shlex.split(command)
        done = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *argv[2:]],
            cwd=root,
            env=app_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{command}\n{output}"
        assert "Traceback" not in output and "error:" not in output, f"{command}\n{output}"


def test_the_readme_shows_commands_and_says_why_any_is_not_run():
    commands = readme_commands()
    verbs = {c.split()[2] for c in cli_commands()}
    assert {"train", "predict", "evaluate", "export", "import", "train-slide", "predict-slide"} <= verbs
    shell = [c for c in commands if c.startswith("mkdir -p IMAGES/masks")]
    others = [c for c in commands if not c.startswith(("python main.py ", "pip install", "mkdir -p IMAGES"))]
    assert len(shell) == 1 and all(c.split()[0] in NOT_RUN for c in others), others


def test_the_readme_recipe_for_cellpose_masks_makes_masks_of_one_class(tmp_path):
    (recipe,) = [c for c in readme_commands() if c.startswith("mkdir -p IMAGES/masks")]
    images = tmp_path / "IMAGES"
    images.mkdir()
    cells = np.zeros((20, 30), np.uint16)
    cells[2:8, 2:8], cells[10:18, 12:25] = 1, 300  # Cellpose numbers each cell
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(images / "a.png")
    Image.fromarray(cells).save(images / "a_cp_masks.png")
    done = subprocess.run(["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.asarray(Image.open(images / "masks" / "a.png")), (cells > 0).astype(np.uint8))
