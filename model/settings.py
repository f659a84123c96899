"""Training hyper-parameters, shared by the CLI, the app's project file and ``fit``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from model.config import AUTO_PRESET, DEFAULT_PRESET, PRESETS

LOSSES = ("ce+dice", "ce", "bce")
AUTO_WORKERS = -1
"""``num_workers`` value that lets ``model.data_loader.loader_workers`` choose."""


@dataclass(frozen=True)
class TrainSettings:
    """Training hyper-parameters; defaults suit interactive fine-tuning on a laptop CPU."""

    preset: str = DEFAULT_PRESET
    epochs: int = 30
    max_steps: int | None = None
    time_budget_s: float | None = None
    """Stop after this many seconds of wall-clock time from the first step (validation and
    previews included; loading the images before it is not)."""
    batch_size: int = 4
    """Small batches: more updates from the same crops (measured better on a CPU than 8 or 16)."""
    crop_size: int = 128
    learning_rate: float = 7.5e-4
    encoder_lr_scale: float = 0.1
    """A pretrained encoder is fine-tuned at this fraction of ``learning_rate``."""
    encoder_warmup: float = 0.5
    """For this fraction of a run a pretrained encoder stays frozen (its backward pass skipped:
    steps twice as fast on a CPU) while the new decoder learns; then it is fine-tuned too.
    Measured on CamVid, 3 min: 0.5 gave mean IoU 0.571, 0.25 0.524, none 0.520."""
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    loss: str = "ce+dice"
    class_balance: float = 0.5
    """Weight the cross-entropy by ``(median / class pixels) ** class_balance``: 0 weighs every
    pixel alike, 0.5 softened median frequency balancing, 1 full balancing. Used with three or
    more classes: measured on CamVid (11 classes, 3 min, lite0), 0 gave mean IoU 0.405 with five
    classes never predicted, 0.3 0.482, 0.5 0.520, 1.0 0.450 (the frequent classes suffer); on
    the two-class membranes (fast, 3 min) 0.5 cost 0.006 (0.785 against 0.791), where the Dice
    term already balances the two."""
    augment: bool = True
    scale_range: tuple[float, float] = (1.0, 1.0)
    """Random zoom of training crops; off by default (it slowed learning on fixed-scale data)."""
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    num_workers: int = AUTO_WORKERS
    """Processes cutting training crops; ``AUTO_WORKERS`` (-1): none on a CPU, up to 8 on a GPU."""
    cache_mb: int = 0
    """Memory for decoded training images read from disk; 0: a sixteenth of this machine's
    memory, between 256 MB and 4 GB (``model.image_cache.default_cache_bytes``)."""
    threads: int = 0
    """torch's CPU threads while training; 0 chooses them by timing steps (``model.threads``)."""
    ema_decay: float = 0.995
    """Weight averaging for evaluation and the saved model; 0 turns it off."""

    def __post_init__(self) -> None:
        if self.preset not in PRESETS and self.preset != AUTO_PRESET:
            choices = [AUTO_PRESET, *sorted(PRESETS)]
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {choices}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.batch_size < 1 or self.crop_size < 16 or self.epochs < 1:
            raise ValueError("batch_size must be >= 1, crop_size >= 16 and epochs >= 1")
        if self.num_workers < AUTO_WORKERS or self.cache_mb < 0:
            raise ValueError("num_workers must be >= -1 (-1: automatic) and cache_mb >= 0 (0: automatic)")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0: automatic), got {self.threads}")
        if not 0.0 <= self.encoder_warmup <= 1.0 or not 0.0 <= self.class_balance <= 2.0:
            raise ValueError("encoder_warmup must be in [0, 1] and class_balance in [0, 2]")
        if not 0.0 < self.encoder_lr_scale <= 10.0:
            raise ValueError(f"encoder_lr_scale must be in (0, 10], got {self.encoder_lr_scale}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TrainSettings:
        """Settings from a project file or checkpoint (unknown keys ignored; bad values raise)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "scale_range" in known:
            known["scale_range"] = tuple(known["scale_range"])  # type: ignore[arg-type]
        return cls(**known)  # type: ignore[arg-type]
