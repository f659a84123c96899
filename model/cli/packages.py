"""bioimage.io packages on the command line: ``export model --format bioimageio`` (the package's
test image and description from the options; ``model.networks.bioimageio_export`` writes it) and
``evaluate --model NAME.zip`` (the package's predictions scored on the labelled pixels)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from model.errors import SegGUIError


def export_package(args: argparse.Namespace, checkpoint) -> Path:
    """Write the package ``--out`` of ``checkpoint`` with ``--image`` as its test input."""
    from model.networks.bioimageio_export import export_bioimageio
    from model.networks.package_info import PackageInfo
    from model.storage.imageio import read_image
    from model.storage.intensity import select_channels

    if args.image is None:
        raise SegGUIError(
            "--format bioimageio needs --image: an image of the project, the package's test input"
        )
    raw = read_image(args.image)
    if checkpoint.input_channels:
        raw = select_channels(raw, checkpoint.input_channels)
    defaults = PackageInfo(name=args.name or args.model.stem)
    info = dataclasses.replace(
        defaults,
        description=args.description or defaults.description,
        authors=tuple(args.author) or defaults.authors,
        license=args.license,
        training_data=args.training_data,
    )
    return export_bioimageio(checkpoint, raw, args.out, info)


def evaluate_package(args: argparse.Namespace, samples, mask_dir: Path) -> int:
    """Score the package ``--model`` on every labelled image of ``samples``: what it predicts
    (its own preprocessing, bioimageio.core) against the masks' labelled pixels."""
    import sys

    import numpy as np

    from model.classes import IGNORE_INDEX
    from model.cli import output
    from model.networks.package_model import load_package
    from model.prediction.metrics import confusion_matrix, metrics_from_confusion
    from model.prediction.predict import machine_predictors
    from model.storage.imageio import read_image, read_mask
    from model.storage.intensity import channel_count
    from model.storage.nodata import nodata_pixels
    from model.training.data import check_class_values, mask_values

    package = load_package(args.model)
    classes = package.classes
    check_class_values(mask_values(samples, args.ignore_value), classes, mask_dir)
    predictor = machine_predictors(package, args.device)[0]
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    problems: list[str] = []
    readable = 0
    for sample in samples:
        if sample.mask is None:
            continue
        try:
            if sample.problem is not None:
                raise SegGUIError(f"{sample.image}: {sample.problem}")
            raw = read_image(sample.image, sample.axes)
            shape = raw.shape[:2]
            mask = read_mask(
                sample.mask, shape=shape, num_classes=len(classes), ignore_value=args.ignore_value
            )
            if not (mask != IGNORE_INDEX).any():
                continue
            problem = predictor.channel_problem(channel_count(raw))
            if problem is not None:
                raise SegGUIError(f"{sample.image}: the image {problem}")
            predicted = predictor.predict(raw, nodata=nodata_pixels(sample.image, raw)).classes
        except SegGUIError as exc:
            problems.append(str(exc))
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        confusion += confusion_matrix(mask, predicted, len(classes))
        readable += 1
    if not readable:
        raise SegGUIError(f"no image in {args.images} has a mask with labelled pixels in {mask_dir}")
    return output.print_metrics(args, metrics_from_confusion(confusion), classes, readable, problems)
