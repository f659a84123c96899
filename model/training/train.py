"""Training: ``fit`` runs the loop; ``train_from_folders`` does the whole job from two folders.

Qt-free: progress goes out through ``on_event`` (typed, immutable events), and training stops
within one step once ``should_stop()`` returns true. The GUI, the CLI and ``torchrun`` all call
these same functions.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import time
from collections.abc import Callable

import numpy as np
import torch

from model.classes import ClassInfo
from model.compute import distributed as dist_utils
from model.compute.device import choose_device, device_description, verify_device
from model.compute.precision import PrecisionTrial, precision_name, training_candidates
from model.compute.threads import DEFAULT_THREADS, ThreadTuner
from model.errors import DatasetError, SegGUIError
from model.networks.checkpoint import Checkpoint, save_checkpoint
from model.networks.config import AUTO_PRESET
from model.networks.network_choice import model_channels, resolve_preset
from model.prediction.calibration import fit_temperature
from model.prediction.evaluation import evaluate_images, scored_with_sample, split_train_val
from model.prediction.metrics import SegmentationMetrics
from model.prediction.predict import predict_tiled, without_nodata
from model.storage.image_cache import DecodedCache, cache_bytes
from model.storage.intensity import channel_count, channel_problem, intensity_range, select_channels
from model.training.data import CropDataset, Sample, find_samples
from model.training.data_loader import loader_workers, make_loader, share_caches
from model.training.ema import WeightAverage
from model.training.fit_setup import (
    BestKeeper,
    class_loss_weights,
    keeps_latest,
    make_optimizer,
    set_trainable,
    start_network,
)
from model.training.losses import segmentation_loss
from model.training.schedule import UNTIL_THE_LIMIT, learning_rate_at
from model.training.scoring_pace import ScoringPace, TimeLimit, estimated_scoring_s
from model.training.settings import TrainSettings
from model.training.train_events import (
    EpochEnded,
    PreviewReady,
    PreviewRequest,
    StepEnded,
    TrainEvent,
    TrainingStarted,
    TrainResult,
    history_entry,
    last_epoch,
)
from model.training.training_images import TrainingImage, load_training_set
from model.words import scoring_said

__all__ = [
    "UNTIL_THE_LIMIT",
    "EpochEnded",
    "PreviewReady",
    "PreviewRequest",
    "StepEnded",
    "TrainEvent",
    "TrainResult",
    "TrainSettings",
    "TrainingStarted",
    "evaluate_images",
    "fit",
    "split_train_val",
    "train_from_folders",
]

log = logging.getLogger(__name__)


def _never() -> bool:
    return False


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fit(
    settings: TrainSettings,
    train_images: list[TrainingImage],
    val_images: list[TrainingImage],
    classes: list[ClassInfo],
    *,
    init: Checkpoint | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    preview: Callable[[], PreviewRequest | None] | None = None,
    preview_interval_s: float | None = None,
    on_problem: Callable[[str], None] | None = None,
    started: float | None = None,
) -> TrainResult:
    """Train a U-Net on ``train_images`` and return the checkpoint it keeps.

    ``started`` is ``time.perf_counter()`` when the user started the run (the command, the Train
    press): ``settings.time_budget_s`` counts from it, loading included (from now without it).

    ``preview`` is asked after every epoch, and also every ``preview_interval_s`` seconds within
    long epochs, for an image to predict with the current weights (``PreviewReady`` events).

    ``init`` fine-tunes from an earlier checkpoint (its head grows if classes were added) and
    continues its history. Without ``val_images`` the labelled pixels of the training images are
    used for the metrics. The model kept is the epoch with the best validation mean IoU when the
    validation masks are mostly complete, else the latest (averaged) weights
    (``model.training.fit_setup.keeps_latest``); stopping early through ``should_stop`` still returns it.
    Images held in memory (``LabelledImage``) and images read from disk as needed
    (``StoredImage``) train alike; one that cannot be read any more is reported through
    ``on_problem`` and left out.
    """
    if not train_images:
        raise DatasetError("no labelled images to train on: paint some pixels first")
    emit = on_event or (lambda event: None)
    stop_requested = should_stop or _never
    num_classes = len(classes)
    device = dist_utils.local_device(choose_device(settings.device))
    verify_device(device)
    rank, world = dist_utils.rank(), dist_utils.world_size()
    _seed_everything(settings.seed + rank)

    start = start_network(settings, init, train_images, classes, device)
    config, model, mean, std, history = start.config, start.model, start.mean, start.std, start.history
    validation = val_images or train_images
    validating_on_training = not val_images

    total_pixels = sum(item.sampling.shape[0] * item.sampling.shape[1] for item in train_images)
    crops_per_epoch = max(len(train_images), math.ceil(total_pixels / settings.crop_size**2))
    steps_per_epoch = max(1, math.ceil(crops_per_epoch / (settings.batch_size * world)))
    # A time limit sets the run's length, not the epochs (--steps still caps it).
    timed = settings.time_budget_s is not None and not settings.max_steps
    total_steps = UNTIL_THE_LIMIT if timed else (settings.max_steps or settings.epochs * steps_per_epoch)
    workers = loader_workers(settings.num_workers, device, dist_utils.processes_on_this_machine())
    share_caches(train_images, workers)
    dataset = CropDataset(
        train_images,
        crop_size=settings.crop_size,
        length=total_steps * settings.batch_size,
        epoch_length=steps_per_epoch * settings.batch_size,
        mean=mean,
        std=std,
        augment=settings.augment,
        scale_range=(float(settings.scale_range[0]), float(settings.scale_range[1])),
        seed=settings.seed + rank,
        on_problem=on_problem,
    )
    loader = make_loader(dataset, settings.batch_size, workers, device)
    train_model: torch.nn.Module = model
    if dist_utils.is_distributed():
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    pretrained = bool(config.encoder and config.encoder_weights)
    optimizer = make_optimizer(model, settings, pretrained)
    loss_weights = class_loss_weights(settings, dataset.class_counts, num_classes, device)
    use_amp = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    # On a CPU with AMX, bfloat16 is tried against float32 for the first steps (it is faster
    # for some networks only); on CUDA float16 is used as before.
    precision = PrecisionTrial(training_candidates(device, settings.amp))

    emit(
        TrainingStarted(
            device_description(device),
            len(train_images),
            len(val_images),
            validating_on_training,
            total_steps,
            steps_per_epoch,
        )
    )
    # A model being fine-tuned is scored first, on the pixels the run is scored on, so that a
    # run ending worse (stopped early, say) is known to be worse than what it started from.
    start_metrics = None
    if init is not None and init.history:
        start_metrics = evaluate_images(model, validation, mean, std, device, stop_requested, on_problem)
    ema = WeightAverage(model, settings.ema_decay) if settings.ema_decay > 0 else None
    scored = ema.shadow if ema is not None else model  # what is validated, previewed and saved
    best = BestKeeper(rank, device, latest=keeps_latest(validation))
    limit = TimeLimit(settings.time_budget_s, time.perf_counter() if started is None else started)
    # With a limit, what the run's last scoring will take is estimated before any is timed.
    limited = settings.time_budget_s is not None
    scoring = ScoringPace(device, estimated_scoring_s(scored, validation, device) if limited else 0.0)
    threads_before = torch.get_num_threads()
    tuner = None
    if device.type == "cpu" and settings.threads == 0 and not dist_utils.is_distributed():
        tuner = ThreadTuner(DEFAULT_THREADS)
    elif device.type == "cpu" and settings.threads > 0:
        torch.set_num_threads(settings.threads)
    frozen_encoder: list[torch.nn.Parameter] = []
    if pretrained and settings.encoder_warmup > 0 and not dist_utils.is_distributed():
        frozen_encoder = list(model.encoder_parameters())  # type: ignore[operator]
        set_trainable(frozen_encoder, False)
    start = time.perf_counter()
    train_s = 0.0
    step, epoch, stopped = 0, 0, False
    lr = settings.learning_rate
    epoch_losses: list[tuple[int, float]] = []  # (step, loss) since the last scoring
    epoch_offset = last_epoch(history)  # a fine-tuned model's epochs go on from its own

    def scored_now(metrics: SegmentationMetrics, improved: bool, partial: bool = False) -> None:
        """A scoring of the epoch just ended (or, ``partial``, of the one a stop or the time
        limit cut): into the history, and to the caller, numbered as the model's own epochs."""
        elapsed, number = time.perf_counter() - start, epoch_offset + epoch + int(partial)
        held_in = validating_on_training
        entry = history_entry(number, step, epoch_losses, elapsed, train_s, lr, metrics, held_in)
        history.append(entry)
        loss = float(entry["train_loss"])  # type: ignore[arg-type]
        emit(EpochEnded(number, step, loss, metrics, improved, elapsed, train_s, held_in))
        epoch_losses.clear()

    def score(partial: bool) -> bool:
        """Score the weights as they are now (False: stopped meanwhile); ``partial``: a stop or
        the time limit cut the epoch."""
        dist_utils.sync_buffers(scored)
        with scoring:
            outcome = scored_with_sample(scored, validation, mean, std, device, stop_requested, on_problem)
        limit.restart_lap()
        if outcome is None:
            return False
        nonlocal scored_at, scorings
        metrics, sample = outcome
        scored_at, scorings = step, scorings + 1
        scored_now(metrics, best.offer(scored, metrics, sample), partial)
        return True

    scored_at, scorings = -1, 0  # the step after which the weights were last scored; how often
    window_start, window_images = start, 0
    last_preview = start
    limit.restart_lap()
    try:
        model.train()
        for images, targets in loader:
            now = limit.lap()
            # The run's end (a last scoring, which also calibrates) is kept within the limit.
            out_of_time = not limit.fits(now, 0.0, scoring.expected_s)
            if dist_utils.any_rank(stop_requested() or out_of_time, device):
                stopped = not out_of_time
                break
            progress = max(step / total_steps, limit.progress(now))
            if frozen_encoder and progress >= settings.encoder_warmup:
                set_trainable(frozen_encoder, True)
                frozen_encoder = []
            lr = learning_rate_at(progress, settings.learning_rate, settings.schedule)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            dtype = precision.before_step()
            if tuner is not None and not precision.deciding:
                tuner.before_step()
            step_start = time.perf_counter()
            images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            targets = targets.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = train_model(images)
            loss = segmentation_loss(logits.float(), targets, settings.loss, loss_weights)
            if not torch.isfinite(loss):
                advice = "lower the learning rate" + ("" if device.type == "cpu" else " or train on the CPU")
                raise SegGUIError(
                    f"training diverged on {device_description(device)} at step {step + 1} (loss is "
                    f"{loss.item()}); {advice}"
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                ema.update(model)
            step += 1
            loss_value = float(loss.detach())
            now = time.perf_counter()
            train_s += now - step_start
            if precision.deciding:
                precision.after_step(now - step_start)
                if not precision.deciding and len(precision.candidates) > 1:
                    log.info(
                        "training in %s (timed against %s)",
                        precision_name(precision.chosen),
                        ", ".join(precision_name(c) for c in precision.candidates),
                    )
            elif tuner is not None:
                tuner.after_step(now - step_start)
            epoch_losses.append((step, loss_value))
            window_images += images.shape[0] * world
            rate = window_images / max(now - window_start, 1e-9)
            emit(
                StepEnded(
                    step,
                    epoch + 1,
                    loss_value,
                    lr,
                    rate,
                    now - start,
                    train_s,
                    min(1.0, max(step / total_steps, progress)),
                    torch.get_num_threads(),
                )
            )
            end_of_epoch = step % steps_per_epoch == 0 or step == total_steps
            room = limit.fits(time.perf_counter(), scoring.expected_s, scoring.expected_s)
            if end_of_epoch and not scoring.due(step == total_steps, room):
                epoch += 1  # scored with a later epoch, or at the run's end
            elif end_of_epoch:
                epoch += 1
                if not score(partial=False):
                    stopped = True
                    break
                _emit_preview(preview, scored, mean, std, device, emit, settings.channels)
                model.train()
                window_start, window_images = time.perf_counter(), 0
                last_preview = window_start
            elif preview_interval_s is not None and now - last_preview >= preview_interval_s:
                _emit_preview(preview, scored, mean, std, device, emit, settings.channels)
                model.train()
                last_preview = time.perf_counter()

        # Stopped (or out of time) between validations: score the latest weights too, unless
        # the user stops that as well (then they are kept unscored if nothing else was); the
        # epoch it stopped in counts.
        if (epoch_losses or best.state is None) and not score(partial=step % steps_per_epoch != 0):
            best.keep_if_none(scored)
        # The kept weights' temperature, fitted on the pixels their own scoring sampled.
        sample = best.sample if not stop_requested() else None
        temperature = fit_temperature(*sample) if sample is not None else 1.0
    finally:
        torch.set_num_threads(threads_before)
        set_trainable(frozen_encoder, True)
    assert best.state is not None
    checkpoint = Checkpoint(
        config=config,
        state_dict=best.state,
        classes=list(classes),
        mean=tuple(mean),
        std=tuple(std),
        history=history,
        train_settings=settings.to_dict(),
        input_channels=settings.channels,
        temperature=temperature,
    )
    return TrainResult(
        checkpoint,
        stopped,
        step,
        best.metrics,
        history,
        best.latest,
        start_metrics,
        precision_name(precision.chosen),
        scoring_said(scorings, len(validation), validating_on_training, scored_at, step),
    )


def _emit_preview(
    preview: Callable[[], PreviewRequest | None] | None,
    model: torch.nn.Module,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    emit: Callable[[TrainEvent], None],
    picked: tuple[int, ...] = (),
) -> None:
    request = preview() if preview is not None else None
    if request is None or channel_problem(channel_count(request.raw), picked, model.config.in_channels):
        return  # an image of other channels than the run's has no preview (its own model is needed)
    raw = select_channels(request.raw, picked)
    prediction = predict_tiled(
        model,
        raw,
        in_channels=model.config.in_channels,
        mean=mean,
        std=std,
        device=device,
        return_probabilities=True,
        intensity=intensity_range(raw, request.nodata) if request.nodata is not None else None,
    )
    emit(PreviewReady(request.key, without_nodata(prediction, request.nodata)))


def train_from_folders(
    image_dir: str | os.PathLike[str],
    mask_dir: str | os.PathLike[str],
    settings: TrainSettings,
    classes: list[ClassInfo],
    *,
    out_path: str | os.PathLike[str] | None = None,
    init: Checkpoint | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_problem: Callable[[str], None] | None = None,
    ignore_value: int | None = None,
    samples: list[Sample] | None = None,
    started: float | None = None,
) -> TrainResult:
    """Find, load and split the labelled images of two folders, train, and save the model.

    Files that cannot be used are reported through ``on_problem`` and skipped; if nothing usable
    remains a ``DatasetError`` explains why. ``ignore_value`` in the masks reads as not labelled.
    ``samples`` is the folders' listing when the caller has it already. Images are read from
    disk as training needs them, through a cache of ``settings.cache_mb``. Only rank 0 writes
    ``out_path``. ``started``: as ``fit``'s (the time limit counts the loading here too).
    """
    started = time.perf_counter() if started is None else started
    samples = samples if samples is not None else find_samples(image_dir, mask_dir)
    if init is None and settings.preset == AUTO_PRESET:
        name, why = resolve_preset(settings.preset, samples, settings.channels)
        settings = dataclasses.replace(settings, preset=name)
        log.info("network %s (auto: %s)", name, why)
    in_channels = model_channels(settings.preset, init, samples, settings.channels)
    cache = DecodedCache(cache_bytes(settings.cache_mb))
    images, problems = load_training_set(
        samples, in_channels, len(classes), cache=cache, ignore_value=ignore_value, picked=settings.channels
    )
    for message in problems:
        (on_problem or log.warning)(message)
    if not images:
        reason = (
            "; ".join(problems[:3])
            if problems
            else (f"no image in {image_dir} has a mask with painted pixels in {mask_dir}")
        )
        raise DatasetError(f"nothing to train on: {reason}")
    train, val = split_train_val(images, settings.val_fraction, settings.seed)
    result = fit(
        settings,
        train,
        val,
        classes,
        init=init,
        on_event=on_event,
        should_stop=should_stop,
        on_problem=on_problem,
        started=started,
    )
    if out_path is not None and dist_utils.rank() == 0:
        save_checkpoint(out_path, result.checkpoint)
    return result
