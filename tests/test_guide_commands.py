"""Every shell command the README and the guide (``docs/*.md``) show, run as written, page by
page in the order the page gives them, on small data made here with the names the pages use.
A command no test runs fails the last test here, unless it says why it cannot run.

The program's commands (``python main.py VERB ...``) run in this process through the entry point
``main.py`` calls (``seggui.launcher.main``), in the folder the page's commands are typed in;
``python main.py`` and ``python main.py FOLDER`` are started as processes in
``tests/test_entry_point.py``; the guide's build and its screenshot script in
``tests/test_docs.py``."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from model.classes import default_classes
from model.cli import COMMANDS
from model.storage.imageio import write_mask
from model.storage.project import Project, save_project
from seggui import launcher
from tests.seggui.conftest import write_svs
from tests.synthetic import shapes_image

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

NOT_RUN = {
    "torchrun": "needs several processes with GPUs or several machines; tests/model/test_distributed.py "
    "runs the same training in two CPU processes",
}
RUN_ELSEWHERE = {
    "pip install -e . && python main.py": "tests/test_entry_point.py starts python main.py as a process",
    "pip install -e '.[test]' && QT_QPA_PLATFORM=offscreen python -m pytest": "this is the test run itself",
    "pip install -e '.[docs]' && mkdocs build --strict": "tests/test_docs.py builds the guide strictly",
    "QT_QPA_PLATFORM=offscreen python docs/screenshots.py": "tests/test_docs.py makes a screenshot",
    "mkdir -p IMAGES/masks": "test_the_cellpose_recipe_makes_masks_of_one_class, below",
}


def page_commands(page: Path) -> list[str]:
    """The commands of ``page``'s bash blocks: continued lines joined, lines inside an open
    quotation joined as the shell joins them, comments left out."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
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


def program_commands(page: Path) -> list[list[str]]:
    """``page``'s commands of the program itself (``python main.py VERB ...``), as argv."""
    argvs = [shlex.split(c)[2:] for c in page_commands(page) if c.startswith("python main.py ")]
    return [argv for argv in argvs if argv and argv[0] in COMMANDS]


