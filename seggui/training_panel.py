"""The training panel: model choice, Train/Stop, progress with ETA, live charts, prediction overlay,
and the training settings behind an "Advanced" section."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.classes import ClassInfo
from model.config import AUTO_PRESET, PRESET_INFO, START_IMAGENET, START_SCRATCH, is_pretrained_preset
from model.image_cache import default_cache_bytes
from model.settings import TrainSettings
from seggui.charts import LiveChart

START_CURRENT = "current"
START_FILE = "file"

EDITABLE_SETTINGS = (
    "preset",
    "epochs",
    "time_budget_s",
    "learning_rate",
    "crop_size",
    "batch_size",
    "augment",
)


NO_MODEL_YET = "No model yet: paint a few strokes of each class, then Train."
ETA_WINDOW_S = 60.0
"""Time left is estimated from the progress made in this many seconds."""


MEAN_LINE = "mean of all classes"
"""The dashed line of the score chart: what the status line calls the agreement."""


def _score_lines(classes: tuple[ClassInfo, ...]) -> list[tuple[str, QColor, Qt.PenStyle]]:
    """One line per foreground class in its colour, and the dashed mean of all classes."""
    lines = [(c.name, QColor(*c.color), Qt.PenStyle.SolidLine) for c in classes[1:]]
    return [*lines, (MEAN_LINE, QColor(70, 70, 70), Qt.PenStyle.DashLine)]


def format_duration(seconds: float) -> str:
    """``1:05`` style (``1:02:03`` past an hour)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setSizePolicy(button.sizePolicy().Policy.Expanding, button.sizePolicy().Policy.Fixed)
    return button


