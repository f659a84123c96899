"""Editing the project's classes from the window: rename, recolour, add, and remove a class
from every mask of the folder (off the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from model.classes import ClassInfo
from model.storage.project import Project, remove_class_from_masks
from seggui.controllers.image_session import ImageSession
from seggui.controllers.jobs import Jobs
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.questions import Questions
from seggui.state.app_state import AppState


class ClassEditing(QObject):
    """The class list's edits, saved to the project file at once."""

    removal_started = Signal()  # masks are being rewritten: nothing can be painted meanwhile
    removal_ended = Signal()

    def __init__(
        self,
        app: AppState,
        *,
        store: MaskStore,
        session: ImageSession,
        jobs: Jobs,
        questions: Questions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.app, self.store, self.session, self.jobs, self.questions = app, store, session, jobs, questions

    def set_classes(self, classes: tuple[ClassInfo, ...]) -> bool:
        """Rename, recolour or add classes (``AppState.set_classes``)."""
        return self.app.set_classes(classes)

    def remove_class(self, index: int) -> None:
        """After confirmation, remove a class from the project and from every mask on disk."""
        project = self.app.project
        if project is None or not 0 < index < len(project.classes):
            self.app.report("Background (class 0) cannot be removed; pick another class")
            return
        name = project.classes[index].name
        if not self.questions.confirm(
            "Remove class",
            f"Remove class '{name}'? Its pixels in every mask of this folder become not labelled, and "
            "the classes after it move down one number. This cannot be undone.",
        ):
            return
        errors = self.store.flush()
        if errors:
            self.app.report("; ".join(errors))
            return
        self.removal_started.emit()

        def failed(error: BaseException) -> None:
            self.removal_ended.emit()
            self.app.report(str(error))

        self.jobs.submit(lambda: remove_class_from_masks(project, index), self._on_removed, failed)

    def _on_removed(self, result: object) -> None:
        self.removal_ended.emit()
        project, problems = result  # type: ignore[misc]
        assert isinstance(project, Project)
        for message in problems:
            self.app.report(message)
        self.session.recent_documents.clear()  # their pixels and undo steps hold the old class numbers
        self.app.update_project(project)
        current = self.app.current
        if current is not None:
            self.session.open_image(current.path)  # the file on disk is the truth now
