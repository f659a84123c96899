"""Predict All and Next Most Uncertain: every image predicted in the background, its uncertainty
shown in the list, the unfinished image the model is least sure about opened next."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from model.prediction.predict_folder import rank_by_uncertainty
from seggui.controllers.image_session import ImageSession
from seggui.controllers.model_context import ModelContext
from seggui.controllers.slide_prediction import SlidePredictions
from seggui.state.label_status import Status

if TYPE_CHECKING:
    from model.prediction.predict_folder import FolderPrediction, ImagePredicted


class Ranking(QObject):
    """Predicts the folder and ranks its unfinished images by the model's uncertainty."""

    predict_all_finished = Signal(object)  # FolderPrediction

    def __init__(
        self,
        context: ModelContext,
        session: ImageSession,
        slides: SlidePredictions,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.slides = slides
        self.app, self.models, self.service = context.app, context.models, context.service
        self.image_list, self.session = context.image_list, session
        service = context.service
        self._jump_when_ranked = False
        service.running_all_changed.connect(self.models.set_predicting_all)
        service.image_predicted.connect(self._on_image_predicted)
        service.all_predicted.connect(self._on_all_predicted)
        service.failed.connect(self._on_failed)

    def unfinished(self) -> list[Path]:
        """Images without a finished mask (the ones worth predicting and correcting)."""
        records = self.image_list.records()
        return [r.path for r in records if r.status not in (Status.LABELLED, Status.UNREADABLE)]

    def predict_all(self, images: list[Path] | None = None) -> None:
        """Predict every image (or ``images``) into the predictions folder, in the background."""
        project = self.app.project
        if project is None or self.models.checkpoint is None:
            self.app.report("Train or load a model first")
            return
        if images is None:
            images = [r.path for r in self.image_list.records() if r.status != Status.UNREADABLE]
        if not self.service.predict_all(images, project.predictions_dir, project.classes, project.image_axes):
            return
        self.models.set_progress(0.0)
        self.models.set_status(f"Predicting {len(images)} images...")

    def stop(self) -> None:
        """Stop Predict All after the image it is on."""
        if self.models.predicting_all:
            self.service.stop_all()

    def _on_image_predicted(self, done: ImagePredicted) -> None:
        self.image_list.set_uncertainty(done.image, done.uncertainty)
        self.models.set_progress(done.index / max(done.total, 1))
        self.models.set_status(f"Predicted {done.index} of {done.total}: {done.image.name}")
        if self.image_list.status_of(done.image) == Status.NO_MASK:
            self.image_list.update(done.image, Status.PREDICTED)

    def _on_all_predicted(self, result: FolderPrediction) -> None:
        for message in [*result.warnings, *result.problems]:
            self.app.report(message)
        known = self.image_list.uncertainties()
        for image, score in result.uncertainties.items():  # a slide's is known only when it ends
            if known.get(image) != score:
                self.image_list.set_uncertainty(image, score)
                if self.image_list.status_of(image) == Status.NO_MASK:
                    self.image_list.update(image, Status.PREDICTED)
        project = self.app.project
        where = project.predictions_dir if project is not None else "the predictions folder"
        verb = "Stopped after predicting" if result.stopped else "Predicted"
        caveat = ""
        if result.warnings:
            names = ", ".join(Path(line.split(": ", 1)[0]).name for line in result.warnings[:3])
            caveat = f"; NaN or infinite pixels in {names}{' and more' if len(result.warnings) > 3 else ''}"
        if not result.stopped:
            self.models.set_progress(1.0)
        self.models.set_status(f"{verb} {len(result.uncertainties)} images into {where}{caveat}")
        if self.image_list.uncertain_first:  # every image scored now: order them again
            self.image_list.set_uncertain_first(True)
        self.predict_all_finished.emit(result)
        if self._jump_when_ranked:
            self._jump_when_ranked = False
            if not result.stopped:
                self.next_uncertain()

    def _on_failed(self, path: Path | None, message: str) -> None:
        if path is not None:  # one image's (``LivePrediction``)
            return
        self._jump_when_ranked = False
        self.app.report(message)
        self.models.set_status(message)

    def next_uncertain(self) -> None:
        """Open the unfinished image with the highest uncertainty (scoring the unscored first);
        on a slide, show its region with the highest uncertainty (predicting the slide first)."""
        if self.models.checkpoint is None:
            self.app.report("Train or load a model first: the ranking needs its predictions")
            return
        slide = self.app.slide
        if slide is not None:
            if not self.slides.next_uncertain_region():
                self.app.tell(
                    f"Predicting {slide.path.name} region by region; Next Most Uncertain ranks the "
                    "regions predicted so far",
                    10000,
                )
                self.predict_all([slide.path])
            return
        candidates = self.unfinished()
        scores = self.image_list.uncertainties()
        missing = [p for p in candidates if p not in scores]
        if missing:
            self._jump_when_ranked = True
            self.predict_all(missing)
            return
        current = self.app.current.path if self.app.current is not None else None
        scores = {p: scores[p] for p in candidates}
        ranked = rank_by_uncertainty(scores, exclude={current} if current is not None else set())
        if not ranked:
            self.app.tell("Every image has a finished mask", 5000)
            return
        target = ranked[0]
        self.app.tell(
            f"{target.name}: uncertainty {scores[target]:.3f} (highest of {len(scores)} unfinished images)",
            8000,
        )
        self.session.open_image(target)
