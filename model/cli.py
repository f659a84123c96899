"""Command-line interface: ``seggui train | predict | evaluate | export`` (no Qt needed)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from model.classes import ClassInfo, default_classes, default_color
from model.config import AUTO_PRESET, PRESET_INFO
from model.errors import SegGUIError
from model.import_labels import IMPORT_KINDS
from model.label_formats import FORMATS as LABEL_FORMATS

log = logging.getLogger("seggui")

COMMANDS = ("train", "predict", "evaluate", "export", "import")
TILE_REPORT_S = 2.0
"""A large image being predicted says how many of its tiles are done this often."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seggui",
        description="SegGUI: label images for semantic segmentation with a U-Net in the loop. "
        "Without a command (or with a folder) the labelling window opens; the commands below run headless.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train or fine-tune a U-Net on an image and mask folder")
    train.add_argument("--images", required=True, type=Path, help="folder of images")
    train.add_argument("--masks", type=Path, help="folder of index-PNG masks (default: IMAGES/masks)")
    train.add_argument("--out", required=True, type=Path, help="model file to write (.pt)")
    train.add_argument(
        "--classes",
        help="comma-separated class names, background first (default: from the largest mask value)",
    )
    train.add_argument("--resume", type=Path, help="fine-tune from this model file")
    train.add_argument(
        "--preset",
        help="network: "
        + "; ".join(info.title for info in PRESET_INFO.values())
        + f" (default {AUTO_PRESET})",
    )
    train.add_argument(
        "--start-from",
        default="imagenet",
        metavar="imagenet|scratch|FILE",
        help="a new model's starting weights: the encoder's ImageNet weights (default; from the installed "
        "weights package, timm's cache, or downloaded), random (scratch), or a file: a SegGUI model or "
        "weights for the preset's encoder",
    )
    train.add_argument("--epochs", type=int)
    train.add_argument("--steps", type=int, dest="max_steps", help="stop after this many steps")
    train.add_argument(
        "--time-budget",
        type=float,
        dest="time_budget_s",
        help="stop after SECONDS of wall-clock time (validation included; loading the images not)",
    )
    train.add_argument("--batch-size", type=int)
    train.add_argument("--crop-size", type=int)
    train.add_argument("--lr", type=float, dest="learning_rate")
    train.add_argument("--loss", choices=("ce+dice", "ce", "bce"))
    train.add_argument(
        "--class-balance",
        type=float,
        help="weight cross-entropy by (median / class pixels) ** VALUE: 0 none, 0.5 default, 1 full",
    )
    train.add_argument(
        "--encoder-warmup",
        type=float,
        help="share of the run a pretrained encoder stays frozen (default 0.5)",
    )
    train.add_argument("--threads", type=int, help="CPU threads (default: chosen by timing steps)")
    train.add_argument("--no-augment", action="store_false", dest="augment", default=None)
    train.add_argument(
        "--scale-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="random zoom of training crops, e.g. 0.8 1.25 (default: off)",
    )
    train.add_argument("--val-fraction", type=float)
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="auto (default), cuda, mps or cpu")
    train.add_argument("--workers", type=int, dest="num_workers", help="data-loading processes")

    predict = sub.add_parser("predict", help="predict masks for a folder (or one image)")
    predict.add_argument("--model", required=True, type=Path)
    predict.add_argument("--images", required=True, type=Path, help="folder of images, or one image")
    predict.add_argument("--out", required=True, type=Path, help="folder for the predicted masks")
    predict.add_argument(
        "--probabilities",
        action="store_true",
        help="also write class probabilities as <stem>.npy (float16, C x H x W)",
    )
    predict.add_argument("--tile", type=int, default=512)
    predict.add_argument("--overlap", type=int, default=48)
    predict.add_argument("--device", default="auto")

    evaluate = sub.add_parser("evaluate", help="per-class IoU and Dice of a model on labelled images")
    evaluate.add_argument("--model", required=True, type=Path)
    evaluate.add_argument("--images", required=True, type=Path)
    evaluate.add_argument("--masks", type=Path, help="default: IMAGES/masks")
    evaluate.add_argument("--device", default="auto")

    export = sub.add_parser("export", help="export masks (PNG, COCO, VOC, YOLO, labelme) or a model")
    export_sub = export.add_subparsers(dest="what", metavar="WHAT", required=True)
    export_model = export_sub.add_parser("model", help="export a trained model for other tools")
    export_model.add_argument("--model", required=True, type=Path)
    export_model.add_argument("--format", required=True, choices=("torchscript", "onnx"))
    export_model.add_argument("--out", required=True, type=Path)
    export_masks = export_sub.add_parser("masks", help="export a project's masks for other tools")
    export_masks.add_argument("--project", required=True, type=Path, help="the project (image) folder")
    export_masks.add_argument("--format", required=True, choices=LABEL_FORMATS)
    export_masks.add_argument("--out", required=True, type=Path, help="export folder")
    export_masks.add_argument(
        "--unlabelled", choices=("keep", "background"), default="keep", help="not-labelled pixels: 255 or 0"
    )
    export_masks.add_argument("--only-complete", action="store_true", help="only fully labelled images")
    export_masks.add_argument(
        "--include-predictions", action="store_true", help="use predictions for images without a mask"
    )
    export_masks.add_argument("--val-fraction", type=float, default=0.0, help="share listed in val.txt")
    export_masks.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    export_masks.add_argument("--polygons", action="store_true", help="COCO polygons instead of RLE")
    export_masks.add_argument("--overwrite", action="store_true", help="replace files already there")

    imp = sub.add_parser(
        "import", help="import labels (masks, colour masks, labelme, COCO, YOLO) into a project"
    )
    imp.add_argument("--project", required=True, type=Path, help="the project (image) folder")
    imp.add_argument("--from", dest="source", required=True, type=Path, help="folder or file to read")
    imp.add_argument("--kind", required=True, choices=IMPORT_KINDS)
    imp.add_argument("--overwrite", action="store_true", help="replace masks the project already has")
    return parser


