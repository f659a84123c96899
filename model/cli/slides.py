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
    slide.add_argument("--model", required=True, type=Path)
    slide.add_argument("--image", required=True, type=Path, help="the slide: a tiled or pyramidal TIFF")
    slide.add_argument(
        "--out", required=True, type=Path, help="folder for the prediction (classes.zarr, uncertainty.zarr)"
    )
    slide.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="pixels a side per window")
    slide.add_argument("--tiff", type=Path, help="also write the classes as a tiled pyramidal TIFF here")
    slide.add_argument("--device", default="auto")


def predict_slide_command(args: argparse.Namespace) -> int:
    from model.networks.checkpoint import load_checkpoint
    from model.prediction.predict import Predictor
    from model.prediction.predict_slide import predict_slide
    from model.storage.atomic import file_stamp
    from model.storage.slide import SlideReader
    from model.storage.tiled_tiff import write_tiled_mask

    checkpoint = load_checkpoint(args.model)
    stamp = file_stamp(args.model)
    predictor = Predictor(checkpoint, args.device)
    with SlideReader(args.image) as reader:
        problem = predictor.channel_problem(reader.channels)
        if problem is not None:
            raise SegGUIError(f"{args.image}: the slide {problem}")

        def report(done: int, total: int) -> None:
            sys.stdout.write(f"[{done}/{total}] windows\n")
            sys.stdout.flush()

        try:
            result = predict_slide(
                predictor,
                reader,
                args.out,
                model_id=f"{args.model.name} {stamp}",
                window=args.window,
                on_progress=report,
            )
        except KeyboardInterrupt:
            print(f"stopped; run the same command again to go on from {args.out}", file=sys.stderr)
            return 130
    worst = ", ".join(f"({y}, {x})" for y, x in result.most_uncertain(3))
    print(f"predicted {result.windows_done} windows into {args.out}; least sure at {worst}")
    if args.tiff is not None:
        written = write_tiled_mask(result.classes(), args.tiff, checkpoint.classes)
        print(f"wrote {written}")
    return 0
