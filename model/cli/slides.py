"""``seggui predict-slide``: a whole slide predicted window by window into a chunked folder,
resumed by running the same command again, and optionally written out as a tiled TIFF."""

from __future__ import annotations

import argparse
import sys

from model.errors import SegGUIError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from pathlib import Path

    from model.prediction.predict_slide import DEFAULT_WINDOW

    slide = sub.add_parser(
        "predict-slide",
        help="predict a whole slide (tiled or pyramidal TIFF) in bounded memory; rerun to resume",
    )
    slide.add_argument(
        "--model", required=True, type=Path, help="a SegGUI model (.pt) or a bioimage.io package (NAME.zip)"
    )
    slide.add_argument("--image", required=True, type=Path, help="the slide: a tiled or pyramidal TIFF")
    slide.add_argument(
        "--out", required=True, type=Path, help="folder for the prediction (classes.zarr, uncertainty.zarr)"
    )
    slide.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="pixels a side per window")
    slide.add_argument("--tiff", type=Path, help="also write the classes as a tiled pyramidal TIFF here")
    slide.add_argument("--overwrite", action="store_true", help="replace the --tiff file if it exists")
    slide.add_argument("--device", default="auto")


def predict_slide_command(args: argparse.Namespace) -> int:
    from model.networks.package_model import load_model_file
    from model.prediction.predict import machine_predictors
    from model.prediction.predict_slide import predict_slide
    from model.storage.atomic import file_stamp
    from model.storage.slide import SlideReader
    from model.storage.tiled_tiff import write_tiled_mask

    check_slide_outputs(args)
    checkpoint = load_model_file(args.model)  # ours, or a bioimage.io package
    stamp = file_stamp(args.model)
    predictor = machine_predictors(checkpoint, args.device)[0]
    with SlideReader(args.image) as reader:
        problem = predictor.channel_problem(reader.channels)
        if problem is not None:
            raise SegGUIError(f"{args.image}: the slide {problem}")

        def report(done: int, total: int) -> None:
            sys.stdout.write(f"[{done}/{total}] windows\n")
            sys.stdout.flush()

        problems: list[str] = []

        def problem(message: str) -> None:
            problems.append(message)
            print(f"skipped: {message}", file=sys.stderr)

        try:
            result = predict_slide(
                predictor,
                reader,
                args.out,
                model_id=f"{args.model.name} {stamp}",
                window=args.window,
                on_progress=report,
                on_problem=problem,
            )
        except KeyboardInterrupt:
            print(f"stopped; run the same command again to go on from {args.out}", file=sys.stderr)
            return 130
    worst = ", ".join(f"({y}, {x})" for y, x in result.most_uncertain(3))
    print(f"predicted {result.windows_done} windows into {args.out}; least sure at {worst}")
    if args.tiff is not None:
        written = write_tiled_mask(result.classes(), args.tiff, checkpoint.classes)
        print(f"wrote {written}")
    if problems:
        print(
            f"{len(problems)} window(s) could not be read and stay unpredicted; run the command again "
            "once the slide is mended",
            file=sys.stderr,
        )
        return 1
    return 0


def check_slide_outputs(args: argparse.Namespace) -> None:
    """What predict-slide writes replaces none of its inputs, nothing in the slide's project
    folder or its mask folder, and an existing ``--tiff`` file only with ``--overwrite``: an
    11 MB slide had become a 24 kB class TIFF, and a model a TIFF, with ``--tiff`` naming them."""
    from model.storage.project import PROJECT_FILE, ProjectError, load_project
    from model.storage.write_guard import WriteRefused, check_apart, check_may_replace, check_not_edited

    folder = args.image.resolve().parent
    try:
        masks = load_project(folder).mask_dir
    except ProjectError:
        masks = folder / "masks"
    for out, what in ((args.out, "--out"), (args.tiff, "--tiff")):
        if out is None:
            continue
        for given, name in ((args.image, "the slide"), (args.model, "the model")):
            if out.resolve() == given.resolve():
                raise WriteRefused(f"{out}: {what} is {name} the command reads; write elsewhere")
        check_apart(out, {"the project's mask folder": masks})
        check_not_edited(out)
    if (folder / PROJECT_FILE).is_file():  # a TIFF beside a project's slide is one more image
        images = {"the slide's project folder, where its images are": folder}
        check_apart(args.out, images, inside=False)
        if args.tiff is not None:
            check_apart(args.tiff.parent, images, inside=False)
    if args.tiff is not None:
        check_may_replace([args.tiff], args.overwrite, args.tiff.parent)


