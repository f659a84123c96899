"""Command-line interface: ``seggui train | predict | evaluate | export`` (no Qt needed)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from model.classes import ClassInfo, classes_from_names, default_classes, read_labels_file
from model.cli import output as cli_output
from model.cli import slides
from model.cli.args import COMMANDS, build_parser
from model.errors import SegGUIError
from model.networks.config import AUTO_PRESET
from model.storage.write_guard import check_apart, check_may_replace, check_not_edited

log = logging.getLogger("seggui")

__all__ = ["COMMANDS", "build_parser", "main"]


def check_folders(images: Path, mask_dir: Path) -> None:
    """The image folder first (a mistyped --images is named, not the masks folder it implies)."""
    if not images.is_dir():
        raise SegGUIError(f"{images}: no such folder of images (--images)")
    if not mask_dir.is_dir():
        raise SegGUIError(f"{mask_dir}: mask folder not found (--masks names another)")


def declared_classes(args: argparse.Namespace) -> list[ClassInfo] | None:
    """The classes named by ``--classes`` or ``--labels``, if either was given."""
    try:
        if getattr(args, "labels", None) is not None:
            return read_labels_file(args.labels)
        if getattr(args, "classes", None):
            return classes_from_names([n.strip() for n in args.classes.split(",") if n.strip()])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = args.labels if getattr(args, "labels", None) is not None else "--classes"
        raise SegGUIError(f"{where}: cannot read the classes ({exc})") from exc
    return None


def _training_classes(args: argparse.Namespace, samples: list, mask_dir: Path) -> list[ClassInfo]:
    """Declared classes, checked against the masks once for the whole folder; or classes 0..N-1
    for the values the masks hold, with a line saying so."""
    from model.training.data import check_class_values, mask_values

    values = mask_values(samples, args.ignore_value)
    declared = declared_classes(args)
    if declared is not None:
        check_class_values(values, declared, mask_dir)
        return declared
    count = max(2, max(values, default=0) + 1)
    rare = [f"{v} only in {p[0].name}" for v, p in values.items() if len(p) == 1 and len(samples) > 2]
    print(
        f"classes: {count} (0-{count - 1}) from the values in {mask_dir}"
        + (f"; {', '.join(rare[:3])}" if rare else "")
        + "; --classes or --labels names them",
        file=sys.stderr,
    )
    return default_classes(count)


def _train(args: argparse.Namespace) -> int:
    from model.compute import distributed
    from model.compute.device import choose_device
    from model.networks.checkpoint import load_checkpoint
    from model.networks.network_choice import model_channels, resolve_preset
    from model.networks.weights import WeightsError, initial_checkpoint
    from model.training.data import find_samples
    from model.training.train import TrainSettings, train_from_folders

    mask_dir = args.masks or args.images / "masks"
    overrides = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(TrainSettings)
        if getattr(args, field.name, None) is not None
    }
    if "scale_range" in overrides:
        overrides["scale_range"] = tuple(overrides["scale_range"])
    settings = TrainSettings(**{"preset": AUTO_PRESET, **overrides})
    if "epochs" in overrides and settings.time_budget_s is not None and not settings.max_steps:
        print("--epochs is left aside: with --time-budget the limit sets the run's length", file=sys.stderr)
    check_not_edited(args.out)
    in_place = args.resume is not None and args.resume.resolve() == args.out.resolve()
    check_may_replace([args.out], args.overwrite or in_place, args.out.parent)
    init = load_checkpoint(args.resume) if args.resume else None
    check_folders(args.images, mask_dir)
    samples = find_samples(args.images, mask_dir, _folder_axes(args))
    if init is None:
        name, why = resolve_preset(settings.preset, samples, settings.channels)
        settings = dataclasses.replace(settings, preset=name)
        if args.preset in (None, AUTO_PRESET):
            print(f"network: {name} ({why}; --preset chooses another)", file=sys.stderr)
    if init is None or args.classes or args.labels:
        classes = _training_classes(args, samples, mask_dir)
    else:
        classes = init.classes
    if init is None:
        try:
            progress = cli_output.download_progress()
            channels = model_channels(settings.preset, None, samples, settings.channels)
            init = initial_checkpoint(
                settings.preset, classes, args.start_from, on_progress=progress, in_channels=channels
            )
        except WeightsError as exc:
            raise SegGUIError(f"{exc} (here: --start-from scratch or --start-from FILE)") from exc
        if init is not None:
            print(f"starting from {init.config.describe()}", file=sys.stderr)
    distributed.init_from_environment(choose_device(settings.device))
    quiet = distributed.rank() != 0
    log_lines = cli_output.TrainingLog(classes, sys.stderr.isatty(), args.started)
    skipped: list[str] = []

    def problem(message: str) -> None:
        skipped.append(message)
        print(f"skipped: {message}", file=sys.stderr)

    stop = threading.Event()
    try:
        result = train_from_folders(
            args.images,
            mask_dir,
            settings,
            classes,
            out_path=args.out,
            init=init,
            on_event=None if quiet else log_lines,
            should_stop=stop.is_set,
            on_problem=problem,
            ignore_value=args.ignore_value,
            samples=samples,  # listed once (the preset and the classes came from it)
            started=args.started,  # the time limit counts from the command's start
        )
    except KeyboardInterrupt:
        stop.set()
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()
    if not quiet:
        print(log_lines.summary(args.out, result, len(skipped)))
        start, best = result.start_metrics, result.best_metrics
        if result.worse_than_start and start is not None and best is not None:
            print(
                f"warning: this model agrees less with the held-out pixels ({best.mean_iou:.3f}) "
                f"than {args.resume} did before training ({start.mean_iou:.3f})",
                file=sys.stderr,
            )
    return 1 if skipped else 0


def _predict(args: argparse.Namespace) -> int:
    from model.compute import distributed
    from model.networks.package_model import load_model_file
    from model.prediction.predict import machine_devices, machine_predictors
    from model.prediction.predict_folder import ImagePredicted, predict_folder
    from model.storage.imageio import list_images
    from model.storage.tiff_files import expand_stacks

    if args.out.exists() and not args.out.is_dir():
        raise SegGUIError(f"{args.out}: a file, not a folder (--out names the folder for the predictions)")
    checkpoint = load_model_file(args.model)  # ours, or a bioimage.io package
    classes = checkpoint.classes
    left_out: list[str] = []
    paths = [args.images] if args.images.is_file() else list_images(args.images, left_out)
    paths = expand_stacks(paths, _folder_axes(args))
    for message in left_out:
        print(f"skipped: {message}", file=sys.stderr)
    if not paths:
        raise SegGUIError(f"{args.images}: no images found")
    _check_prediction_folder(args.out, paths, args.probabilities, args.overwrite)
    distributed.init_from_environment(machine_devices(args.device)[0])
    predictors = machine_predictors(checkpoint, args.device, tile=args.tile, overlap=args.overlap)
    rank, world = distributed.rank(), distributed.world_size()
    who = f"rank {rank}: " if world > 1 else ""
    if len(predictors) > 1:
        print(f"predicting on {len(predictors)} GPUs", file=sys.stderr)

    def report(done: ImagePredicted) -> None:
        line = (
            f"{who}[{done.index}/{done.total}] {done.image.name}: uncertainty {done.uncertainty:.4f} "
            f"({done.seconds:.2f} s)\n"
        )
        sys.stdout.write(line)  # one write per line: processes sharing a terminal or log never split one
        sys.stdout.flush()

    try:
        result = predict_folder(
            predictors,
            paths,
            args.out,
            classes,
            probabilities=args.probabilities,
            on_image=report,
            on_tiles=cli_output.tile_progress(),
            axes=_folder_axes(args),
        )
    finally:
        distributed.shutdown()
    if rank != 0:
        return 1 if result.problems else 0
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    for message in result.problems:
        print(f"error: {message}", file=sys.stderr)
    return 1 if result.problems else 0


def _folder_axes(args: argparse.Namespace) -> str | None:
    """``--axes``, else the answer saved in the image folder's project file, if any."""
    from model.storage.project import ProjectError, load_project

    if args.axes:
        return args.axes
    folder = args.images if args.images.is_dir() else args.images.parent
    try:
        return load_project(folder).image_axes
    except ProjectError:
        return None  # the project's own problem is named where a command needs the project


