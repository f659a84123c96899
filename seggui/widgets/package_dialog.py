"""The questions a bioimage.io package asks once (name, description, authors, licence,
citation, training data), then where to write it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from model.networks.package_info import PackageInfo
from seggui.controllers.package_export import PackageExport

LICENCES = ("CC-BY-4.0", "MIT", "Apache-2.0", "BSD-3-Clause", "CC0-1.0")


class PackageDialog(QDialog):
    """The package's description, filled with what the project kept from last time."""

    def __init__(self, info: PackageInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Model as bioimage.io")
        form = QFormLayout(self)
        self.name = QLineEdit(info.name)
        self.description = QLineEdit(info.description)
        self.authors = QLineEdit(", ".join(info.authors))
        self.authors.setToolTip("Names, separated by commas")
        self.licence = QComboBox()
        self.licence.setEditable(True)
        self.licence.addItems(LICENCES)
        self.licence.setCurrentText(info.license)
        self.licence.setToolTip("An SPDX licence id for the weights")
        self.citation = QLineEdit(info.citation)
        self.citation_link = QLineEdit(info.citation_link)
        self.training_data = QPlainTextEdit(info.training_data)
        self.training_data.setPlaceholderText("What the model was trained on: images, instrument, labels")
        self.training_data.setMaximumHeight(80)
        for label, field in (
            ("Name", self.name),
            ("Description", self.description),
            ("Authors", self.authors),
            ("Licence", self.licence),
            ("Citation", self.citation),
            ("Citation DOI or address", self.citation_link),
            ("Training data", self.training_data),
        ):
            form.addRow(label, field)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(520)

    def info(self) -> PackageInfo:
        authors = tuple(a.strip() for a in self.authors.text().split(",") if a.strip())
        return PackageInfo(
            name=self.name.text().strip() or "SegGUI model",
            description=self.description.text().strip() or PackageInfo("").description,
            authors=authors or PackageInfo("").authors,
            license=self.licence.currentText().strip() or "CC-BY-4.0",
            citation=self.citation.text().strip() or PackageInfo("").citation,
            citation_link=self.citation_link.text().strip() or PackageInfo("").citation_link,
            training_data=self.training_data.toPlainText().strip(),
        )


def ask_package_export(parent: QWidget, exporter: PackageExport) -> None:
    """Ask the package's description and where to write it, then export."""
    reason = exporter.problem()
    if reason is not None:
        exporter.app.tell(reason, 8000)
        return
    dialog = PackageDialog(exporter.saved_info(), parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    info = dialog.info()
    project = exporter.app.project
    start = str((project.models_dir if project is not None else Path.home()) / f"{info.name}.zip")
    path, _ = QFileDialog.getSaveFileName(
        parent, "Write the bioimage.io package", start, "bioimage.io packages (*.zip)"
    )
    if path:
        exporter.export(info, Path(path if path.endswith(".zip") else f"{path}.zip"))