class TrainingPanel(QWidget):
    """Shows training and model state; its buttons run the window's model actions."""

    model_picked = Signal(object)  # Path of a model file in the project's models folder
    settings_changed = Signal(object)  # dict of the editable training settings
    overlay_opacity_changed = Signal(float)

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_folder = Path.home()  # where "a file..." starts looking (the project's models)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Models trained in this project, newest first")
        self.model_combo.activated.connect(self._on_model_activated)
        self.device_label = QLabel("Device: finding out...")
        self.status_label = QLabel(NO_MODEL_YET)
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.eta_label = QLabel("")
        self._progress_samples: list[tuple[float, float]] = []
        self.loss_chart = LiveChart("Loss", "step")
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.iou_chart = LiveChart("Agreement with held-out strokes (IoU)", "epoch", (0.0, 1.0))
        self.iou_chart.setToolTip(
            "IoU on the painted pixels of images held out from training. Strokes lie inside regions, "
            "so with scribbles this reads higher than the quality at region edges; full masks, or "
            "'evaluate' on fully labelled images, measure that."
        )
        self.iou_label = QLabel("")
        self.iou_label.setWordWrap(True)
        self.iou_label.setToolTip("Each class's intersection over union on the held-out painted pixels")
        self.overlay_opacity = QSlider(Qt.Orientation.Horizontal)
        self.overlay_opacity.setRange(0, 100)
        self.overlay_opacity.setValue(45)
        self.overlay_opacity.setToolTip("Opacity of the prediction overlay")
        self.overlay_opacity.valueChanged.connect(lambda v: self.overlay_opacity_changed.emit(v / 100))

        layout = QVBoxLayout(self)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model"))
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(_button(actions["load_model"]))
        layout.addLayout(model_row)
        layout.addWidget(self.device_label)
        buttons = QGridLayout()
        buttons.addWidget(_button(actions["train"]), 0, 0)
        buttons.addWidget(_button(actions["stop"]), 0, 1)
        buttons.addWidget(_button(actions["accept_unpainted"]), 1, 0)
        buttons.addWidget(_button(actions["accept_all"]), 1, 1)
        buttons.addWidget(_button(actions["predict_all"]), 2, 0)
        buttons.addWidget(_button(actions["next_uncertain"]), 2, 1)
        layout.addLayout(buttons)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.eta_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.status_label)
        overlay_row = QHBoxLayout()
        overlay_row.addWidget(_button(actions["show_prediction"]))
        overlay_row.addWidget(self.overlay_opacity, 1)
        layout.addLayout(overlay_row)
        layout.addWidget(self.loss_chart, 1)
        layout.addWidget(self.iou_chart, 1)
        layout.addWidget(self.iou_label)
        layout.addWidget(self._build_advanced())

    # -- advanced settings -------------------------------------------------------------------
    def _build_advanced(self) -> QWidget:
        box = QWidget()
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 0, 0, 0)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        outer.addWidget(self.advanced_toggle)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        self.preset_combo = QComboBox()
        for name, info in PRESET_INFO.items():  # "auto" first
            self.preset_combo.addItem(info.title, name)
        self.preset_combo.setToolTip(
            "Network for a new model: an ImageNet-pretrained encoder learns colour and multi-class "
            "images from few strokes; the scratch U-Nets suit grey microscopy"
        )
        self.start_combo = QComboBox()
        self.start_combo.addItem("the current model (fine-tune)", START_CURRENT)
        self.start_combo.addItem("ImageNet weights (new model)", START_IMAGENET)
        self.start_combo.addItem("random weights (new model, scratch)", START_SCRATCH)
        self.start_combo.addItem("a file...", START_FILE)
        self.start_combo.setToolTip(
            "What the next training run starts from: fine-tune the model in use, a new model whose "
            "encoder starts from ImageNet weights, a new model from random weights, or a file (a "
            "SegGUI model from any project, or weights for the network's encoder)"
        )
        self.start_combo.activated.connect(self._on_start_activated)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10000)
        self.budget_spin = QDoubleSpinBox()
        self.budget_spin.setRange(0, 24 * 60)
        self.budget_spin.setDecimals(1)
        self.budget_spin.setSuffix(" min")
        self.budget_spin.setSpecialValueText("no limit")
        self.budget_spin.setToolTip("Stop after this much training time, whatever the epochs")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(1e-5, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.crop_spin = QSpinBox()
        self.crop_spin.setRange(32, 1024)
        self.crop_spin.setSingleStep(32)
        self.crop_spin.setSuffix(" px")
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 256)
        self.augment_check = QCheckBox("flips, rotations, brightness, contrast")
        self.cache_spin = QSpinBox()
        self.cache_spin.setRange(0, 1 << 20)
        self.cache_spin.setSingleStep(256)
        self.cache_spin.setSuffix(" MB")
        automatic = default_cache_bytes() >> 20
        self.cache_spin.setSpecialValueText(f"automatic ({automatic} MB)")
        self.cache_spin.setToolTip(
            "Memory for decoded training images: images beyond it are read from disk again when "
            f"training needs them, so any number of images trains. Automatic: {automatic} MB, a "
            "sixteenth of this computer's memory (between 256 MB and 4 GB)"
        )
        form.addRow("Start from", self.start_combo)
        form.addRow("Network", self.preset_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Time limit", self.budget_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Crop size", self.crop_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Augment", self.augment_check)
        form.addRow("Image memory", self.cache_spin)
        outer.addWidget(self.advanced)
        self.advanced.setVisible(False)
        self.advanced_toggle.toggled.connect(self._on_advanced_toggled)
        for spin in (self.epochs_spin, self.crop_spin, self.batch_spin, self.cache_spin):
            spin.valueChanged.connect(self._emit_settings)
        for dspin in (self.budget_spin, self.lr_spin):
            dspin.valueChanged.connect(self._emit_settings)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        self.augment_check.toggled.connect(self._emit_settings)
        self.set_settings({})
        return box

    def _on_advanced_toggled(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def set_settings(self, saved: dict[str, object]) -> None:
        """Show ``saved`` settings (a project's), defaults for what it lacks or gets wrong."""
        defaults = TrainSettings()
        try:
            settings = TrainSettings.from_dict(saved)
        except (ValueError, TypeError):
            settings = defaults
        widgets = (
            self.preset_combo,
            self.epochs_spin,
            self.budget_spin,
            self.lr_spin,
            self.crop_spin,
            self.batch_spin,
            self.augment_check,
            self.cache_spin,
        )
        blocked = [w.blockSignals(True) for w in widgets]
        # A project that never chose a network gets the measured default: "auto".
        chosen = settings.preset if "preset" in saved else AUTO_PRESET
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(chosen))
        self.epochs_spin.setValue(settings.epochs)
        self.budget_spin.setValue((settings.time_budget_s or 0) / 60)
        self.lr_spin.setValue(settings.learning_rate)
        self.crop_spin.setValue(settings.crop_size)
        self.batch_spin.setValue(settings.batch_size)
        self.augment_check.setChecked(settings.augment)
        self.cache_spin.setValue(settings.cache_mb)
        for widget, was in zip(widgets, blocked):
            widget.blockSignals(was)
        start = saved.get("start_from", START_CURRENT)
        self.set_start_from(start if isinstance(start, str) else START_CURRENT)

    # -- where the next run starts ----------------------------------------------------------------
    def start_from(self) -> str:
        """ "current", "imagenet", "scratch", or the path of a chosen file."""
        data = self.start_combo.currentData()
        return str(data) if data is not None else START_CURRENT

    def set_start_from(self, start: str) -> None:
        """Select ``start`` (a file path is added as an item of its own)."""
        index = self.start_combo.findData(start)
        if index < 0 and start not in (START_FILE, ""):
            self.start_combo.insertItem(self.start_combo.count() - 1, f"file: {Path(start).name}", start)
            self.start_combo.setItemData(self.start_combo.count() - 2, start, Qt.ItemDataRole.ToolTipRole)
            index = self.start_combo.count() - 2
        self.start_combo.blockSignals(True)
        self.start_combo.setCurrentIndex(max(index, 0))
        self.start_combo.blockSignals(False)
        self._update_start_items()

    def _on_start_activated(self, _index: int) -> None:
        if self.start_combo.currentData() == START_FILE:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Start the next model from",
                str(self.models_folder),
                "Models and weights (*.pt *.pth *.safetensors *.bin);;All files (*)",
            )
            self.set_start_from(path or START_CURRENT)
        self._emit_settings()

    def _on_preset_changed(self) -> None:
        self._update_start_items()
        self._emit_settings()

    def _update_start_items(self) -> None:
        """ "ImageNet weights" only for networks with a pretrained encoder."""
        pretrained = is_pretrained_preset(str(self.preset_combo.currentData()))
        item = self.start_combo.model().item(self.start_combo.findData(START_IMAGENET))  # type: ignore[attr-defined]
        item.setEnabled(pretrained)
        item.setToolTip(
            "" if pretrained else "This network has no pretrained encoder: choose an encoder network"
        )
        if not pretrained and self.start_combo.currentData() == START_IMAGENET:
            self.start_combo.blockSignals(True)
            self.start_combo.setCurrentIndex(self.start_combo.findData(START_SCRATCH))
            self.start_combo.blockSignals(False)

    def settings(self) -> dict[str, object]:
        """The editable training settings as shown (the rest keep their defaults)."""
        budget = self.budget_spin.value() * 60
        return {
            "start_from": self.start_from(),
            "preset": str(self.preset_combo.currentData()),
            "epochs": self.epochs_spin.value(),
            "time_budget_s": budget if budget > 0 else None,
            "learning_rate": self.lr_spin.value(),
            "crop_size": self.crop_spin.value(),
            "batch_size": self.batch_spin.value(),
            "augment": self.augment_check.isChecked(),
            "cache_mb": self.cache_spin.value(),
        }

    def _emit_settings(self) -> None:
        self.settings_changed.emit(self.settings())

    # -- models ------------------------------------------------------------------------------
    def set_models(self, paths: list[Path], current: Path | None) -> None:
        """List model files (newest first) and select ``current``."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for path in paths:
            self.model_combo.addItem(path.name, str(path))
        if current is not None and current not in paths:
            self.model_combo.addItem(current.name, str(current))
        if current is not None:
            self.model_combo.setCurrentIndex(self.model_combo.findData(str(current)))
        else:
            self.model_combo.setCurrentIndex(-1)
            self.model_combo.setPlaceholderText("none yet")
        self.model_combo.blockSignals(False)

    def _on_model_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data:
            self.model_picked.emit(Path(data))

    # -- progress -----------------------------------------------------------------------------
    def set_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        """One IoU line per foreground class, in the class colours (emptied)."""
        self.iou_chart.set_series(_score_lines(classes))
        self.iou_label.setText("")

    def rename_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        """Classes renamed or recoloured: the IoU lines keep their points under the new names."""
        self.iou_chart.relabel(_score_lines(classes))

    def reset(self, classes: tuple[ClassInfo, ...], message: str) -> None:
        """Empty progress, charts and scores (another folder is open: nothing of the last one stays)."""
        self.progress.setValue(0)
        self.eta_label.setText("")
        self._progress_samples = []
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.set_classes(classes)
        self.status_label.setText(message)

    def start_run(self, classes: tuple[ClassInfo, ...]) -> None:
        """Reset progress and charts for a new run."""
        self.reset(classes, "Loading the labelled images...")

    def show_step(self, step: int, loss: float, progress: float, elapsed_s: float) -> None:
        self.progress.setValue(round(1000 * progress))
        left = self._time_left(progress, elapsed_s)
        if left is not None:
            self.eta_label.setText(f"{format_duration(left)} left")
        self.loss_chart.append("training loss", step, loss)

    def _time_left(self, progress: float, elapsed_s: float) -> float | None:
        """Seconds left at the pace of the last ``ETA_WINDOW_S`` (the time before the first step,
        spent loading, is not counted as pace), None until there is enough to go on."""
        samples = self._progress_samples
        samples.append((elapsed_s, progress))
        while len(samples) > 2 and elapsed_s - samples[1][0] >= ETA_WINDOW_S:
            samples.pop(0)
        start_s, start_progress = samples[0]
        if progress < 0.02 or elapsed_s - start_s < 5.0 or progress <= start_progress:
            return None
        return (1.0 - progress) * (elapsed_s - start_s) / (progress - start_progress)

    def show_download(self, done: int, total: int) -> None:
        """Progress of the pretrained weights' download (before training starts)."""
        if total > 0:
            self.progress.setValue(round(1000 * min(done / total, 1.0)))
        of = f" of {total / 1e6:.1f}" if total > 0 else ""
        self.status_label.setText(
            f"Downloading the ImageNet weights: {done / 1e6:.1f}{of} MB "
            "(Stop cancels; they are kept for next time)"
        )

    def show_epoch(self, epoch: int, iou: tuple[float, ...], names: list[str], mean: float) -> None:
        """Plot each foreground class's IoU and the mean over all classes (the score the status
        line gives), and list every class's latest value."""
        for name, value in zip(names[1:], iou[1:]):
            if not math.isnan(value):
                self.iou_chart.append(name, epoch, value)
        self.iou_chart.append(MEAN_LINE, epoch, mean)
        shown = [f"{name} {value:.2f}" for name, value in zip(names, iou) if not math.isnan(value)]
        self.iou_label.setText("IoU: " + ", ".join(shown))

    def end_run(self, message: str) -> None:
        self.eta_label.setText("")
        self._progress_samples = []
        self.status_label.setText(message)
        self.loss_chart.redraw()
        self.iou_chart.redraw()
