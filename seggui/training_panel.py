"""The training panel: model choice, Train/Stop, progress with ETA, live charts, prediction overlay,
and the training settings behind an "Advanced" section."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.classes import ClassInfo
from seggui.charts import LiveChart
from seggui.training_options import TrainingOptions

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


class TrainingPanel(TrainingOptions, QWidget):
    """Shows training and model state; its buttons run the window's model actions."""

    model_picked = Signal(object)  # Path of a model file in the project's models folder
    settings_changed = Signal(object)  # dict of the editable training settings
    overlay_opacity_changed = Signal(float)

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_folder = Path.home()  # where "a file..." starts looking (the project's models)
        self.has_model = False
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
        self.change_label = QLabel("")
        self.change_label.setWordWrap(True)
        self.change_label.setToolTip(
            "How much the live prediction of the image on screen still changes between previews, "
            "unpainted pixels included: near zero, more of the same training will change little"
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
        overlay_row.addWidget(_button(actions["show_uncertainty"]))
        layout.addLayout(overlay_row)
        layout.addWidget(self.loss_chart, 1)
        layout.addWidget(self.iou_chart, 1)
        layout.addWidget(self.iou_label)
        layout.addWidget(self.change_label)
        layout.addWidget(self._build_advanced())

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
        self.change_label.setText("")

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

    def show_history(self, history: list[dict[str, object]], classes: tuple[ClassInfo, ...]) -> None:
        """The loss and score charts of a model's training runs, from its file's history."""
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.set_classes(classes)
        names = [c.name for c in classes]
        offset = last = 0  # each run counts its steps from 1: runs follow one another on the chart
        for entry in history:
            try:
                epoch, step = int(entry["epoch"]), int(entry["step"])  # type: ignore[call-overload]
                loss, mean = float(entry["train_loss"]), float(entry["mean_iou"])  # type: ignore[arg-type]
                iou = tuple(float(v) for v in entry["iou"])  # type: ignore[attr-defined]
            except (KeyError, TypeError, ValueError):
                continue  # a history entry of another version: the rest still shows
            if step <= last:
                offset += last
            last = step
            if math.isfinite(loss):
                self.loss_chart.append("training loss", offset + step, loss)
            self.show_epoch(epoch, iou, names[: len(iou)], mean)
        self.loss_chart.redraw()
        self.iou_chart.redraw()

    def show_change(self, image_name: str, changed: float) -> None:
        """How much of the preview of ``image_name`` changed class since the previous one."""
        self.change_label.setText(
            f"Still changing: {100 * changed:.1f} % of {image_name}'s pixels changed class "
            "since the last preview"
        )

    def end_run(self, message: str) -> None:
        self.eta_label.setText("")
        self._progress_samples = []
        self.status_label.setText(message)
        self.loss_chart.redraw()
        self.iou_chart.redraw()
