"""The labelling loop, measured with a simulated labeller (``benchmarks/labeller.py``).

    python benchmarks/labelling.py [--membrane DIR] [--camvid DIR] [--seconds 60 | --steps 400]
                                   [--rounds 5] [--seed 0] [--sets membrane,camvid]

1. Share painted against quality: every training image scribbled with the app's brush until a
   share of its labelled pixels is painted (0.5 % to full masks), trained as the app trains
   (``fit``, its default settings, a fifth of the painted images held out and scored on their
   strokes) for the same time or number of steps. Every epoch's weights are also scored on the
   hold-out images' full masks (fit's per-epoch preview of the stacked hold-out images), which
   gives: the score the app shows beside the true one, how far apart they are over the run,
   and what the kept weights score against the epoch the strokes would have chosen.
2. Calibration (``--only calibration``): images scribbled (2 %), one model trained as the app
   does; on the hold-out images' full masks, the share of pixels Show Uncertainty flags against
   the share the model gets wrong, how many of the wrong ones it flags, and the rank correlation
   of each image's uncertainty with its error, with the probabilities as they come (T = 1,
   before) and with the temperature fitted on the held-out strokes (now). Also on the bundled
   sample's cells (``--sets sample,...``).
3. Rounds: two images scribbled (2 %), a model trained; then each round predicts the images not
   labelled yet, picks one by the app's uncertainty ranking (and, the baseline in the same run,
   at random), accepts its prediction, corrects it with a budget of strokes, fine-tunes, and
   scores the model on the hold-out. Simulated time counts 1 s per stroke.

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from labeller import correct, scribble  # noqa: E402
from transfer import CAMVID_CLASSES, CAMVID_VOID  # noqa: E402

from model.classes import IGNORE_INDEX, ClassInfo, classes_from_names, default_classes  # noqa: E402
from model.compute.device import choose_device  # noqa: E402
from model.networks.checkpoint import Checkpoint  # noqa: E402
from model.networks.weights import initial_checkpoint  # noqa: E402
from model.prediction.metrics import confusion_matrix, metrics_from_confusion  # noqa: E402
from model.prediction.predict import Predictor  # noqa: E402
from model.prediction.predict_folder import rank_by_uncertainty  # noqa: E402
from model.prediction.uncertainty import sure_pixels  # noqa: E402
from model.storage.imageio import list_images, read_image, read_mask  # noqa: E402
from model.storage.intensity import image_to_input  # noqa: E402
from model.training.data import LabelledImage  # noqa: E402
from model.training.settings import TrainSettings  # noqa: E402
from model.training.train import evaluate_images, fit, split_train_val  # noqa: E402
from model.training.train_events import PreviewReady, PreviewRequest  # noqa: E402

SHARES = (0.005, 0.02, 0.1, 1.0)


@dataclass
class DataSet:
    name: str
    classes: list[ClassInfo]
    preset: str
    channels: int
    pool: list[tuple[Path, np.ndarray, np.ndarray]]  # (path, raw image, full truth)
    test: list[LabelledImage]
    test_raw: list[np.ndarray]

    def test_mosaic(self) -> tuple[np.ndarray, np.ndarray]:
        """The hold-out images stacked into one (raw, truth), predicted once per epoch."""
        return np.concatenate(self.test_raw), np.concatenate([item.mask for item in self.test])


def membrane(root: Path, holdout: int = 6) -> DataSet:
    items = []
    for path in list_images(root / "images"):
        items.append((path, read_image(path), read_mask(root / "masks" / f"{path.stem}.png")))
    test = [LabelledImage(p, image_to_input(raw, 1), truth) for p, raw, truth in items[-holdout:]]
    raws = [raw for _, raw, _ in items[-holdout:]]
    return DataSet("membrane", default_classes(2), "fast", 1, items[:-holdout], test, raws)


def camvid(root: Path, train: int, test: int) -> DataSet:
    def load(split: str, count: int) -> list[tuple[Path, np.ndarray, np.ndarray]]:
        paths = sorted((root / split / "images").glob("*.jpg"))
        step = max(1, len(paths) // count)
        out = []
        for path in paths[::step][:count]:
            truth = read_mask(root / split / "labels" / f"{path.stem}.png", ignore_value=CAMVID_VOID)
            out.append((path, read_image(path), truth))
        return out

    val = load("val", test)
    held = [LabelledImage(p, image_to_input(raw, 3), truth) for p, raw, truth in val]
    raws = [raw for _, raw, _ in val]
    return DataSet("camvid", classes_from_names(CAMVID_CLASSES), "lite0", 3, load("train", train), held, raws)


def sample(train: int = 12, test: int = 20, seed: int = 0) -> DataSet:
    """The bundled sample's synthetic cells (``resources/make_sample.py``), made afresh."""
    sys.path.insert(0, str(ROOT / "resources"))
    from make_sample import CLASSES, cells

    rng = np.random.default_rng(seed)
    items = [(Path(f"cells_{i:02d}.png"), *cells(rng)) for i in range(train + test)]
    test_items = items[train:]
    held = [LabelledImage(p, image_to_input(raw, 1), truth) for p, raw, truth in test_items]
    return DataSet("sample", list(CLASSES), "fast", 1, items[:train], held, [raw for _, raw, _ in test_items])


