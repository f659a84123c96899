"""Predict All and Next Most Uncertain: every image predicted in the background, its uncertainty
shown in the list, the unfinished image the model is least sure about opened next.

Mixed into ``ModelLoop`` (``seggui.model_loop``), whose prediction service, panel and state it
shares.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from model.prediction.predict_folder import rank_by_uncertainty
from seggui.label_status import Status

if TYPE_CHECKING:
    from model.prediction.predict_folder import FolderPrediction, ImagePredicted


class UncertaintyRanking:
    """The predict-all half of ``ModelLoop``."""

    def _candidates(self) -> list[Path]:
        """Images without a finished mask (the ones worth predicting and correcting)."""
        records = self.image_list.records()
        return [r.path for r in records if r.status not in (Status.LABELLED, Status.UNREADABLE)]

    def predict_all(self, images: list[Path] | None = None) -> None:
        """Predict every image (or ``images``) into the predictions folder, in the background."""
        project = self.state.project
        if project is None or self.checkpoint is None:
            self.state.report("Train or load a model first")
            return
        if images is None:
            images = [r.path for r in self.image_list.records() if r.status != Status.UNREADABLE]
        if not self.service.predict_all(images, project.predictions_dir, project.classes, project.image_axes):
            return
        self.panel.progress.setValue(0)
        self.panel.status_label.setText(f"Predicting {len(images)} images...")
        self._update_actions()

    def _on_predict_all_progress(self, done: ImagePredicted) -> None:
        self.uncertainties[done.image] = done.uncertainty
        self.image_list.set_uncertainty(done.image, done.uncertainty)
        self.panel.progress.setValue(round(1000 * done.index / max(done.total, 1)))
        self.panel.status_label.setText(f"Predicted {done.index} of {done.total}: {done.image.name}")
        model = self.image_list
        if model.status_of(done.image) == Status.NO_MASK:
            model.update(done.image, Status.PREDICTED)

    def _on_predict_all_done(self, result: FolderPrediction) -> None:
        for message in [*result.warnings, *result.problems]:
            self.state.report(message)
        count = len(result.uncertainties)
        project = self.state.project
        where = project.predictions_dir if project is not None else "the predictions folder"
        verb = "Stopped after predicting" if result.stopped else "Predicted"
        caveat = ""
        if result.warnings:
            names = ", ".join(Path(line.split(": ", 1)[0]).name for line in result.warnings[:3])
            caveat = f"; NaN or infinite pixels in {names}{' and more' if len(result.warnings) > 3 else ''}"
        self.panel.end_run(f"{verb} {count} images into {where}{caveat}")
        if self.image_list.uncertain_first:  # every image scored now: order them again
            self.image_list.set_uncertain_first(True)
        self._update_actions()
        self.predict_all_finished.emit(result)
        if self._jump_when_ranked:
            self._jump_when_ranked = False
            if not result.stopped:
                self.next_uncertain()

    def next_uncertain(self) -> None:
        """Open the unfinished image with the highest uncertainty (scoring the unscored first)."""
        if self.checkpoint is None:
            self.state.report("Train or load a model first: the ranking needs its predictions")
            return
        candidates = self._candidates()
        missing = [p for p in candidates if p not in self.uncertainties]
        if missing:
            self._jump_when_ranked = True
            self.predict_all(missing)
            return
        current = self.state.current.path if self.state.current is not None else None
        scores = {p: self.uncertainties[p] for p in candidates}
        ranked = rank_by_uncertainty(scores, exclude={current} if current is not None else set())
        if not ranked:
            self.state.tell("Every image has a finished mask", 5000)
            return
        target = ranked[0]
        self.state.tell(
            f"{target.name}: uncertainty {scores[target]:.3f} (highest of {len(scores)} unfinished images)",
            8000,
        )
        self.state.open_image_requested.emit(target)