def _classes_from_args(names: str | None, mask_dir: Path) -> list[ClassInfo]:
    if names:
        parts = [n.strip() for n in names.split(",") if n.strip()]
        if len(parts) < 2:
            raise SegGUIError("--classes needs at least two names, background first")
        return [ClassInfo(name, default_color(i)) for i, name in enumerate(parts)]
    from model.imageio import list_images, read_mask

    highest = 0
    if mask_dir.is_dir():
        for path in list_images(mask_dir):
            try:
                values = np.unique(read_mask(path))
            except SegGUIError as exc:
                log.warning("%s", exc)
                continue
            labelled = values[values != 255]
            if labelled.size:
                highest = max(highest, int(labelled.max()))
    return default_classes(max(2, highest + 1))


def _train(args: argparse.Namespace) -> int:
    from model import distributed
    from model.checkpoint import load_checkpoint
    from model.data import find_samples
    from model.device import choose_device
    from model.network_choice import resolve_preset
    from model.train import (
        EpochEnded,
        StepEnded,
        TrainingStarted,
        TrainSettings,
        train_from_folders,
    )
    from model.weights import WeightsError, initial_checkpoint

    mask_dir = args.masks or args.images / "masks"
    overrides = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(TrainSettings)
        if getattr(args, field.name, None) is not None
    }
    if "scale_range" in overrides:
        overrides["scale_range"] = tuple(overrides["scale_range"])
    settings = TrainSettings(**{"preset": AUTO_PRESET, **overrides})
    init = load_checkpoint(args.resume) if args.resume else None
    if init is None:
        name, why = resolve_preset(settings.preset, find_samples(args.images, mask_dir))
        settings = dataclasses.replace(settings, preset=name)
        if args.preset in (None, AUTO_PRESET):
            print(f"network: {name} ({why}; --preset chooses another)", file=sys.stderr)
    classes = _classes_from_args(args.classes, mask_dir) if args.classes or init is None else init.classes
    if init is None:
        try:
            progress = _download_progress()
            init = initial_checkpoint(settings.preset, classes, args.start_from, on_progress=progress)
        except WeightsError as exc:
            raise SegGUIError(f"{exc} (here: --start-from scratch or --start-from FILE)") from exc
        if init is not None:
            print(f"starting from {init.config.describe()}", file=sys.stderr)
    distributed.init_from_environment(choose_device(settings.device))
    quiet = distributed.rank() != 0
    tty = sys.stderr.isatty()

    def report(event: object) -> None:
        if quiet:
            return
        if isinstance(event, TrainingStarted):
            print(
                f"training on {event.device}: {event.train_images} images, "
                f"{event.val_images or 'no'} held out"
                f"{' (metrics on training pixels)' if event.validating_on_training_images else ''}, "
                f"{event.total_steps} steps",
                file=sys.stderr,
            )
        elif isinstance(event, StepEnded) and tty:
            print(
                f"\rstep {event.step} epoch {event.epoch} loss {event.loss:.4f} "
                f"{event.images_per_s:.1f} img/s {100 * event.progress:.0f}%",
                end="",
                file=sys.stderr,
            )
        elif isinstance(event, EpochEnded) and event.metrics is not None:
            dice = " ".join(f"{c.name}={d:.3f}" for c, d in zip(classes, event.metrics.dice))
            print(
                f"\repoch {event.epoch} step {event.step} loss {event.train_loss:.4f} "
                f"mIoU {event.metrics.mean_iou:.4f} Dice {dice}{' *' if event.best else ''} "
                f"({event.elapsed_s:.0f} s)",
                file=sys.stderr,
            )

    stop = threading.Event()
    try:
        result = train_from_folders(
            args.images,
            mask_dir,
            settings,
            classes,
            out_path=args.out,
            init=init,
            on_event=report,
            should_stop=stop.is_set,
            on_problem=lambda message: print(f"warning: skipped {message}", file=sys.stderr),
        )
    except KeyboardInterrupt:
        stop.set()
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()
    if not quiet:
        best = result.best_metrics
        print(f"saved {args.out} (best mIoU {best.mean_iou:.4f})" if best else f"saved {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from model.checkpoint import load_checkpoint
    from model.imageio import list_images
    from model.predict import Predictor
    from model.predict_folder import ImagePredicted, predict_folder

    checkpoint = load_checkpoint(args.model)
    predictor = Predictor(checkpoint, args.device, tile=args.tile, overlap=args.overlap)
    paths = [args.images] if args.images.is_file() else list_images(args.images)
    if not paths:
        raise SegGUIError(f"{args.images}: no images found")

    def report(done: ImagePredicted) -> None:
        print(
            f"[{done.index}/{done.total}] {done.image.name}: uncertainty {done.uncertainty:.4f} "
            f"({done.seconds:.2f} s)"
        )

    last_line = [time.monotonic()]

    def tiles(image: Path, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_line[0] >= TILE_REPORT_S and done < total:  # a large image: say it is moving
            print(f"  {image.name}: {done}/{total} tiles ({100 * done // total} %)", flush=True)
            last_line[0] = now

    result = predict_folder(
        predictor,
        paths,
        args.out,
        checkpoint.classes,
        probabilities=args.probabilities,
        on_image=report,
        on_tiles=tiles,
    )
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    for message in result.problems:
        print(f"error: {message}", file=sys.stderr)
    return 1 if result.problems else 0


def _evaluate(args: argparse.Namespace) -> int:
    from model.checkpoint import load_checkpoint
    from model.data import find_samples, load_labelled
    from model.device import choose_device
    from model.train import evaluate_images

    checkpoint = load_checkpoint(args.model)
    samples = find_samples(args.images, args.masks or args.images / "masks")
    images, problems = load_labelled(samples, checkpoint.config.in_channels, len(checkpoint.classes))
    for message in problems:
        print(f"warning: skipped {message}", file=sys.stderr)
    if not images:
        raise SegGUIError(f"no labelled images to evaluate in {args.images}")
    device = choose_device(args.device)
    model = checkpoint.build_model().to(device)
    metrics = evaluate_images(model, images, checkpoint.mean, checkpoint.std, device)
    assert metrics is not None
    print(f"{len(images)} images")
    print(f"{'class':<20} {'IoU':>8} {'Dice':>8}")
    for info, iou, dice in zip(checkpoint.classes, metrics.iou, metrics.dice):
        print(f"{info.name:<20} {iou:>8.4f} {dice:>8.4f}")
    print(f"{'mean':<20} {metrics.mean_iou:>8.4f} {metrics.mean_dice:>8.4f}")
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.what == "masks":
        return _export_masks(args)
    from model.checkpoint import load_checkpoint
    from model.export import export_model

    path = export_model(load_checkpoint(args.model), args.out, args.format)
    print(f"wrote {path}")
    return 0


def _download_progress() -> Callable[[int, int], None]:
    """A callback printing a download's megabytes on one terminal line (every 10 % otherwise)."""
    tty = sys.stderr.isatty()
    shown = [-1]

    def show(done: int, total: int) -> None:
        tenth = 10 * done // total if total else -1
        if not tty and (tenth == shown[0] or not total):
            return
        shown[0] = tenth
        of = f" of {total / 1e6:.1f}" if total else ""
        end = "\n" if not tty or (total and done >= total) else ""
        print(
            f"\rdownloading ImageNet weights: {done / 1e6:.1f}{of} MB", end=end, file=sys.stderr, flush=True
        )

    return show


def _progress(label: str) -> Callable[[object], None]:
    """A callback printing ``label i/n`` on one terminal line (every 10 % when not a terminal)."""
    tty = sys.stderr.isatty()

    def show(event: object) -> None:
        index, total = event.index, event.total  # type: ignore[attr-defined]
        if tty:
            print(
                f"\r{label} {index}/{total}", end="" if index < total else "\n", file=sys.stderr, flush=True
            )
        elif index == total or index % max(1, total // 10) == 0:
            print(f"{label} {index}/{total}", file=sys.stderr, flush=True)

    return show


def _export_masks(args: argparse.Namespace) -> int:
    from model.export_labels import ExportOptions, export_labels
    from model.imageio import list_images
    from model.project import load_project

    project = load_project(args.project)
    options = ExportOptions(
        format=args.format,
        unlabelled=args.unlabelled,
        only_complete=args.only_complete,
        include_predictions=args.include_predictions,
        val_fraction=args.val_fraction,
        seed=args.seed,
        coco_polygons=args.polygons,
        overwrite=args.overwrite,
    )
    report = export_labels(
        list_images(project.folder),
        project.mask_dir,
        list(project.classes),
        args.out,
        options,
        predictions_dir=project.predictions_dir,
        on_progress=_progress("exported"),
    )
    for message in report.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    extra = f" ({len(report.from_predictions)} from predictions)" if report.from_predictions else ""
    print(
        f"exported {len(report.exported)} masks{extra} as {args.format} to {args.out} "
        f"({len(report.train)} train, {len(report.val)} val); {len(report.skipped)} skipped"
    )
    return 1 if report.skipped else 0


def _import(args: argparse.Namespace) -> int:
    from model.imageio import list_images
    from model.import_labels import import_labels
    from model.project import load_project

    project = load_project(args.project)
    report = import_labels(
        args.source,
        args.kind,
        list_images(project.folder),
        project.mask_dir,
        list(project.classes),
        overwrite=args.overwrite,
        on_progress=_progress("read"),
    )
    for message in report.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    print(f"{report.summary()} into {project.mask_dir}")
    return 1 if report.skipped else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one CLI command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    handlers = {
        "train": _train,
        "predict": _predict,
        "evaluate": _evaluate,
        "export": _export,
        "import": _import,
    }
    try:
        return handlers[args.command](args)
    except (SegGUIError, FileNotFoundError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
