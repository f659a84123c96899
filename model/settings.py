"""Training hyper-parameters, shared by the CLI, the app's project file and ``fit``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from model.config import DEFAULT_PRESET, PRESETS

LOSSES = ("ce+dice", "ce", "bce")


@dataclass(frozen=True)
class TrainSettings:
    """Training hyper-parameters; defaults suit interactive fine-tuning on a laptop CPU."""

    preset: str = DEFAULT_PRESET
    epochs: int = 30
    max_steps: int | None = None
    time_budget_s: float | None = None
    """Stop after this many seconds of training steps (validation and previews not counted)."""
    batch_size: int = 4
    """Small batches: more updates from the same crops (measured better on a CPU than 8 or 16)."""
    crop_size: int = 128
    learning_rate: float = 7.5e-4
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    loss: str = "ce+dice"
    augment: bool = True
    scale_range: tuple[float, float] = (1.0, 1.0)
    """Random zoom of training crops; off by default (it slowed learning on fixed-scale data)."""
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    num_workers: int = 0
    ema_decay: float = 0.995
    """Weight averaging for evaluation and the saved model; 0 turns it off."""

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.batch_size < 1 or self.crop_size < 16 or self.epochs < 1:
            raise ValueError("batch_size must be >= 1, crop_size >= 16 and epochs >= 1")
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
