"""Accept Prediction and Replace Mask with Prediction: the prediction on screen copied into the
mask as one undo step; by default only where the model is sure (``accepted_pixels``)."""

from __future__ import annotations

import numpy as np

from model.classes import IGNORE_INDEX
from model.prediction.uncertainty import accepted_pixels
from seggui.controllers.editor import MaskEditor
from seggui.controllers.questions import Questions
from seggui.state.app_state import AppState
from seggui.state.model_state import ModelState


class Acceptance:
    """Copies the prediction on screen into the mask being painted."""

    def __init__(self, app: AppState, models: ModelState, editor: MaskEditor, questions: Questions) -> None:
        self.app, self.models, self.editor, self.questions = app, models, editor, questions
        models.accept_sure_only_changed.connect(self._on_mode_changed)

    def accept_unpainted(self) -> None:
        """Copy the prediction into the pixels that are not labelled yet (one undo step)."""
        self._accept(only_unpainted=True)

    def accept_all(self) -> None:
        """Replace the mask by the prediction (one undo step; Ctrl+Z brings the strokes back)."""
        self._accept(only_unpainted=False)

    def _on_mode_changed(self, sure_only: bool) -> None:
        which = "the unpainted pixels the model is sure of" if sure_only else "every unpainted pixel"
        self.app.tell(f"Accept Prediction now takes {which}", 5000)

    def _accept(self, *, only_unpainted: bool) -> None:
        document, shown = self.app.document, self.models.shown
        current = self.app.current
        if document is None or shown is None or current is None or shown.path != current.path:
            self.app.report("No prediction on this image yet: train or load a model first")
            return
        predicted = shown.classes
        if not only_unpainted:
            finished = not (document.mask == IGNORE_INDEX).any()
            changed = int(np.count_nonzero(document.mask != predicted))
            if (
                finished
                and changed
                and not self.questions.confirm(
                    "Replace the mask?",
                    f"Every pixel of this image is labelled; the prediction changes {changed:,} of them. "
                    "Replace the mask with the prediction? (Ctrl+Z undoes it)",
                )
            ):
                return
        where, unsure = accepted_pixels(
            document.mask,
            shown.prediction,
            only_unpainted=only_unpainted,
            sure_only=self.models.accept_sure_only,
        )
        label = "Accept prediction (unpainted)" if only_unpainted else "Replace mask with prediction"
        if not self.editor.replace_where(where, predicted, label):
            self.app.tell("The mask already matches the prediction there", 5000)
        if unsure:
            self.app.tell(
                f"{unsure:,} unpainted pixels where the model is unsure stay unpainted: paint them, "
                "or untick Model > Accept Only Where the Model Is Sure",
                8000,
            )
