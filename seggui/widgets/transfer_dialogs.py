"""The File > Export Masks and File > Import Labels dialogs (they only collect choices)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from model.labels.export_labels import ExportOptions
from model.labels.formats import EXPORT_FORMATS, IMPORT_FORMATS
from seggui.controllers.transfer import LabelTransfer
from seggui.state.app_state import AppState

FORMAT_NAMES = {name: fmt.title for name, fmt in EXPORT_FORMATS.items()}
IMPORT_NAMES = {kind: fmt.import_title for kind, fmt in IMPORT_FORMATS.items()}


def _path_row(edit: QLineEdit, browse) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QPushButton("Browse...")
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class ExportDialog(QDialog):
    """Format, destination and options of an export."""

    def __init__(self, default_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export masks")
        self.format_combo = QComboBox()
        for key, name in FORMAT_NAMES.items():
            self.format_combo.addItem(name, key)
        self.folder_edit = QLineEdit(str(default_folder))
        self.background_check = QCheckBox("Not-labelled pixels become background")
        self.complete_check = QCheckBox("Only fully labelled images")
        self.predictions_check = QCheckBox("Use predictions where nothing is painted")
        self.val_spin = QSpinBox()
        self.val_spin.setRange(0, 90)
        self.val_spin.setSuffix(" % validation")
        self.polygons_check = QCheckBox("COCO: polygons instead of run-length encoding")
        form = QFormLayout(self)
        form.addRow("Format", self.format_combo)
        form.addRow("Folder", _path_row(self.folder_edit, self._browse))
        form.addRow("", self.background_check)
        form.addRow("", self.complete_check)
        form.addRow("", self.predictions_check)
        form.addRow("Split", self.val_spin)
        form.addRow("", self.polygons_check)
        form.addRow(_buttons(self, "Export"))
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self._on_format_changed()

    def _on_format_changed(self) -> None:
        fmt = self.format_combo.currentData()
        self.polygons_check.setEnabled(fmt == "coco")
        self.background_check.setEnabled(fmt != "yolo")  # YOLO has no "not labelled"

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def choice(self) -> tuple[Path, ExportOptions]:
        return Path(self.folder_edit.text()), ExportOptions(
            format=self.format_combo.currentData(),
            unlabelled="background" if self.background_check.isChecked() else "keep",
            only_complete=self.complete_check.isChecked(),
            include_predictions=self.predictions_check.isChecked(),
            val_fraction=self.val_spin.value() / 100,
            coco_polygons=self.polygons_check.isChecked(),
        )


@dataclass(frozen=True)
class ImportChoice:
    """What the import dialog collected."""

    source: Path
    kind: str
    overwrite: bool = False
    outside: str = "background"
    add_classes: bool = False


class ImportDialog(QDialog):
    """What kind of labels to import, from where, whether existing masks may be replaced, what
    labelme's unshaped pixels are, and whether labels the project lacks become classes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import labels")
        self.kind_combo = QComboBox()
        for key, name in IMPORT_NAMES.items():
            self.kind_combo.addItem(name, key)
        self.source_edit = QLineEdit()
        self.overwrite_check = QCheckBox("Replace masks the project already has")
        self.outside_combo = QComboBox()
        self.outside_combo.addItem("background (as labelme2voc)", "background")
        self.outside_combo.addItem("not labelled", "unlabelled")
        self.add_classes_check = QCheckBox("Add labels this project lacks as new classes")
        self.add_classes_check.setToolTip(
            "Otherwise their shapes are left out, and the report lists them file by file"
        )
        form = QFormLayout(self)
        form.addRow("Labels", self.kind_combo)
        form.addRow("From", _path_row(self.source_edit, self._browse))
        form.addRow("Outside shapes", self.outside_combo)
        form.addRow("", self.add_classes_check)
        form.addRow("", self.overwrite_check)
        form.addRow(_buttons(self, "Import"))
        self.kind_combo.currentIndexChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.outside_combo.setEnabled(self.kind_combo.currentData() == "labelme")

    def _browse(self) -> None:
        if self.kind_combo.currentData() == "coco":
            path, _ = QFileDialog.getOpenFileName(self, "COCO annotations", "", "COCO JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder of labels")
        if path:
            self.source_edit.setText(path)

    def choice(self) -> ImportChoice:
        return ImportChoice(
            Path(self.source_edit.text()),
            self.kind_combo.currentData(),
            self.overwrite_check.isChecked(),
            self.outside_combo.currentData(),
            self.add_classes_check.isChecked(),
        )


def ask_export(parent: QWidget, app: AppState, transfer: LabelTransfer) -> None:
    """File > Export Masks...: choose the folder and format, then export in the background."""
    project = app.project
    if project is None:
        return
    dialog = ExportDialog(project.folder / "export", parent)
    if app.current is not None and app.current.georeferenced:  # masks placed where the images lie
        dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("geotiff"))
    if dialog.exec() == ExportDialog.DialogCode.Accepted:
        transfer.export(*dialog.choice())


def ask_import(parent: QWidget, app: AppState, transfer: LabelTransfer) -> None:
    """File > Import Labels...: choose the source and how, then import in the background."""
    if app.project is None:
        return
    dialog = ImportDialog(parent)
    if dialog.exec() == ImportDialog.DialogCode.Accepted:
        choice = dialog.choice()
        transfer.import_labels(
            choice.source,
            choice.kind,
            choice.overwrite,
            outside=choice.outside,
            add_classes=choice.add_classes,
        )


def ask_classes_file(parent: QWidget, app: AppState, transfer: LabelTransfer) -> None:
    """File > Classes from a Labels File...: labelme's labels.txt, a VOC list, an export's classes."""
    if app.project is None:
        return
    path, _ = QFileDialog.getOpenFileName(
        parent, "Labels file", str(app.project.folder), "Labels (*.txt *.json);;All files (*)"
    )
    if path:
        transfer.load_classes_file(Path(path))


def show_import_details(parent: QWidget, report: object) -> None:
    """What an import skipped or noted, in a box that does not block the window."""
    if isinstance(report, str) or not (report.skipped or report.notes) or not parent.isVisible():  # type: ignore[attr-defined]
        return
    box = QMessageBox(QMessageBox.Icon.Information, "Import", report.summary(), parent=parent)  # type: ignore[attr-defined]
    box.setDetailedText("\n".join([*report.skipped[:30], *report.notes[:30]]))  # type: ignore[attr-defined]
    box.open()  # not modal: the app keeps working
