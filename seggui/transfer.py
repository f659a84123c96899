"""Exporting and importing labels from the window: background jobs with progress and a report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressBar, QWidget

from model.classes import read_labels_file
from model.errors import SegGUIError
from model.labels.export_labels import ExportConflict, ExportOptions, export_labels
from model.labels.import_labels import import_labels
from model.storage.project import with_declared_classes
from seggui.actions import make_action
from seggui.transfer_dialogs import ExportDialog, ImportDialog

if TYPE_CHECKING:
    from model.storage.project import Project
    from seggui.app_state import AppState
    from seggui.browser import ImageListModel
    from seggui.jobs import Jobs
    from seggui.mask_store import MaskStore


class LabelTransfer(QObject):
    """File > Export Masks and File > Import Labels for one window."""

    export_finished = Signal(object)  # ExportReport, or an error message (str)
    import_finished = Signal(object)  # ImportReport, or an error message (str)

    def __init__(
        self,
        state: AppState,
        *,
        dialog_parent: QWidget,
        image_list: ImageListModel,
        store: MaskStore,
        jobs: Jobs,
    ) -> None:
        super().__init__(dialog_parent)
        self.state = state
        self.dialog_parent = dialog_parent
        self.image_list = image_list
        self.store = store
        self.jobs = jobs
        self.busy = False
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.export_action = make_action(self, "&Export Masks...", self._ask_export, "Ctrl+E")
        self.import_action = make_action(self, "&Import Labels...", self._ask_import, "Ctrl+I")
        self.classes_action = make_action(self, "Classes from a &Labels File...", self._ask_classes_file)

    # -- classes -----------------------------------------------------------------------------------
    def _ask_classes_file(self) -> None:
        if self.state.project is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self.dialog_parent,
            "Labels file",
            str(self.state.project.folder),
            "Labels (*.txt *.json);;All files (*)",
        )
        if path:
            self.load_classes_file(Path(path))

    def load_classes_file(self, path: Path) -> bool:
        """Use the classes of a labels file (labelme's labels.txt, a VOC list, an export's
        classes.json) for the open project; False, with the reason shown, if they cannot be."""
        if self.state.project is None:
            return False
        try:
            classes = read_labels_file(path)
            with_declared_classes(self.state.project, classes)  # refused if masks would change meaning
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.state.report(f"{path}: cannot read the classes ({exc})")
            return False
        except SegGUIError as exc:
            self.state.report(str(exc))
            return False
        self.state.classes_requested.emit(tuple(classes))
        self.state.tell(f"Classes from {path.name}: {', '.join(c.name for c in classes)}", 10000)
        return True

    def _prepare(self) -> tuple[Project, list[Path]] | None:
        """The project and its images; None if no project is open or a transfer is running."""
        if self.state.project is None or self.busy:
            return None
        return self.state.project, [r.path for r in self.image_list.records()]

    # -- export ------------------------------------------------------------------------------------
    def _ask_export(self) -> None:
        project = self.state.project
        if project is None:
            return
        dialog = ExportDialog(project.folder / "export", self.dialog_parent)
        if dialog.exec() == ExportDialog.DialogCode.Accepted:
            self.export(*dialog.choice())

    def export(self, out_dir: Path, options: ExportOptions) -> None:
        """Export in the background; an existing file is replaced only after the user agrees."""
        prepared = self._prepare()
        if prepared is None:
            return
        project, images = prepared
        unsaved = self.store.unsaved_masks()  # strokes not on disk yet are exported too

        def work(progress):
            return export_labels(
                images,
                project.mask_dir,
                list(project.classes),
                out_dir,
                options,
                predictions_dir=project.predictions_dir,
                overrides=unsaved,
                on_progress=progress,
            )

        self._run(work, lambda result: self._on_exported(result, out_dir, options))

    def _on_exported(self, result: object, out_dir: Path, options: ExportOptions) -> None:
        if isinstance(result, ExportConflict):
            answer = QMessageBox.question(
                self.dialog_parent,
                "Replace files?",
                f"{len(result.paths)} files of this export already exist in {out_dir} "
                f"(e.g. {result.paths[0]}). Replace them?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.export(out_dir, dataclasses.replace(options, overwrite=True))
            else:
                self.export_finished.emit(str(result))
            return
        if isinstance(result, Exception):
            self.state.report(f"Export failed, the folder is unchanged: {result}")
            self.export_finished.emit(str(result))
            return
        for message in result.skipped:  # type: ignore[attr-defined]
            self.state.report(f"Not exported: {message}")
        self.state.tell(
            f"Exported {len(result.exported)} masks as {options.format} to {out_dir}"  # type: ignore[attr-defined]
            + (f"; {len(result.skipped)} skipped (see the log)" if result.skipped else ""),  # type: ignore[attr-defined]
            15000,
        )
        self.export_finished.emit(result)

    # -- import ------------------------------------------------------------------------------------
    def _ask_import(self) -> None:
        if self.state.project is None:
            return
        dialog = ImportDialog(self.dialog_parent)
        if dialog.exec() == ImportDialog.DialogCode.Accepted:
            choice = dialog.choice()
            self.import_labels(
                choice.source,
                choice.kind,
                choice.overwrite,
                outside=choice.outside,
                add_classes=choice.add_classes,
            )

    def import_labels(
        self,
        source: Path,
        kind: str,
        overwrite: bool = False,
        *,
        outside: str = "background",
        add_classes: bool = False,
    ) -> None:
        """Read labels into the project's mask folder in the background, then show what happened
        (classes added for unknown labels join the project)."""
        prepared = self._prepare()
        if prepared is None:
            return
        project, images = prepared
        # Import writes into the mask folder: every stroke goes to disk first, so the writer
        # cannot replace an imported mask afterwards, nor import overwrite a newer stroke.
        errors = self.store.flush()
        if errors:
            self.state.report("; ".join(errors))
            return

        def work(progress):
            return import_labels(
                source,
                kind,
                images,
                project.mask_dir,
                list(project.classes),
                overwrite=overwrite,
                outside=outside,
                add_classes=add_classes,
                on_progress=progress,
            )

        self._run(work, self._on_imported)

    def _on_imported(self, result: object) -> None:
        if isinstance(result, Exception):
            self.state.report(f"Import failed: {result}")
            self.import_finished.emit(str(result))
            return
        if result.added:  # type: ignore[attr-defined]
            self.state.classes_requested.emit(tuple(result.classes))  # type: ignore[attr-defined]
        self.state.rescan_requested.emit()
        text = result.summary()  # type: ignore[attr-defined]
        details = "\n".join([*result.skipped[:30], *result.notes[:30]])  # type: ignore[attr-defined]
        self.state.tell(text, 15000)
        if (result.skipped or result.notes) and self.dialog_parent.isVisible():  # type: ignore[attr-defined]
            box = QMessageBox(QMessageBox.Icon.Information, "Import", text, parent=self.dialog_parent)
            box.setDetailedText(details)
            box.open()  # not modal: the app keeps working
        self.import_finished.emit(result)

    # -- running ----------------------------------------------------------------------------------
    def _run(self, work, on_done) -> None:
        """``work(progress)`` in the background; ``on_done`` gets its report, or the exception
        (an ``ExportConflict`` the user can answer, or what went wrong)."""
        self.busy = True
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.jobs.submit(
            lambda report: work(lambda event: report(event.index, event.total)),
            lambda result: self._finish(result, on_done),
            lambda error: self._finish(error, on_done),
            on_progress=self._on_progress,
        )

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _finish(self, result: object, on_done) -> None:
        self.busy = False
        self.progress.setVisible(False)
        on_done(result)
