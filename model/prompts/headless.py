"""``seggui prompt``: one object's mask from clicks and a box, written into the image's mask as
the window writes it (the composite the window shows by default is what the model sees; Paint
Only Unlabelled Pixels and nodata hold), for scripts and tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from model.classes import IGNORE_INDEX, default_classes
from model.composite import channel_statistics, composite, default_views
from model.errors import SegGUIError
from model.prompts.catalogue import DEFAULT_MODEL, PROMPT_MODELS, download, is_cached, model_info
from model.prompts.embeddings import EmbeddingCache
from model.prompts.prompter import EXCLUDE, INCLUDE, Prompter, PromptModel, Prompts, prompt_window
from model.storage.imageio import read_image, read_mask, write_mask
from model.storage.mask_names import MaskNames
from model.storage.nodata import nodata_pixels
from model.storage.project import PROJECT_FILE, load_project
from model.storage.slide import opens_as_slide

CACHE_FOLDER = Path(".seggui-cache") / "embeddings"
"""A project's embeddings on disk, inside its folder (the window's place too)."""


def _numbers(text: str, count: int, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"{text!r}: a {what} is {count} numbers separated by commas")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    prompt = sub.add_parser("prompt", help="paint one object from clicks or a box (a SAM-family model)")
    prompt.add_argument("--image", required=True, type=Path, help="the image")
    for flag, meaning in (("--point", "x,y inside the object"), ("--exclude", "x,y to leave out")):
        point = lambda t: _numbers(t, 2, "point")  # noqa: E731
        prompt.add_argument(flag, action="append", default=[], type=point, metavar="X,Y", help=meaning)
    prompt.add_argument(
        "--box", type=lambda t: _numbers(t, 4, "box"), metavar="X0,Y0,X1,Y1", help="a box around the object"
    )
    prompt.add_argument("--class", dest="class_index", required=True, type=int, help="the class painted")
    prompt.add_argument("--masks", type=Path, help="mask folder (default: the image's folder/masks)")
    prompt.add_argument("--only-unlabelled", action="store_true", help="leave labelled pixels as they are")
    prompt.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        choices=[info.name for info in PROMPT_MODELS],
        help="the prompt model",
    )


def prompt_command(args: argparse.Namespace) -> int:
    image: Path = args.image
    if not image.is_file():
        raise SegGUIError(f"{image}: no such image (--image)")
    if opens_as_slide(image):
        raise SegGUIError(f"{image}: a slide; prompt on slides in the window (the tool O)")
    prompts = Prompts(
        [tuple(p) for p in args.point] + [tuple(p) for p in args.exclude],
        [INCLUDE] * len(args.point) + [EXCLUDE] * len(args.exclude),
        tuple(args.box) if args.box else None,
    )
    if prompts.empty or (not args.point and args.box is None):
        raise SegGUIError("give at least one --point inside the object or a --box around it")
    folder = image.parent
    mask_dir = args.masks or folder / "masks"
    mask_path = MaskNames([image]).mask_path(image, mask_dir)
    existing = read_mask(mask_path) if mask_path.exists() else None
    if (folder / PROJECT_FILE).exists():
        classes = list(load_project(folder).classes)
    else:  # no project yet: classes 0..N-1 for what the mask holds and the class painted
        held = existing[existing != IGNORE_INDEX] if existing is not None else np.zeros(0, np.uint8)
        classes = default_classes(max(2, args.class_index + 1, int(held.max(initial=0)) + 1))
    if not 0 <= args.class_index < len(classes):
        raise SegGUIError(f"--class {args.class_index}: the project's classes are 0..{len(classes) - 1}")
    raw = read_image(image)
    height, width = raw.shape[:2]
    for x, y in prompts.points:
        if not (0 <= x < width and 0 <= y < height):
            raise SegGUIError(f"the point {x:g},{y:g} lies outside {image.name} ({width} x {height})")
    if not is_cached(args.model):
        print(f"downloading {model_info(args.model).title} (first use)...", file=sys.stderr)
        download(args.model)
    limits, _ = channel_statistics(raw, nodata_pixels(image, raw))
    views = default_views(limits)
    window = prompt_window((height, width), *prompts.first())
    part = raw[window.y : window.y + window.height, window.x : window.x + window.width]
    prompter = Prompter(PromptModel(args.model), EmbeddingCache(folder / CACHE_FOLDER))
    found = prompter.proposal(prompter.embedding(composite(part, views)), window, prompts)
    if existing is not None:
        mask = read_mask(mask_path, shape=(height, width), num_classes=len(classes))
    else:
        mask = np.full((height, width), IGNORE_INDEX, np.uint8)
    where = np.zeros((height, width), bool)
    where[window.y : window.y + window.height, window.x : window.x + window.width] = found
    if args.only_unlabelled:
        where &= mask == IGNORE_INDEX
    nodata = nodata_pixels(image, raw)
    if nodata is not None:
        where &= ~nodata
    mask[where] = args.class_index
    mask_dir.mkdir(parents=True, exist_ok=True)
    write_mask(mask_path, mask, list(classes))
    name = classes[args.class_index].name
    print(f"{mask_path}: {int(where.sum()):,} pixels of class {args.class_index} ({name})")
    return 0