def _check_prediction_folder(out: Path, images: list[Path], probabilities: bool, overwrite: bool) -> None:
    """Predictions go neither into the image folder nor a project's mask folder, replace no file
    without ``--overwrite``, and stay out of a folder a SegGUI window edits."""
    from model.storage.mask_names import MaskNames
    from model.storage.project import ProjectError, load_project

    folder = images[0].parent
    protected = {"the image folder": folder}
    check_apart(out, protected, inside=False)
    try:
        protected = {"the project's mask folder": load_project(folder).mask_dir}
    except ProjectError:
        protected = {"the project's mask folder": folder / "masks"}
    check_apart(out, protected)
    check_not_edited(out)
    names = MaskNames(images)
    planned = [names.mask_path(image, out) for image in names.usable(images)]
    if probabilities:
        planned += [path.with_suffix(".npy") for path in planned]
    check_may_replace(planned, overwrite, out)


def _evaluate(args: argparse.Namespace) -> int:
    from model.compute.device import choose_device
    from model.networks.checkpoint import load_checkpoint
    from model.networks.package_model import is_package
    from model.storage.image_cache import DecodedCache, default_cache_bytes
    from model.training.data import check_class_values, find_samples, mask_values
    from model.training.train import evaluate_images
    from model.training.training_images import load_training_set

    mask_dir = args.masks or args.images / "masks"
    check_folders(args.images, mask_dir)
    samples = find_samples(args.images, mask_dir, _folder_axes(args))
    if is_package(args.model):  # a bioimage.io package: scored on what it predicts
        from model.cli.packages import evaluate_package

        return evaluate_package(args, samples, mask_dir)
    checkpoint = load_checkpoint(args.model)
    check_class_values(mask_values(samples, args.ignore_value), checkpoint.classes, mask_dir)
    images, problems = load_training_set(
        samples,
        checkpoint.config.in_channels,
        len(checkpoint.classes),
        picked=checkpoint.input_channels,
        cache=DecodedCache(default_cache_bytes()),
        ignore_value=args.ignore_value,
    )
    for message in problems:
        print(f"skipped: {message}", file=sys.stderr)
    readable = len(images)

    def skipped(message: str) -> None:
        nonlocal readable
        problems.append(message)
        readable -= 1
        print(f"skipped: {message}", file=sys.stderr)

    if not images:
        raise SegGUIError(f"no image in {args.images} has a mask with labelled pixels in {mask_dir}")
    device = choose_device(args.device)
    model = checkpoint.build_model().to(device)
    metrics = evaluate_images(model, images, checkpoint.mean, checkpoint.std, device, on_problem=skipped)
    assert metrics is not None
    return cli_output.print_metrics(args, metrics, checkpoint.classes, readable, problems)