def train_slide_command(args: argparse.Namespace) -> int:
    import tempfile
    import threading
    from pathlib import Path

    from model.classes import default_classes
    from model.cli import output as cli_output
    from model.cli.commands import declared_classes
    from model.networks.checkpoint import load_checkpoint, save_checkpoint
    from model.networks.config import AUTO_PRESET
    from model.networks.network_choice import model_channels, preset_for_channels
    from model.networks.weights import WeightsError, initial_checkpoint
    from model.prediction.evaluation import split_train_val
    from model.prediction.predict_slide import slide_intensity
    from model.storage.slide import SlideReader
    from model.storage.slide_masks import open_slide_mask
    from model.storage.write_guard import check_may_replace, check_not_edited
    from model.training.settings import TrainSettings
    from model.training.slide_regions import slide_regions
    from model.training.train import fit

    check_not_edited(args.out)
    in_place = args.resume is not None and args.resume.resolve() == args.out.resolve()
    check_may_replace([args.out], args.overwrite or in_place, args.out.parent)
    init = load_checkpoint(args.resume) if args.resume else None
    with SlideReader(args.image) as reader, tempfile.TemporaryDirectory() as scratch:
        mask, counts = open_slide_mask(args.mask, reader.shape, Path(scratch), ignore_value=args.ignore_value)
        if not counts:
            raise SegGUIError(f"{args.mask}: no pixel is labelled")
        classes = declared_classes(args) or (init.classes if init is not None else None)
        if classes is None:
            classes = default_classes(max(2, max(counts) + 1))
            print(f"classes: {len(classes)} (0-{len(classes) - 1}) from the values in {args.mask}; "
                  "--classes or --labels names them", file=sys.stderr)  # fmt: skip
        beyond = sorted(value for value in counts if value >= len(classes))
        if beyond:
            raise SegGUIError(f"{args.mask}: holds the values {beyond} beyond the {len(classes)} classes")
        preset = args.preset  # a model fine-tuned keeps its own network
        if init is None and preset == AUTO_PRESET:
            preset, why = preset_for_channels(reader.channels)
            print(f"network: {preset} ({why}; --preset chooses another)", file=sys.stderr)
        channels = model_channels(preset, init, [], tuple(range(1, reader.channels + 1)))
        if init is None:
            try:
                init = initial_checkpoint(preset, classes, args.start_from, in_channels=channels)
            except WeightsError as exc:
                raise SegGUIError(f"{exc} (here: --start-from scratch or --start-from FILE)") from exc
        regions = slide_regions(reader, mask, channels, slide_intensity(reader), region=args.region)
        settings = TrainSettings(
            preset=preset, device=args.device, time_budget_s=args.time_budget_s, max_steps=args.max_steps
        )
        train, val = split_train_val(regions, settings.val_fraction, settings.seed)
        print(f"training on {len(regions)} labelled regions of {args.image.name}", file=sys.stderr)
        log_lines = cli_output.TrainingLog(classes, sys.stderr.isatty(), args.started)
        stop = threading.Event()
        try:
            result = fit(
                settings,
                train,
                val,
                classes,
                init=init,
                on_event=log_lines,
                should_stop=stop.is_set,
                started=args.started,
            )
        except KeyboardInterrupt:
            stop.set()
            print("\ninterrupted", file=sys.stderr)
            return 130
    save_checkpoint(args.out, result.checkpoint)
    print(log_lines.summary(args.out, result, 0))
    return 0