def _shapes(root: Path, folder: str, masks: str | None, count: int, classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (root / folder).mkdir(parents=True, exist_ok=True)
    if masks:
        (root / masks).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image, mask = shapes_image(rng, 64)
        Image.fromarray(image).save(root / folder / f"img{i}.png")
        if masks:
            write_mask(root / masks / f"img{i}.png", np.minimum(mask, classes - 1), default_classes(classes))


def write_guide_data(root: Path) -> None:
    """What the pages' commands name, made small."""
    rng = np.random.default_rng(1)
    _shapes(root, "data/images", "data/masks", 3, 2, 1)
    _shapes(root, "new_images", None, 2, 2, 2)
    (root / "labelme_folder").mkdir()
    shape = {"label": "membrane", "points": [[5, 5], [40, 5], [40, 40]], "shape_type": "polygon", "flags": {}}
    labelme = {
        "version": "5.4.1",
        "imagePath": "img0.png",
        "imageHeight": 64,
        "imageWidth": 64,
        "shapes": [shape],
    }
    (root / "labelme_folder" / "img0.json").write_text(json.dumps(labelme))
    # slides: grey (the train command's model reads them) and an SVS of colour tissue
    slide = np.concatenate([np.concatenate([shapes_image(rng, 64)[0] for _ in range(6)], axis=1)] * 4)
    options = {"tile": (64, 64), "photometric": "minisblack", "compression": "zlib"}
    for name in ("slide.tif", "slide.svs.tif"):
        with tifffile.TiffWriter(root / name) as tif:
            tif.write(slide, subifds=1, **options)
            tif.write(slide[::2, ::2], subfiletype=1, **options)
    labels = np.zeros(slide.shape, np.uint8)
    labels[:64, :128], labels[64:128, :128] = 1, 2
    tifffile.imwrite(root / "labels.tif", labels, tile=(64, 64), photometric="minisblack")
    write_svs(root / "biopsy.svs", np.stack([slide, slide // 2, 255 - slide], axis=-1), tile=64)
    tifffile.imwrite(root / "biopsy-labels.tif", labels, tile=(64, 64), photometric="minisblack")
    # stacks: 16-bit ImageJ z-stacks, a few planes labelled
    (root / "stacks" / "masks").mkdir(parents=True)
    for name in ("nuclei", "cells"):
        planes, masks = zip(*(shapes_image(rng, 48) for _ in range(4)))
        stack = (np.stack(planes).astype(np.uint16) * 100).astype(np.uint16)
        tifffile.imwrite(root / "stacks" / f"{name}.tif", stack, imagej=True, metadata={"axes": "ZYX"})
        write_mask(root / "stacks" / "masks" / f"{name}.png", masks[0], default_classes(3))
        write_mask(root / "stacks" / "masks" / f"{name}.z002.png", masks[1], default_classes(3))
    # scenes: 3-band 16-bit GeoTIFFs with nodata 0 around the footprint
    (root / "scenes" / "masks").mkdir(parents=True)
    geo = [
        (33550, 12, 3, (10.0, 10.0, 0.0), True),
        (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 5600000.0, 0.0), True),
        (34735, 3, 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32632), True),
        (42113, 2, 0, "0", True),
    ]
    for i in range(2):
        image, mask = shapes_image(rng, 64)
        bands = np.stack([image, image // 2, 255 - image], axis=-1).astype(np.uint16) * 40 + 1
        bands[:, :8] = 0
        tifffile.imwrite(root / "scenes" / f"scene{i}.tif", bands, photometric="rgb", extratags=geo)
        write_mask(root / "scenes" / "masks" / f"scene{i}.png", mask, default_classes(3))
    save_project(Project(root / "scenes", classes=tuple(default_classes(3))))
    # street scenes: colour frames, 11 classes and 11 as void
    for split in ("train", "val"):
        (root / "street" / split).mkdir(parents=True)
        (root / "street" / f"{split}annot").mkdir()
        for i in range(2):
            image, mask = shapes_image(rng, 64)
            Image.fromarray(np.stack([image, 255 - image, image // 2], axis=-1)).save(
                root / "street" / split / f"f{i}.png"
            )
            annot = np.where(mask == 0, 11, mask * 3).astype(np.uint8)  # void, and two street classes
            Image.fromarray(annot).save(root / "street" / f"{split}annot" / f"f{i}.png")


def _minutes_as_seconds(monkeypatch) -> None:
    """A time limit trains until it ends: the pages' limits (a minute to ten) run here as as
    many seconds, the run's clock and schedule unchanged otherwise."""
    from model.training import scoring_pace

    real_init = scoring_pace.TimeLimit.__init__

    def scaled(self, budget_s, started):
        real_init(self, None if budget_s is None else budget_s / 60, started)

    monkeypatch.setattr(scoring_pace.TimeLimit, "__init__", scaled)


@pytest.mark.parametrize("page", [p for p in PAGES if program_commands(p)], ids=lambda p: p.name)
def test_the_programs_commands_of_each_page_run_as_written(
    page, tmp_path, monkeypatch, capsys, stand_in_as_default
):
    """(``prompt`` runs with the stand-in prompt model, served from 127.0.0.1.)"""
    write_guide_data(tmp_path)
    monkeypatch.chdir(tmp_path)  # where the page's commands are typed
    _minutes_as_seconds(monkeypatch)
    for argv in program_commands(page):
        code = launcher.main(argv)
        said = capsys.readouterr()
        output = said.out + said.err
        assert code == 0, f"{page.name}: python main.py {shlex.join(argv)}\n{output}"
        assert "Traceback" not in output and "error:" not in output, f"{shlex.join(argv)}\n{output}"


def test_the_cellpose_recipe_makes_masks_of_one_class(tmp_path):
    (recipe,) = [c for page in PAGES for c in page_commands(page) if c.startswith("mkdir -p IMAGES/masks")]
    images = tmp_path / "IMAGES"
    images.mkdir()
    cells = np.zeros((20, 30), np.uint16)
    cells[2:8, 2:8], cells[10:18, 12:25] = 1, 300  # Cellpose numbers each cell
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(images / "a.png")
    Image.fromarray(cells).save(images / "a_cp_masks.png")
    done = subprocess.run(["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.asarray(Image.open(images / "masks" / "a.png")), (cells > 0).astype(np.uint8))


def test_every_command_shown_is_run_by_a_test_or_says_why_not():
    """A command that matches no rule here (a new kind of command in the guide) fails."""
    unexplained = []
    verbs = set()
    for page in PAGES:
        for command in page_commands(page):
            argv = shlex.split(command)
            if command.startswith("python main.py ") and len(argv) > 2 and argv[2] in COMMANDS:
                verbs.add(argv[2])
            elif argv[0] in NOT_RUN or any(command.startswith(known) for known in RUN_ELSEWHERE):
                continue
            else:
                unexplained.append(f"{page.name}: {command}")
    assert not unexplained, unexplained
    assert verbs == set(COMMANDS)  # the guide shows every command of the program
