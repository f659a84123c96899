"""Accept Prediction and Replace Mask with Prediction: the prediction on screen copied into the
mask, as one undo step; by default only where the model is sure.

Mixed into ``ModelLoop`` (``seggui.model_loop``), whose actions, state, editor and shown
prediction it shares.
"""

from __future__ import annotations

import numpy as np

from model.classes import IGNORE_INDEX
from model.prediction.uncertainty import sure_pixels


class PredictionAcceptance:
    """The accept half of ``ModelLoop``."""

    def accept_unpainted(self) -> None:
        """Copy the prediction into the pixels that are not labelled yet (one undo step)."""
        self._accept(only_unpainted=True)

    def accept_all(self) -> None:
        """Replace the mask by the prediction (one undo step; Ctrl+Z brings the strokes back)."""
        self._accept(only_unpainted=False)

    def _on_accept_mode_toggled(self, sure_only: bool) -> None:
        which = "the unpainted pixels the model is sure of" if sure_only else "every unpainted pixel"
        self.state.tell(f"Accept Prediction now takes {which}", 5000)

    def _accept(self, only_unpainted: bool) -> None:
        document = self.state.document
        if document is None or self.shown is None or not self._is_current(self.shown[0]):
            self.state.report("No prediction on this image yet: train or load a model first")
            return
        predicted = self.shown[1]
        unsure = 0
        if only_unpainted:
            where = document.mask == IGNORE_INDEX
            if self.actions["accept_sure_only"].isChecked() and self.shown_prediction is not None:
                sure = sure_pixels(self.shown_prediction)
                unsure = int(np.count_nonzero(where & ~sure))
                where &= sure
            label = "Accept prediction (unpainted)"
        else:
            where = np.ones(document.shape, bool)
            label = "Replace mask with prediction"
            finished = not (document.mask == IGNORE_INDEX).any()
            changed = int(np.count_nonzero(document.mask != predicted))
            if (
                finished
                and changed
                and not self.state.ask(
                    "Replace the mask?",
                    f"Every pixel of this image is labelled; the prediction changes {changed:,} of them. "
                    "Replace the mask with the prediction? (Ctrl+Z undoes it)",
                )
            ):
                return
        if not self.editor.replace_where(where, predicted, label):
            self.state.tell("The mask already matches the prediction there", 5000)
        if unsure:
            self.state.tell(
                f"{unsure:,} unpainted pixels where the model is unsure stay unpainted: paint them, "
                "or untick Model > Accept Only Where the Model Is Sure",
                8000,
            )
