"""Accept Prediction and Replace Mask with Prediction: the prediction on screen copied into the
mask as one undo step; by default only where the model is sure (``accepted_pixels``)."""

from __future__ import annotations

import numpy as np

from model.classes import IGNORE_INDEX
from model.prediction.uncertainty import accepted_pixels, accepted_where
from seggui.controllers.editor import MaskEditor
from seggui.controllers.questions import Questions
from seggui.controllers.slide_prediction import SlidePredictions
from seggui.state.app_state import AppState
from seggui.state.model_state import ModelState

ACCEPT_PIXELS = 2048 * 2048
"""On a slide, the most of what is on screen one Accept takes (its undo keeps the pixels before):
it runs on the GUI thread, 35-45 ms at this size on a 2-core CPU."""


class Acceptance:
    """Copies the prediction on screen into the mask being painted."""

    def __init__(
        self,
        app: AppState,
        models: ModelState,
        editor: MaskEditor,
        questions: Questions,
        slides: SlidePredictions | None = None,
    ) -> None:
        self.app, self.models, self.editor, self.questions = app, models, editor, questions
        self.slides = slides
        """The window's slide predictions (None: a window without slides)."""
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
        if self.app.slide is not None and self.slides is not None:
            self._accept_on_slide(only_unpainted=only_unpainted)
            return
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
        if not self.editor.replace_where(where, predicted, _label(only_unpainted)):
            self.app.tell("The mask already matches the prediction there", 5000)
        if unsure:
            self.app.tell(_unsure_note(unsure), 8000)

    def _accept_on_slide(self, *, only_unpainted: bool) -> None:
        """On a slide: the prediction of what is on screen (``ACCEPT_PIXELS`` at most), where
        it is predicted, as one undo step."""
        assert self.slides is not None
        document, output, rect = self.app.document, self.slides.output, self.slides.view_rect()
        if document is None or output is None or rect is None or not output.done():
            self.app.report("No prediction on screen yet: train or load a model, and zoom in to predict")
            return
        if rect.width * rect.height > ACCEPT_PIXELS:
            side = int(ACCEPT_PIXELS**0.5)
            self.app.report(
                f"Zoom in to accept: on a slide, Accept Prediction takes what is on screen, at most "
                f"{ACCEPT_PIXELS / 1e6:.1f} million pixels ({side:,} x {side:,}; the view shows "
                f"{rect.width:,} x {rect.height:,})"
            )
            return
        predicted = output.classes.read(rect.y, rect.x, rect.height, rect.width)
        entropy = output.entropy.read(rect.y, rect.x, rect.height, rect.width)
        mask = document.read(rect)
        where, unsure = accepted_where(
            mask, entropy, only_unpainted=only_unpainted, sure_only=self.models.accept_sure_only
        )
        known = predicted != IGNORE_INDEX
        where &= known
        if not only_unpainted and not (mask == IGNORE_INDEX).any():
            changed = int(np.count_nonzero(where & (mask != predicted)))
            if changed and not self.questions.confirm(
                "Replace the mask?",
                f"Every pixel on screen is labelled; the prediction changes {changed:,} of them. "
                "Replace them with the prediction? (Ctrl+Z undoes it)",
            ):
                return
        if not self.editor.replace_where(where, predicted, _label(only_unpainted), rect):
            self.app.tell("The mask already matches the prediction on screen", 5000)
        notes = [_unsure_note(unsure)] if unsure else []
        if not known.all():
            notes.append(f"{int(np.count_nonzero(~known)):,} pixels on screen are not predicted yet")
        if notes:
            self.app.tell("; ".join(notes), 8000)


def _unsure_note(unsure: int) -> str:
    return (
        f"{unsure:,} unpainted pixels where the model is unsure stay unpainted: paint them, "
        "or untick Model > Accept Only Where the Model Is Sure"
    )


def _label(only_unpainted: bool) -> str:
    return "Accept prediction (unpainted)" if only_unpainted else "Replace mask with prediction"
