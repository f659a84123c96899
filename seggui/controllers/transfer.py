"""Exporting and importing labels from the window: background jobs with progress and a report.

The dialogs that choose what to export or import are the window's (``seggui.widgets.transfer_dialogs``);
this controller runs the choice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.classes import read_labels_file
from model.errors import SegGUIError
from model.labels.export_labels import ExportConflict, ExportOptions, export_labels
from model.labels.import_labels import ImportProgress, import_labels
from model.storage.chunked_mask import slide_mask_folder
from model.storage.mask_names import MaskNames
from model.storage.project import Project, with_declared_classes
from seggui.controllers.image_session import ImageSession
from seggui.controllers.jobs import Jobs
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.questions import Questions
from seggui.state.app_state import AppState
from seggui.state.image_list import ImageListModel


class LabelTransfer(QObject):
    """File > Export Masks and File > Import Labels for one window."""

    export_finished = Signal(object)  # ExportReport, or an error message (str)
    import_finished = Signal(object)  # ImportReport, or an error message (str)
    progressed = Signal(int, int)  # files done, files in all
    busy_changed = Signal(bool)

    def __init__(
        self,
        app: AppState,
        *,
        image_list: ImageListModel,
        store: MaskStore,
        session: ImageSession,
        jobs: Jobs,
        questions: Questions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = app
        self.image_list, self.store, self.session = image_list, store, session
        self.jobs, self.questions = jobs, questions
        self.busy = False

    # -- classes -----------------------------------------------------------------------------------
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
        if not self.state.set_classes(tuple(classes)):
            return False
        self.state.tell(f"Classes from {path.name}: {', '.join(c.name for c in classes)}", 10000)
        return True

    def _prepare(self) -> tuple[Project, list[Path]] | None:
        """The project and its images; None if no project is open or a transfer is running."""
        if self.state.project is None or self.busy:
            return None
        return self.state.project, [r.path for r in self.image_list.records()]

    # -- export ------------------------------------------------------------------------------------
    def export(self, out_dir: Path, options: ExportOptions) -> None:
        """Export in the background; an existing file is replaced only after the user agrees."""
        prepared = self._prepare()
        if prepared is None:
            return
        project, images = prepared
        unsaved = self.store.unsaved_masks()  # strokes not on disk yet are exported too
        slide_masks = self.store.slide_masks()  # a slide's too: its open chunked mask is read

        def work(progress):
            return export_labels(
                images,
                project.mask_dir,
                list(project.classes),
                out_dir,
                options,
                predictions_dir=project.predictions_dir,
                overrides=unsaved,
                slide_masks=slide_masks,
                on_progress=progress,
            )

        self._run(work, lambda result: self._on_exported(result, out_dir, options))

    def _on_exported(self, result: object, out_dir: Path, options: ExportOptions) -> None:
        if isinstance(result, ExportConflict):
            if self.questions.confirm(
                "Replace files?",
                f"{len(result.paths)} files of this export already exist in {out_dir} "
                f"(e.g. {result.paths[0]}). Replace them?",
            ):
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
            f"Exported {result.summary()} as {options.format} to {out_dir}"  # type: ignore[attr-defined]
            + (f"; {len(result.skipped)} skipped (see the log)" if result.skipped else ""),  # type: ignore[attr-defined]
            15000,
        )
        self.export_finished.emit(result)

    # -- import ------------------------------------------------------------------------------------
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

        # Painting waits for the import: a stroke on a mask the import replaces would be lost
        # (a slide's is swapped whole) or would overwrite what was imported.
        self.session.editor.read_only = True
        self.state.tell("Importing labels: painting resumes when the import ends", 0)

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

        self._run(work, self._on_imported, ImportProgress.steps)  # a slide's file moves the bar as it goes

    def _on_imported(self, result: object) -> None:
        self.session.editor.read_only = self.state.read_only
        if isinstance(result, Exception):
            self.state.report(f"Import failed: {result}")
            self.import_finished.emit(str(result))
            return
        if result.added:  # type: ignore[attr-defined]
            self.state.set_classes(tuple(result.classes))  # type: ignore[attr-defined]
        project = self.state.project
        if project is not None and result.slides:  # type: ignore[attr-defined]
            names = MaskNames([r.path for r in self.image_list.records()])
            for image in result.slides:  # type: ignore[attr-defined]
                self.store.forget_slide_mask(slide_mask_folder(names.mask_path(image, project.mask_dir)))
        self.session.rescan()
        summary = result.summary()  # type: ignore[attr-defined]
        self.state.tell(summary, 15000)
        on_screen = self.state.slide
        if on_screen is not None and on_screen.path in result.slides:  # type: ignore[attr-defined]
            self._tell_when_reopened(on_screen.path, summary)
        self.import_finished.emit(result)

    def _tell_when_reopened(self, slide: Path, summary: str) -> None:
        """Say ``summary`` again once ``slide`` opens with its imported labels (its description
        takes the status bar from it); said once, and only for that slide."""

        def tell(opened: object) -> None:
            self.state.slide_opened.disconnect(tell)
            if getattr(opened, "path", None) == slide:
                self.state.tell(summary, 15000)

        self.state.slide_opened.connect(tell)

    # -- running ----------------------------------------------------------------------------------
    def _run(self, work, on_done, steps=lambda event: (event.index, event.total)) -> None:
        """``work(progress)`` in the background, each event ``steps(event)`` (done, total) on
        the progress bar; ``on_done`` gets its report, or the exception (an
        ``ExportConflict`` the user can answer, or what went wrong)."""
        self.busy = True
        self.busy_changed.emit(True)
        self.progressed.emit(0, 1)
        self.jobs.submit(
            lambda report: work(lambda event: report(*steps(event))),
            lambda result: self._finish(result, on_done),
            lambda error: self._finish(error, on_done),
            on_progress=self.progressed.emit,
        )

    def _finish(self, result: object, on_done) -> None:
        self.busy = False
        self.busy_changed.emit(False)
        on_done(result)
