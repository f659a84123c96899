"""The model panel: model choice, Train/Stop, progress with ETA, live charts, the prediction
overlay's controls, and the training settings form behind "Advanced". It follows ``ModelState``
and the training controller's signals and writes only its own children."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.classes import ClassInfo
from seggui.controllers.model_choice import NO_MODEL_YET, ModelChoice
from seggui.controllers.training import TimeLeft, TrainingController, format_duration
from seggui.state.app_state import AppState
from seggui.state.label_display import PREDICTION, LabelDisplay
from seggui.state.model_state import ModelState
from seggui.widgets.charts import LiveChart
from seggui.widgets.training_form import TrainingForm
from seggui.widgets.window_actions import ModelActions

MEAN_LINE = "mean of all classes"
"""The dashed line of the score chart: what the status line calls the agreement."""


def iou_title(on_training: bool) -> str:
    """The score chart's title: what its IoU is measured on (``model.words.scored_on``)."""
    return "IoU on the training strokes (none held out)" if on_training else "IoU on held-out strokes"


def _score_lines(classes: tuple[ClassInfo, ...]) -> list[tuple[str, QColor, Qt.PenStyle]]:
    """One line per foreground class in its colour, and the dashed mean of all classes."""
    lines = [(c.name, QColor(*c.color), Qt.PenStyle.SolidLine) for c in classes[1:]]
    return [*lines, (MEAN_LINE, QColor(70, 70, 70), Qt.PenStyle.DashLine)]


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setSizePolicy(button.sizePolicy().Policy.Expanding, button.sizePolicy().Policy.Fixed)
    return button


