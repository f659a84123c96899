"""The training settings form (the model panel's Advanced section): where a run starts, the
network, epochs, time limit, learning rate, crop and batch size, augmentation, image memory and
channels. It shows the project's settings and writes each edit back to them (``AppState``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.networks.config import (
    AUTO_PRESET,
    PRESET_INFO,
    START_IMAGENET,
    START_SCRATCH,
    is_pretrained_preset,
)
from model.storage.image_cache import default_cache_bytes
from model.training.settings import TrainSettings
from seggui.controllers.training import START_CURRENT, START_FILE, start_of_run, window_settings
from seggui.state.app_state import AppState
from seggui.state.model_state import ModelState
from seggui.widgets.duration_spin import DurationSpin


class TrainingForm(QWidget):
    """The Advanced training options, behind a toggle."""

    def __init__(self, app: AppState, models: ModelState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app, self.models = app, models
        self._saving = False
        self._chosen = START_CURRENT  # the project's choice (what is shown may differ: start_of_run)
        outer = QVBoxLayout(self)
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
        self.budget_spin = DurationSpin("no limit", 24 * 3600)
        self.budget_spin.setToolTip(
            "Stop after this much training time, whatever the epochs: minutes and seconds "
            "(1:30 is a minute and a half); '90 s', '2 min' or '1 h' also work"
        )
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
        self.augment_check = QCheckBox("flips, rotations, intensity")
        self.augment_check.setToolTip("Random flips, rotations, brightness and contrast of the crops")
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
        self.channels_edit = QLineEdit()
        self.channels_edit.setPlaceholderText("all")
        self.channels_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"[0-9, ]*"), self.channels_edit)
        )
        self.channels_edit.setToolTip(
            "The image channels a new model reads, numbered as in the Channels dock (1, 2, 4); "
            "empty: every channel. The model remembers them and reads the same ones when it predicts"
        )
        for combo in (self.start_combo, self.preset_combo):  # long choices elide: the panel keeps its width
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        form.addRow("Start from", self.start_combo)
        form.addRow("Network", self.preset_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Time limit", self.budget_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Crop size", self.crop_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Augment", self.augment_check)
        form.addRow("Image memory", self.cache_spin)
        form.addRow("Channels", self.channels_edit)
        outer.addWidget(self.advanced)
        self.advanced.setVisible(False)
        self.advanced_toggle.toggled.connect(self._on_advanced_toggled)
        for spin in (self.epochs_spin, self.crop_spin, self.batch_spin, self.cache_spin):
            spin.valueChanged.connect(self._save)
        for dspin in (self.budget_spin, self.lr_spin):
            dspin.valueChanged.connect(self._save)
        self.budget_spin.valueChanged.connect(self._show_what_sets_the_length)
        self.preset_combo.currentIndexChanged.connect(self._save)
        self.augment_check.toggled.connect(self._save)
        self.channels_edit.editingFinished.connect(self._save)
        self.show_settings({})
        app.project_opened.connect(lambda project: self.show_settings(project.train_settings))
        app.train_settings_changed.connect(self.show_settings)
        models.model_changed.connect(lambda _: self._update_start_items())
        app.image_opened.connect(lambda _: self._update_start_items())  # ``auto`` goes by channels
        app.slide_opened.connect(lambda _: self._update_start_items())

    def _on_advanced_toggled(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def show_settings(self, saved: dict[str, object]) -> None:
        """Show a project's ``saved`` settings, defaults for what it lacks or gets wrong (not
        the echo of an edit made here: the field being typed in keeps its text)."""
        if self._saving:
            return
        saved = window_settings(saved)
        try:
            settings = TrainSettings.from_dict(saved)
        except (ValueError, TypeError):
            settings = TrainSettings(preset=AUTO_PRESET)
        widgets = (
            self.preset_combo,
            self.epochs_spin,
            self.budget_spin,
            self.lr_spin,
            self.crop_spin,
            self.batch_spin,
            self.augment_check,
            self.cache_spin,
            self.channels_edit,
            self.start_combo,
        )
        blockers = [QSignalBlocker(w) for w in widgets]
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(settings.preset))
        self.epochs_spin.setValue(settings.epochs)
        self.budget_spin.setValue(round(settings.time_budget_s or 0))
        self.lr_spin.setValue(settings.learning_rate)
        self.crop_spin.setValue(settings.crop_size)
        self.batch_spin.setValue(settings.batch_size)
        self.augment_check.setChecked(settings.augment)
        self.cache_spin.setValue(settings.cache_mb)
        self.channels_edit.setText(", ".join(str(c) for c in settings.channels))
        start = saved.get("start_from", START_CURRENT)
        self._chosen = start if isinstance(start, str) else START_CURRENT
        del blockers
        self._update_start_items()
        self._show_what_sets_the_length()

    # -- where the next run starts ----------------------------------------------------------------
    def start_from(self) -> str:
        """Where the next run starts, as shown: "current", "imagenet", "scratch", or the path of
        a file (the project's choice, or the new model a run gets while it cannot be had)."""
        data = self.start_combo.currentData()
        return str(data) if data is not None else START_CURRENT

    def _select_start(self, start: str) -> None:
        """Select ``start`` (a file path is added as an item of its own)."""
        index = self.start_combo.findData(start)
        if index < 0 and start not in (START_FILE, ""):
            self.start_combo.insertItem(self.start_combo.count() - 1, f"file: {Path(start).name}", start)
            self.start_combo.setItemData(self.start_combo.count() - 2, start, Qt.ItemDataRole.ToolTipRole)
            index = self.start_combo.count() - 2
        with QSignalBlocker(self.start_combo):
            self.start_combo.setCurrentIndex(max(index, 0))

    def _on_start_activated(self, _index: int) -> None:
        if self.start_combo.currentData() == START_FILE:
            project = self.app.project
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Start the next model from",
                str(project.models_dir if project is not None else Path.home()),
                "Models and weights (*.pt *.pth *.safetensors *.bin);;All files (*)",
            )
            self._select_start(path or START_CURRENT)
        self._chosen = self.start_from()
        self._save()

    def _update_start_items(self) -> None:
        """ "ImageNet weights" only for networks with a pretrained encoder; "the current model"
        only once there is one (until then the choice shown is the new model a run starts:
        ``start_of_run``)."""
        preset = str(self.preset_combo.currentData())
        channels = len(self.settings()["channels"]) or self.app.shown_channels  # type: ignore[arg-type]
        pretrained = is_pretrained_preset(preset, channels)
        has_model = self.models.has_model
        current = self.start_combo.model().item(self.start_combo.findData(START_CURRENT))  # type: ignore[attr-defined]
        current.setEnabled(has_model)
        current.setToolTip("" if has_model else "No model yet: the first run trains a new one")
        item = self.start_combo.model().item(self.start_combo.findData(START_IMAGENET))  # type: ignore[attr-defined]
        item.setEnabled(pretrained)
        item.setToolTip(
            "" if pretrained else "This network has no pretrained encoder: choose an encoder network"
        )
        self._select_start(start_of_run(self._chosen, preset, has_model, channels))

    def settings(self) -> dict[str, object]:
        """The editable training settings as shown (the rest keep their defaults)."""
        budget = self.budget_spin.value()
        return {
            "start_from": self._chosen,
            "preset": str(self.preset_combo.currentData()),
            "epochs": self.epochs_spin.value(),
            "time_budget_s": budget if budget > 0 else None,
            "learning_rate": self.lr_spin.value(),
            "crop_size": self.crop_spin.value(),
            "batch_size": self.batch_spin.value(),
            "augment": self.augment_check.isChecked(),
            "cache_mb": self.cache_spin.value(),
            "channels": [int(part) for part in self.channels_edit.text().replace(" ", "").split(",") if part],
        }

    def _show_what_sets_the_length(self) -> None:
        """A time limit sets a run's length: the epochs field is greyed out while there is one."""
        limited = self.budget_spin.value() > 0
        self.epochs_spin.setEnabled(not limited)
        self.epochs_spin.setToolTip(
            "The time limit sets the run's length: it trains until the limit"
            if limited
            else "Passes over the labelled pixels (a time limit, when set, decides instead)"
        )

    def _save(self) -> None:
        """An edit: into the project's settings (saved with it)."""
        self._update_start_items()
        self._saving = True
        try:
            self.app.update_train_settings(self.settings())
        finally:
            self._saving = False
