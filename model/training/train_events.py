"""What ``fit`` reports while it runs and returns when it ends (immutable, safe across threads)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.networks.checkpoint import Checkpoint
from model.prediction.metrics import SegmentationMetrics
from model.prediction.predict import Prediction


@dataclass(frozen=True)
class TrainingStarted:
    device: str
    train_images: int
    val_images: int
    validating_on_training_images: bool
    total_steps: int
    steps_per_epoch: int


@dataclass(frozen=True)
class StepEnded:
    step: int
    epoch: int
    loss: float
    learning_rate: float
    images_per_s: float
    elapsed_s: float
    train_s: float
    """Time spent in training steps alone (no validation or previews)."""
    progress: float
    """Fraction of the run done, by steps or by the time budget, whichever is further."""
    threads: int = 0
    """torch's CPU threads for this step (chosen by timing when the settings leave it at 0)."""


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    step: int
    train_loss: float
    metrics: SegmentationMetrics | None
    best: bool
    elapsed_s: float
    train_s: float
    on_training_strokes: bool = False
    """Scored on the strokes it trains on (too few images to hold some out), not held-out ones."""


@dataclass(frozen=True)
class PreviewReady:
    key: object
    prediction: Prediction


TrainEvent = TrainingStarted | StepEnded | EpochEnded | PreviewReady


@dataclass(frozen=True)
class PreviewRequest:
    """An image the caller wants predicted after each epoch (``key`` comes back unchanged)."""

    key: object
    raw: np.ndarray
    nodata: np.ndarray | None = None
    """Pixels that hold no data (``model.storage.nodata``): previewed as not labelled."""


@dataclass
class TrainResult:
    checkpoint: Checkpoint
    stopped: bool
    steps: int
    best_metrics: SegmentationMetrics | None
    """The validation metrics of the kept weights."""
    history: list[dict[str, object]] = field(default_factory=list)
    kept_latest: bool = False
    """The latest weights were kept, not the best epoch's (``model.training.fit_setup.keeps_latest``)."""
    start_metrics: SegmentationMetrics | None = None
    """The model the run fine-tuned, scored on the same held-out pixels before the first step
    (None for a new model)."""
    precision: str = "float32"
    """What the steps computed in (``model.compute.precision``): float16 on CUDA, bfloat16 on a
    CPU with AMX where it timed faster than float32."""
    scoring: str = "not scored"
    """What the run scored its weights on, how often and when (``model.words.scoring_said``)."""

    @property
    def worse_than_start(self) -> bool:
        """Whether the kept weights agree less with the held-out pixels than the model the run
        started from did (by more than ``WORSE_BY``): such a run must not replace it unseen."""
        if self.start_metrics is None or self.best_metrics is None:
            return False
        return self.best_metrics.mean_iou < self.start_metrics.mean_iou - WORSE_BY


WORSE_BY = 0.005
"""Mean IoU differences below this are noise between two scorings of one model."""


LOSS_POINTS_PER_EPOCH = 64
"""A history entry keeps at most this many of its steps' losses, so a reloaded model's loss
chart follows its steps as the live chart did."""


def history_entry(
    epoch: int,
    step: int,
    losses: list[tuple[int, float]],
    elapsed_s: float,
    train_s: float,
    learning_rate: float,
    metrics: SegmentationMetrics,
    on_training_strokes: bool = False,
) -> dict[str, object]:
    """One scoring of a model, as its file keeps it: ``epoch`` numbered as the model's own
    (a fine-tuning run goes on from its start's), ``step`` as the run's, the mean of ``losses``
    (``(step, loss)`` since the last scoring) and at most ``LOSS_POINTS_PER_EPOCH`` of them;
    whether it was scored on the strokes it trains on (nothing held out)."""
    picked = np.unique(np.linspace(0, len(losses) - 1, min(len(losses), LOSS_POINTS_PER_EPOCH)).round())
    return {
        "epoch": epoch,
        "step": step,
        "train_loss": float(np.mean([loss for _, loss in losses])) if losses else float("nan"),
        "losses": [list(losses[int(i)]) for i in picked] if losses else [],
        "elapsed_s": elapsed_s,
        "train_s": train_s,
        "learning_rate": learning_rate,
        "validated_on_training_images": on_training_strokes,
        **metrics.to_dict(),
    }


def last_epoch(history: list[dict[str, object]]) -> int:
    """The epoch a model's history ends at (0 for a new model): a fine-tuning run's epochs
    follow it. Files before epochs were numbered so count one per entry."""
    if not history:
        return 0
    number = history[-1].get("epoch")
    return int(number) if isinstance(number, (int, float)) else len(history)  # type: ignore[arg-type]
