"""The command line's commands and options (``seggui train | predict | evaluate | export | import``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.cli import slides
from model.labels.formats import FORMATS as LABEL_FORMATS
from model.labels.formats import IMPORT_KINDS
from model.networks.config import AUTO_PRESET, PRESET_INFO
from model.training.settings import LOSSES
from model.words import parse_duration

COMMANDS = ("train", "train-slide", "predict", "predict-slide", "evaluate", "export", "import", "prompt")


def duration(text: str) -> float:
    """A ``--time-budget``: bare seconds, or a time as the window reads it (``1:30``, ``2 min``)."""
    try:
        return float(text)
    except ValueError:
        seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a length of time (90, 1:30, 90 s, 2 min, 1 h)")
    return float(seconds)


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
        "--overwrite", action="store_true", help="replace --out if it exists (not needed when it is --resume)"
    )
    _class_options(train, "default: class 0..N-1 for the mask values found")
    _ignore_option(train)
    _axes_option(train)
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
    train.add_argument("--epochs", type=int, help="passes over the labelled pixels (default 30)")
    train.add_argument("--steps", type=int, dest="max_steps", help="stop after this many steps")
    train.add_argument(
        "--time-budget",
        type=duration,
        dest="time_budget_s",
        metavar="TIME",
        help="end within this long: seconds (90), or as the window writes it (1:30, 90s, 2 min, 1 h); "
        "counted from the command's start, loading the images and the last scoring included",
    )
    train.add_argument("--batch-size", type=int, help="crops per training step (default 4)")
    train.add_argument(
        "--crop-size", type=int, help="side in pixels of the square crops trained on (default 128)"
    )
    train.add_argument(
        "--lr", type=float, dest="learning_rate", help="peak learning rate of the schedule (default 0.00075)"
    )
    train.add_argument("--loss", choices=LOSSES)
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
    train.add_argument(
        "--channels",
        type=channel_list,
        metavar="1,2,4",
        help="the image channels the network reads, counted from 1 (default: every channel)",
    )
    train.add_argument("--device", help="auto (default), cuda, mps or cpu")
    train.add_argument(
        "--workers",
        type=int,
        dest="num_workers",
        help="processes cutting training crops (default: none on a CPU, up to 8 on a GPU)",
    )
    train.add_argument(
        "--cache-mb",
        type=int,
        dest="cache_mb",
        help="memory for decoded training images; the rest are read from disk as needed "
        "(default: a sixteenth of this machine's memory, 256 MB to 4 GB)",
    )

    predict = sub.add_parser("predict", help="predict masks for a folder (or one image)")
    predict.add_argument(
        "--model", required=True, type=Path, help="a SegGUI model (.pt) or a bioimage.io package (NAME.zip)"
    )
    predict.add_argument("--images", required=True, type=Path, help="folder of images, or one image")
    predict.add_argument("--out", required=True, type=Path, help="folder for the predicted masks")
    predict.add_argument("--overwrite", action="store_true", help="replace predictions already in --out")
    predict.add_argument(
        "--probabilities",
        action="store_true",
        help="also write class probabilities as <stem>.npy (float16, C x H x W)",
    )
    predict.add_argument(
        "--tile", type=int, default=512, help="side in pixels of the windows a large image is predicted in"
    )
    predict.add_argument(
        "--overlap", type=int, default=48, help="pixels the windows overlap by, blended (default 48)"
    )
    predict.add_argument("--device", default="auto")
    _axes_option(predict)

    slides.add_parser(sub)
    train_slide = sub.add_parser(
        "train-slide", help="train or fine-tune on a slide's labels (a label TIFF or a chunked mask folder)"
    )
    train_slide.add_argument("--image", required=True, type=Path, help="the slide: a tiled or pyramidal TIFF")
    train_slide.add_argument(
        "--mask", required=True, type=Path, help="its labels: a one-channel label TIFF or a mask .zarr folder"
    )
    train_slide.add_argument("--out", required=True, type=Path, help="model file to write (.pt)")
    train_slide.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    train_slide.add_argument("--resume", type=Path, help="fine-tune from this model file")
    train_slide.add_argument("--preset", default=AUTO_PRESET, choices=tuple(PRESET_INFO))
    train_slide.add_argument("--start-from", default="imagenet", metavar="imagenet|scratch|FILE")
    train_slide.add_argument(
        "--time-budget", dest="time_budget_s", type=duration, metavar="TIME", help="as train's --time-budget"
    )
    train_slide.add_argument("--steps", dest="max_steps", type=int)
    train_slide.add_argument("--region", type=int, default=2048, help="pixels a side of a training region")
    train_slide.add_argument("--device", default="auto")
    _ignore_option(train_slide)
    _class_options(train_slide, "names the classes, class 0 first")

    evaluate = sub.add_parser("evaluate", help="per-class IoU and Dice of a model on labelled images")
    evaluate.add_argument(
        "--model", required=True, type=Path, help="a SegGUI model (.pt) or a bioimage.io package (NAME.zip)"
    )
    evaluate.add_argument("--images", required=True, type=Path)
    evaluate.add_argument("--masks", type=Path, help="default: IMAGES/masks")
    evaluate.add_argument("--confusion", action="store_true", help="also print the confusion matrix")
    evaluate.add_argument("--json", action="store_true", help="print the results as one JSON object")
    _ignore_option(evaluate)
    _axes_option(evaluate)
    evaluate.add_argument("--device", default="auto")

    export = sub.add_parser("export", help="export masks (PNG, COCO, VOC, YOLO, labelme) or a model")
    export_sub = export.add_subparsers(dest="what", metavar="WHAT", required=True)
    export_model = export_sub.add_parser("model", help="export a trained model for other tools")
    export_model.add_argument("--model", required=True, type=Path)
    export_model.add_argument("--format", required=True, choices=("torchscript", "onnx", "bioimageio"))
    export_model.add_argument("--out", required=True, type=Path, help="the file (bioimageio: NAME.zip)")
    package = export_model.add_argument_group("bioimage.io packages (--format bioimageio)")
    package.add_argument("--image", type=Path, help="an image of the project: the package's test input")
    package.add_argument("--name", help="the model's name (default: the model file's)")
    package.add_argument("--description", help="what the model segments, in a sentence")
    package.add_argument("--author", action="append", default=[], help="an author (repeat for more)")
    package.add_argument("--license", default="CC-BY-4.0", help="an SPDX licence id (default CC-BY-4.0)")
    package.add_argument("--training-data", default="", help="what the model was trained on")
    export_model.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
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
    imp.add_argument(
        "--outside",
        choices=("background", "unlabelled"),
        default="background",
        help="labelme: pixels outside every shape (default background, as labelme2voc)",
    )
    imp.add_argument(
        "--add-classes", action="store_true", help="labels the project does not have become new classes"
    )
    _class_options(imp, "declares the project's classes before importing")
    from model.prompts import headless

    headless.add_parser(sub)
    return parser


def _class_options(parser: argparse.ArgumentParser, default: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--classes", help=f"comma-separated class names, class 0 first ({default})")
    group.add_argument(
        "--labels",
        type=Path,
        help="a labels file: one class name per line, class 0 first (labelme's labels.txt, a VOC "
        "class list), or an export's classes.json",
    )


def channel_list(text: str) -> tuple[int, ...]:
    """``--channels 1,2,4``: channel numbers counted from 1."""
    try:
        channels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: channel numbers separated by commas, e.g. 1,2,4"
        ) from None
    if not channels:
        raise argparse.ArgumentTypeError("name at least one channel, e.g. 1,2,4")
    return channels


def axes_option(text: str) -> str:
    """``--axes``: checked here so a typo is named before any file is read."""
    from model.storage.tiff_files import is_axes_answer

    if not is_axes_answer(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: axes are letters C (channels), Z or T (planes), then YX, e.g. CYX, ZYX, ZCYX"
        )
    return text.upper()


def _axes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--axes",
        type=axes_option,
        metavar="AXES",
        help="axes of TIFFs whose metadata does not say which size is channels and which planes, "
        "e.g. CYX or ZYX (default: the project's answer, then SegGUI's rule)",
    )


def _ignore_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ignore-value",
        type=int,
        metavar="V",
        help="mask value that means not labelled besides 255 (another tool's void, e.g. CamVid's 11)",
    )
