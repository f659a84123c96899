"""The first use of a prompt model: which model, its size and licence, a download with progress
and Cancel, and when it fails, why and the two ways round (a mirror, or files downloaded by hand
and loaded here). Not modal: the window goes on while it downloads."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from model.errors import SegGUIError
from model.prompts.catalogue import (
    DownloadCancelled,
    DownloadFailed,
    DownloadProgress,
    download,
    download_bytes,
    licence,
    load_from_files,
    model_info,
)
from seggui.controllers.jobs import Jobs
from seggui.controllers.prompting import PromptController

MB = 1_000_000


def _megabytes(count: int) -> str:
    return f"{count / MB:,.1f} MB" if count < 100 * MB else f"{count / MB:,.0f} MB"


class PromptModelDialog(QDialog):
    """Get the weights of prompt model ``name``: download them, or load files from disk."""

    ready = Signal(str)  # the model's weights are in the cache: prompts can start

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        info = model_info(name)
        spdx, licence_url = licence(name)
        self.setWindowTitle(f"Prompt model: {info.title}")
        self.jobs = Jobs("prompt model download", 2, self)
        self._cancel: threading.Event | None = None
        layout = QVBoxLayout(self)
        about = QLabel(
            f"<b>{info.title}</b> turns a click or a box into the object's mask. "
            f"{info.parameters} parameters{'; ' + info.advice if info.advice else ''}.<br>"
            f'Licence of its weights: <a href="{licence_url}">{spdx}</a>.<br><br>'
            "Its weights are downloaded once, checked against their SHA-256, and kept in "
            f"{Path('~/.cache/osam')} for every project; prompts then run on this computer "
            "without a network. Nothing is downloaded unless you press Download."
        )
        about.setWordWrap(True)
        about.setOpenExternalLinks(True)
        layout.addWidget(about)
        self.size_label = QLabel("Size: asking the server...")
        self.size_label.setWordWrap(True)  # "unknown, the server cannot be reached now (why)"
        layout.addWidget(self.size_label)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.file_button = QPushButton("Load From File...")
        self.file_button.setToolTip("Files you downloaded yourself, for a computer without a network")
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.file_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.download_button.clicked.connect(self.start_download)
        self.file_button.clicked.connect(self.choose_files)
        self.cancel_button.clicked.connect(self.cancel)
        self.setMinimumWidth(520)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(80)
        self.details.setVisible(False)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.jobs.submit(lambda: download_bytes(name), self._show_size, self._size_unknown)

    def _size_unknown(self, error: BaseException) -> None:
        reason = getattr(error, "reason", None) or error
        self.size_label.setText(f"Size: unknown, the server cannot be reached now ({reason})")

    def _show_size(self, count: int | None) -> None:
        self.size_label.setText(
            f"Download: {_megabytes(count)}"
            if count
            else "Size: the server does not say (shown as it downloads)"
        )

    def start_download(self) -> None:
        """Download the weights on a worker; the bar follows each file."""
        self._cancel = threading.Event()
        cancel = self._cancel
        self.download_button.setEnabled(False)
        self.file_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._say("Downloading...", error=False)
        self.jobs.submit(
            lambda report: download(self.name, progress=report, cancel=cancel),
            lambda _: self._done(),
            self._failed,
            on_progress=self._on_progress,
            key="download",
        )

    def _on_progress(self, progress: DownloadProgress) -> None:
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        self.progress.setFormat(
            f"{progress.role} (file {progress.number} of {progress.files}): {_megabytes(progress.done)}"
            + (f" of {_megabytes(progress.total)}" if progress.total else "")
        )

    def cancel(self) -> None:
        """Stop a download (nothing of it is kept), or close."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self._say("Cancelling...", error=False)
            return
        self.reject()

    def _failed(self, error: BaseException) -> None:
        self._cancel = None
        self.download_button.setEnabled(True)
        self.file_button.setEnabled(True)
        self.progress.setVisible(False)
        if isinstance(error, DownloadCancelled):
            self._say("The download was cancelled; nothing of it was kept.", error=False)
            return
        if isinstance(error, DownloadFailed):
            self._say(f"Cannot download {model_info(self.name).title}. {error.ways_round}", error=True)
            self.details.setPlainText(error.reason)
            self.details.setVisible(True)
        else:
            self._say(str(error), error=True)
        self.download_button.setText("Try Again")
        self.adjustSize()

    def _done(self) -> None:
        self._cancel = None
        self.progress.setVisible(False)
        self.ready.emit(self.name)
        self.accept()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            f"The files of {model_info(self.name).title}",
            str(Path.home()),
            "ONNX models (*.onnx);;All files (*)",
        )
        if paths:
            self.load_files([Path(p) for p in paths])

    def load_files(self, paths: list[Path]) -> None:
        """Check ``paths`` against the model's SHA-256 and put them in the cache (on a worker:
        a large file takes seconds to check)."""
        self.file_button.setEnabled(False)
        self._say("Checking the files...", error=False)
        self.jobs.submit(lambda: load_from_files(self.name, paths), self._loaded, self._load_failed)

    def _loaded(self, missing: list[str]) -> None:
        self.file_button.setEnabled(True)
        if missing:
            self._say(f"Kept. Still missing: the {' and '.join(missing)} file; load it too.", error=False)
            return
        self._done()

    def _load_failed(self, error: BaseException) -> None:
        self.file_button.setEnabled(True)
        self._say(
            str(error) if isinstance(error, SegGUIError) else f"Cannot load the files: {error}", error=True
        )

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: rgb(200, 30, 30);" if error else "")
        self.message.setVisible(True)
        self.adjustSize()

    def done(self, result: int) -> None:
        if self._cancel is not None:
            self._cancel.set()
        super().done(result)


class WeightsAsker:
    """The window's first-use dialog for prompt models: shown when the prompts need weights
    that are not here, or from Model > Prompt Model > Load From File; one at a time."""

    def __init__(self, prompts: PromptController, parent: QWidget) -> None:
        self.prompts, self.parent = prompts, parent
        self.dialog: PromptModelDialog | None = None
        prompts.weights_needed.connect(self.ask)

    def ask(self, name: str) -> None:
        dialog = self.dialog
        if dialog is not None and dialog.isVisible() and dialog.name == name:
            dialog.raise_()
            return
        if dialog is not None:
            dialog.close()
        dialog = PromptModelDialog(name, self.parent)
        dialog.ready.connect(lambda _: self.prompts.prepare())
        self.dialog = dialog
        dialog.show()