def calibration_table(
    data: DataSet, seconds: float, seed: int, steps: int | None, share: float = 0.02
) -> None:
    """What Show Uncertainty flags against what is wrong, before (T = 1) and after calibration."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    labelled = []
    for path, raw, truth in data.pool:
        mask, _ = scribble(truth, share, rng)
        labelled.append(LabelledImage(path, image_to_input(raw, data.channels), mask))
    result, _ = train_tracked(data, labelled, seconds, None, steps, seed=seed, track=False)
    calibrated = result.checkpoint
    rows = []
    for name, checkpoint in (
        ("T = 1 (before)", replace(calibrated, temperature=1.0)),
        ("fitted (now)", calibrated),
    ):
        predictor = Predictor(checkpoint, "cpu")
        flagged = wrong = caught = total = 0
        scores, errors = [], []
        for raw, item in zip(data.test_raw, data.test, strict=True):
            prediction = predictor.predict(raw)
            known = item.mask != IGNORE_INDEX
            unsure = ~sure_pixels(prediction) & known
            mistaken = (prediction.classes != item.mask) & known
            flagged, wrong = flagged + int(unsure.sum()), wrong + int(mistaken.sum())
            caught, total = caught + int((unsure & mistaken).sum()), total + int(known.sum())
            scores.append(prediction.uncertainty)
            errors.append(mistaken.sum() / max(1, known.sum()))
        rho = spearmanr(scores, errors).statistic if len(scores) > 2 else math.nan
        rows.append(
            (name, checkpoint.temperature, flagged / total, wrong / total, caught / max(1, wrong), rho)
        )
    painted = f"{100 * share:g} % painted, {len(data.test)} hold-out images"
    print(f"\n### {data.name}: what Show Uncertainty flags ({painted})\n")
    print(
        "| probabilities | temperature | pixels flagged unsure | pixels wrong | wrong pixels flagged | "
        "rank correlation, image uncertainty vs error |"
    )
    print("|---|---|---|---|---|---|")
    for name, temperature, flagged_share, wrong_share, caught_share, rho in rows:
        print(
            f"| {name} | {temperature:.2f} | {100 * flagged_share:.1f} % | {100 * wrong_share:.1f} % | "
            f"{100 * caught_share:.0f} % | {rho:.2f} |"
        )


def run_settings(data: DataSet, seconds: float, steps: int | None, seed: int = 0) -> TrainSettings:
    """The app's default settings for ``data``, stopped after ``seconds`` or, reproducibly
    whatever else runs on the machine, after ``steps``."""
    limit = {"max_steps": steps} if steps else {"time_budget_s": seconds}
    return TrainSettings(preset=data.preset, epochs=100_000, device="cpu", seed=seed, **limit)


def train(
    data: DataSet,
    labelled: list[LabelledImage],
    seconds: float,
    init: Checkpoint | None,
    steps: int | None = None,
):
    """Train (or fine-tune ``init``) as the app does; returns (checkpoint, shown score, hold-out score)."""
    result, _ = train_tracked(data, labelled, seconds, init, steps, track=False)
    device = choose_device("cpu")
    model = result.checkpoint.build_model().to(device)
    metrics = evaluate_images(model, data.test, result.checkpoint.mean, result.checkpoint.std, device)
    shown = result.best_metrics.mean_iou if result.best_metrics is not None else math.nan
    return result.checkpoint, shown, metrics.mean_iou if metrics is not None else math.nan


@dataclass
class Epoch:
    """One validation of a run: what the app shows and what is true."""

    strokes: float  # mean IoU on the held-out painted pixels (the score shown)
    holdout: float  # mean IoU on the hold-out images' full masks (unknown to the app)


def train_tracked(
    data: DataSet,
    labelled: list[LabelledImage],
    seconds: float,
    init: Checkpoint | None,
    steps: int | None,
    track: bool = True,
    seed: int = 0,
):
    """Train as the app does and, with ``track``, score every epoch's weights on the hold-out's
    full masks (through fit's preview of the stacked hold-out images); returns the result and
    the epochs."""
    settings = run_settings(data, seconds, steps, seed)
    if init is None and data.preset != "fast":
        init = initial_checkpoint(data.preset, data.classes, "imagenet")
    fit_train, fit_val = split_train_val(labelled, settings.val_fraction, settings.seed)
    mosaic, truth = data.test_mosaic()
    scores: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, PreviewReady):
            confusion = confusion_matrix(truth, event.prediction.classes, len(data.classes))
            scores.append(metrics_from_confusion(confusion).mean_iou)

    preview = (lambda: PreviewRequest("hold-out", mosaic)) if track else None
    result = fit(settings, fit_train, fit_val, data.classes, init=init, on_event=on_event, preview=preview)
    new = result.history[len(result.history) - len(scores) :] if scores else []
    epochs = [Epoch(float(h["mean_iou"]), score) for h, score in zip(new, scores)]
    return result, epochs


def shares_table(data: DataSet, seconds: float, seed: int, steps: int | None = None) -> None:
    length = f"{steps} steps" if steps else f"{seconds:.0f} s"
    print(f"\n### {data.name}: share painted against hold-out mean IoU ({length} of training each)\n")
    print(
        "| painted (target) | painted (actual) | strokes | simulated time | agreement with held-out strokes "
        "(shown) | hold-out mean IoU (full masks) | of full masks | gap, mean over epochs | "
        "hold-out of the epoch best by strokes (kept before) | of the last epoch | of the best epoch |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for share in SHARES:
        rng = np.random.default_rng(seed)
        labelled, strokes, pixels, total = [], 0, 0, 0
        for path, raw, truth in data.pool:
            mask, painted = scribble(truth, share, rng)
            strokes, pixels = strokes + painted.strokes, pixels + painted.pixels
            total += int((truth != IGNORE_INDEX).sum())
            labelled.append(LabelledImage(path, image_to_input(raw, data.channels), mask))
        _, epochs = train_tracked(data, labelled, seconds, None, steps, seed=seed)
        rows.append((share, pixels / total, strokes, epochs))
    full = rows[-1][3][-1].holdout
    for share, actual, strokes, epochs in rows:
        name = "full masks" if share >= 1 else f"{100 * share:g} %"
        when = "-" if share >= 1 else f"{strokes / 60:.0f} min"
        by_strokes = max(epochs, key=lambda e: (e.strokes, -epochs.index(e)))  # the first best
        kept = by_strokes if share >= 1 else epochs[-1]  # as fit keeps (fit_setup.keeps_latest)
        gap = np.mean([abs(e.strokes - e.holdout) for e in epochs])
        print(
            f"| {name} | {100 * actual:.2f} % | {strokes if share < 1 else '-'} | {when} | "
            f"{kept.strokes:.3f} | {kept.holdout:.3f} | {100 * kept.holdout / full:.0f} % | {gap:.3f} | "
            f"{by_strokes.holdout:.3f} | {kept.holdout:.3f} | {max(e.holdout for e in epochs):.3f} |"
        )


def accepted(prediction, confident: float | None, sure_only: bool = False) -> np.ndarray:
    """What Accept Prediction puts into an unpainted mask: every pixel's class; with
    ``sure_only`` (the app's default) only the pixels the model is sure of
    (``model.prediction.uncertainty.sure_pixels``); or (``confident``) only pixels whose class probability
    reaches it. The rest are left not labelled."""
    mask = prediction.classes.copy()
    if sure_only:
        mask[~sure_pixels(prediction)] = IGNORE_INDEX
    if confident is not None:
        mask[prediction.probabilities.max(axis=0) < confident] = IGNORE_INDEX
    return mask


def rounds_table(
    data: DataSet,
    seconds: float,
    rounds: int,
    budget: int,
    seed: int,
    confident: float | None = None,
    steps: int | None = None,
    scribble_share: float | None = None,
    sure_only: bool = False,
) -> None:
    """Rounds of pick, label, fine-tune. The picked image is labelled by accepting its prediction
    and correcting it with ``budget`` strokes, or (``scribble_share``) by scribbling it afresh."""
    length = f"{steps} steps" if steps else f"{seconds:.0f} s"
    if scribble_share is not None:
        how = f"the picked image scribbled to {100 * scribble_share:g} %, nothing accepted"
    else:
        accepting = "all pixels" if confident is None else f"pixels of probability >= {confident:g}"
        accepting = "the pixels the model is sure of (the app's default)" if sure_only else accepting
        how = f"{budget} correction strokes per image, accepting {accepting}"
    print(f"\n### {data.name}: rounds ({how}; {length} of fine-tuning per round)\n")
    # Round 0 is shared: the same two scribbled images and the same first model for both ways
    # of picking, so the rounds differ only by the pick.
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.pool))
    first, first_strokes = [], 0
    for index in order[:2]:  # the user starts by scribbling two images
        path, raw, truth = data.pool[index]
        mask, painted = scribble(truth, 0.02, rng)
        first.append(LabelledImage(path, image_to_input(raw, data.channels), mask))
        first_strokes += painted.strokes
    first_model, _, first_score = train(data, first, seconds, None, steps)
    results = {}
    for strategy in ("uncertainty", "random"):
        rng = np.random.default_rng(seed + 2)
        labelled, strokes, checkpoint = list(first), first_strokes, first_model
        done = {int(i) for i in order[:2]}
        row = [(strokes, first_score)]
        pick_rng = np.random.default_rng(seed + 1)
        for _ in range(rounds):
            predictor = Predictor(checkpoint, "cpu")
            left = [i for i in range(len(data.pool)) if i not in done]
            if not left:
                break
            predictions = {
                i: predictor.predict(data.pool[i][1], probabilities=confident is not None) for i in left
            }
            if strategy == "uncertainty":
                ranked = rank_by_uncertainty({data.pool[i][0]: predictions[i].uncertainty for i in left})
                chosen = next(i for i in left if data.pool[i][0] == ranked[0])
            else:
                chosen = int(pick_rng.choice(left))
            path, raw, truth = data.pool[chosen]
            if scribble_share is not None:
                mask, painted = scribble(truth, scribble_share, rng)
                strokes += painted.strokes
            else:
                mask = accepted(predictions[chosen], confident, sure_only)  # Accept, on an unpainted image
                painted = correct(mask, truth, budget, rng)
                strokes += painted.strokes + 1  # the accept key counts as one action
            labelled.append(LabelledImage(path, image_to_input(raw, data.channels), mask))
            done.add(chosen)
            checkpoint, _, score = train(data, labelled, seconds, checkpoint, steps)
            row.append((strokes, score))
        results[strategy] = row
    print(
        "| round | images labelled | uncertainty picks: actions, mean IoU | random picks: actions, mean IoU |"
    )
    print("|---|---|---|---|")
    for number, (unc, rnd) in enumerate(zip(results["uncertainty"], results["random"])):
        print(f"| {number} | {number + 2} | {unc[0]}, {unc[1]:.3f} | {rnd[0]}, {rnd[1]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--membrane", type=Path, default=ROOT.parent / "shared" / "data" / "membrane")
    parser.add_argument("--camvid", type=Path, default=ROOT.parent / "shared" / "data" / "camvid")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per run")
    parser.add_argument(
        "--steps", type=int, help="training steps per run of the shares table, not --seconds (reproducible)"
    )
    parser.add_argument("--camvid-train", type=int, default=40)
    parser.add_argument("--camvid-test", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=15, help="correction strokes per image")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sets", default="membrane,camvid", help="data sets, comma separated")
    parser.add_argument("--only", choices=("shares", "rounds", "calibration"), help="one of the experiments")
    parser.add_argument(
        "--accept-confident",
        type=float,
        metavar="P",
        help="rounds accept only pixels whose class probability is at least P (default: all)",
    )
    parser.add_argument(
        "--accept-sure",
        action="store_true",
        help="rounds accept only the pixels the model is sure of, as the app does by default",
    )
    parser.add_argument(
        "--scribble-picks",
        type=float,
        metavar="SHARE",
        help="rounds scribble the picked image to SHARE (e.g. 0.02) instead of accepting and correcting",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    loaders = {
        "sample": sample,
        "membrane": lambda: membrane(args.membrane),
        "camvid": lambda: camvid(args.camvid, args.camvid_train, args.camvid_test),
    }
    sets = [loaders[name]() for name in args.sets.split(",")]
    if args.only == "calibration":
        for data in sets:
            calibration_table(data, args.seconds, args.seed, args.steps)
        print(f"\n({time.perf_counter() - start:.0f} s in all, CPU)")
        return
    for data in sets:
        if args.only != "rounds":
            shares_table(data, args.seconds, args.seed, args.steps)
    if args.only != "shares":
        steps = round(args.steps * 2 / 3) if args.steps else None
        for data in sets:
            rounds_table(
                data,
                args.seconds * 2 / 3,
                args.rounds,
                args.budget,
                args.seed,
                args.accept_confident,
                steps,
                args.scribble_picks,
                args.accept_sure,
            )
    print(f"\n({time.perf_counter() - start:.0f} s in all, CPU)")


if __name__ == "__main__":
    main()