def _export(args: argparse.Namespace) -> int:
    if args.what == "masks":
        return _export_masks(args)
    from model.networks.checkpoint import load_checkpoint
    from model.networks.export import export_model

    check_not_edited(args.out)
    check_may_replace([args.out], args.overwrite, args.out.parent)
    if args.format == "bioimageio":
        from model.cli.packages import export_package

        path = export_package(args, load_checkpoint(args.model))
        print(f"wrote {path}")
        return 0
    path = export_model(load_checkpoint(args.model), args.out, args.format)
    print(f"wrote {path}")
    return 0


def _export_masks(args: argparse.Namespace) -> int:
    from model.labels.export_labels import ExportOptions, export_labels
    from model.storage.project import load_project, project_images

    project = load_project(args.project)
    check_not_edited(args.out)
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
        project_images(project),
        project.mask_dir,
        list(project.classes),
        args.out,
        options,
        predictions_dir=project.predictions_dir,
        on_progress=cli_output.count_progress("exported"),
    )
    for message in report.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    print(
        f"exported {report.summary()} as {args.format} to {args.out} "
        f"({len(report.train)} train, {len(report.val)} val); {len(report.skipped)} skipped"
    )
    return 1 if report.skipped else 0


def _import(args: argparse.Namespace) -> int:
    from model.labels.import_labels import import_labels
    from model.storage.project import load_project, project_images, save_project, with_declared_classes

    project = load_project(args.project)
    check_not_edited(project.mask_dir)  # a window editing the project would write over these masks
    declared = declared_classes(args)
    if declared is not None and declared != list(project.classes):
        project = with_declared_classes(project, declared)
        save_project(project)
        print(f"classes of {project.folder}: {', '.join(c.name for c in declared)}", file=sys.stderr)
    report = import_labels(
        args.source,
        args.kind,
        project_images(project),
        project.mask_dir,
        list(project.classes),
        overwrite=args.overwrite,
        outside=args.outside,
        add_classes=args.add_classes,
        on_progress=cli_output.count_progress("read"),
    )
    if report.added:
        save_project(project.with_classes(report.classes))
    for message in report.notes:
        print(f"note: {message}", file=sys.stderr)
    for message in report.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    print(f"{report.summary()} into {project.mask_dir}")
    return 1 if report.skipped else 0


def _prompt(args: argparse.Namespace) -> int:
    from model.prompts.headless import prompt_command

    return prompt_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one CLI command; returns the process exit code."""
    started = time.perf_counter()  # a time limit counts from here, as the user counts it
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    handlers = {
        "train": _train,
        "predict": _predict,
        "predict-slide": slides.predict_slide_command,
        "train-slide": slides.train_slide_command,
        "evaluate": _evaluate,
        "export": _export,
        "import": _import,
        "prompt": _prompt,
    }
    try:
        return handlers[args.command](args)
    except (SegGUIError, FileNotFoundError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