class TrainingPanel(QWidget):
    """Shows the model state and the training run; its buttons run the window's model actions."""

    def __init__(
        self,
        app: AppState,
        models: ModelState,
        *,
        choice: ModelChoice,
        training: TrainingController,
        labels: LabelDisplay,
        actions: ModelActions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.app, self.models, self.choice = app, models, choice
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Models trained in this project, newest first")
        self.model_combo.activated.connect(self._on_model_activated)
        self.device_label = QLabel("Device: finding out...")
        self.status_label = QLabel(models.status or NO_MODEL_YET)
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.eta_label = QLabel("")
        self._time_left = TimeLeft()
        self.loss_chart = LiveChart("Loss", "step")
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.iou_chart = LiveChart(iou_title(False), "epoch", (0.0, 1.0))
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
        self._steps_before = 0  # steps of the runs on the chart before the one running
        self.iou_label = QLabel("")
        self.iou_label.setWordWrap(True)
        self.iou_label.setToolTip("Each class's intersection over union on the held-out painted pixels")
        self.overlay_opacity = QSlider(Qt.Orientation.Horizontal)
        self.overlay_opacity.setRange(0, 100)
        self.overlay_opacity.setValue(45)
        self.overlay_opacity.setToolTip("Opacity of the prediction overlay")
        self.overlay_opacity.setMinimumWidth(60)  # it stays a slider in a narrow dock

        layout = QVBoxLayout(self)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model"))
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(_button(actions.load_model))
        layout.addLayout(model_row)
        layout.addWidget(self.device_label)
        buttons = QGridLayout()
        buttons.addWidget(_button(actions.train), 0, 0)
        buttons.addWidget(_button(actions.stop), 0, 1)
        buttons.addWidget(_button(actions.accept_unpainted), 1, 0)
        buttons.addWidget(_button(actions.accept_all), 1, 1)
        buttons.addWidget(_button(actions.predict_all), 2, 0)
        buttons.addWidget(_button(actions.next_uncertain), 2, 1)
        layout.addLayout(buttons)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.eta_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.status_label)
        overlay_row = QHBoxLayout()
        overlay_row.addWidget(_button(actions.show_prediction))
        overlay_row.addWidget(self.overlay_opacity, 1)
        overlay_row.addWidget(_button(actions.show_uncertainty))
        layout.addLayout(overlay_row)
        layout.addWidget(self.loss_chart, 1)
        layout.addWidget(self.iou_chart, 1)
        layout.addWidget(self.iou_label)
        layout.addWidget(self.change_label)
        self.form = TrainingForm(app, models)
        layout.addWidget(self.form)
        models.status_changed.connect(self.status_label.setText)
        models.device_changed.connect(self.device_label.setText)
        models.progress_changed.connect(lambda fraction: self.progress.setValue(round(1000 * fraction)))
        models.models_listed.connect(self.set_models)
        app.project_opened.connect(lambda project: self._on_project_opened(project.classes))
        app.classes_changed.connect(self.rename_classes)
        training.started.connect(self.start_run)
        training.stepped.connect(self.show_step)
        training.epoch_scored.connect(
            lambda event, names: self.show_epoch(
                event.epoch, event.metrics.iou, names, event.metrics.mean_iou, event.on_training_strokes
            )
        )
        training.preview_changed.connect(self.show_change)
        training.ended.connect(lambda _: self.end_run())
        training.finished.connect(lambda outcome: self._on_run_finished(outcome, app.classes))
        self.overlay_opacity.valueChanged.connect(lambda v: labels.set_opacity(PREDICTION, v / 100))
        choice.model_loaded.connect(lambda checkpoint: self.show_loaded(checkpoint.history, app.classes))

    # -- models ------------------------------------------------------------------------------
    def set_models(self, paths: list[Path], current: Path | None) -> None:
        """List model files (newest first) and select ``current``."""
        blocker = QSignalBlocker(self.model_combo)
        self.model_combo.clear()
        for path in paths:
            self.model_combo.addItem(path.name, str(path))
        if current is not None and current not in paths:
            self.model_combo.addItem(current.name, str(current))
        if current is not None:
            self.model_combo.setCurrentIndex(self.model_combo.findData(str(current)))
        else:
            self.model_combo.setCurrentIndex(-1)
            self.model_combo.setPlaceholderText(
                "training the first model..." if self.models.training else "none yet"
            )
        del blocker

    def _on_model_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data:
            self.choice.load_model(Path(data))

    def _on_project_opened(self, classes: tuple[ClassInfo, ...]) -> None:
        if not self.models.training:  # a run for the last folder keeps its progress until it ends
            self.reset(classes)

    # -- progress -----------------------------------------------------------------------------
    def set_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        """One IoU line per foreground class, in the class colours (emptied)."""
        self.iou_chart.set_series(_score_lines(classes))
        self.iou_label.setText("")
        self.change_label.setText("")

    def rename_classes(self, classes: tuple[ClassInfo, ...]) -> None:
        """Classes renamed or recoloured: the IoU lines keep their points under the new names."""
        self.iou_chart.relabel(_score_lines(classes))

    def reset(self, classes: tuple[ClassInfo, ...]) -> None:
        """Empty the time left, charts and scores (another folder or another run)."""
        self._steps_before = 0  # steps of the runs on the chart before the one running
        self.eta_label.setText("")
        self._time_left.reset()
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.set_classes(classes)

    def start_run(self, classes: tuple[ClassInfo, ...], history: list[dict[str, object]]) -> None:
        """A run begins: the charts go on from ``history``, the model it fine-tunes (empty for a
        new model), as a reloaded model's charts show all its runs."""
        self.reset(classes)
        self.show_history(history, classes)
        if self.model_combo.count() == 0:
            self.model_combo.setPlaceholderText("training the first model...")

    def show_step(self, event) -> None:
        """A training step ended (``StepEnded``): its loss on the chart, the time left."""
        left = self._time_left.update(event.progress, event.elapsed_s)
        if left is not None:
            self.eta_label.setText(f"{format_duration(left)} left")
        self.loss_chart.append("training loss", self._steps_before + event.step, event.loss)

    def show_epoch(
        self, epoch: int, iou: tuple[float, ...], names: list[str], mean: float, on_training: bool = False
    ) -> None:
        """Plot each foreground class's IoU and the mean over all classes (the score the status
        line gives) at the model's ``epoch``, and list every class's latest value; the chart
        says what they were measured on (``on_training``: the training strokes, none held out)."""
        self.iou_chart.chart().setTitle(iou_title(on_training))
        for name, value in zip(names[1:], iou[1:]):
            if not math.isnan(value):
                self.iou_chart.append(name, epoch, value)
        self.iou_chart.append(MEAN_LINE, epoch, mean)
        shown = [f"{name} {value:.2f}" for name, value in zip(names, iou) if not math.isnan(value)]
        self.iou_label.setText("IoU: " + ", ".join(shown))

    def show_history(self, history: list[dict[str, object]], classes: tuple[ClassInfo, ...]) -> None:
        """The loss and score charts of a model's training runs, from its file's history, as
        the live charts drew them (losses of the steps, scores at the model's epochs)."""
        self.loss_chart.set_series([("training loss", QColor(0, 130, 200))])
        self.iou_chart.set_series(_score_lines(classes))
        self.iou_label.setText("")  # the last run's scores: its history draws them again, if any
        names = [c.name for c in classes]
        offset = last = 0  # each run counts its steps from 1: runs follow one another on the chart
        for number, entry in enumerate(history, 1):
            try:
                step = int(entry["step"])  # type: ignore[call-overload]
                epoch = int(entry.get("epoch", number))  # type: ignore[call-overload]
                loss, mean = float(entry["train_loss"]), float(entry["mean_iou"])  # type: ignore[arg-type]
                iou = tuple(float(v) for v in entry["iou"])  # type: ignore[attr-defined]
                losses = [(int(x), float(y)) for x, y in entry.get("losses") or [(step, loss)]]  # type: ignore[attr-defined]
                on_training = bool(entry.get("validated_on_training_images"))
            except (KeyError, TypeError, ValueError):
                continue  # a history entry of another version: the rest still shows
            if step <= last:
                offset += last
            last = step
            for x, y in losses:
                self.loss_chart.append("training loss", offset + x, y)
            self.show_epoch(epoch, iou, names[: len(iou)], mean, on_training)
        self._steps_before = offset + last
        self.loss_chart.redraw()
        self.iou_chart.redraw()

    def show_loaded(self, history: list[dict[str, object]], classes: tuple[ClassInfo, ...]) -> None:
        """A model read from a file is in use: its charts; the last run's previews say nothing of it."""
        self.change_label.setText("")
        self.show_history(history, classes)

    def show_change(self, image_name: str, changed: float) -> None:
        """How much of the preview of ``image_name`` changed class since the previous one."""
        self.change_label.setText(
            f"Still changing: {100 * changed:.1f} % of {image_name}'s pixels changed class "
            "since the last preview"
        )

    def _on_run_finished(self, outcome, classes: tuple[ClassInfo, ...]) -> None:
        """The run's model in use: its charts as its file keeps them, which a reload shows."""
        if self.models.checkpoint is outcome.result.checkpoint:
            self.show_history(outcome.result.history, classes)

    def end_run(self) -> None:
        """A run ended: the charts redraw in full."""
        if self.model_combo.count() == 0:
            self.model_combo.setPlaceholderText("none yet")
        self.eta_label.setText("")
        self._time_left.reset()
        self.loss_chart.redraw()
        self.iou_chart.redraw()


def scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` in a scroll area as wide as it needs: Advanced scrolls the panel instead of
    squeezing the charts."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(panel)
    scroll.setMinimumWidth(panel.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
    return scroll
