"""The image on screen drawn again off the GUI thread whenever its channel views change."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from model.composite import ChannelView, composite
from seggui.controllers.jobs import Jobs
from seggui.rendering.labels import rgb_qimage
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay

RENDERING = "display"
"""The jobs key of composites: only the last asked for is drawn."""


class CompositeRenderer(QObject):
    """Draws the image on screen again with the display's views on a worker, newest first."""

    rendered = Signal(object)  # QImage of the image on screen as the views show it now
    overview_rendered = Signal(object)  # QImage of the slide on screen's overview, likewise
    failed = Signal(str)  # why the image could not be drawn

    def __init__(
        self, app: AppState, display: ChannelDisplay, jobs: Jobs, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.app, self.jobs = app, jobs
        display.views_changed.connect(self.render)

    def render(self, views: tuple[ChannelView, ...]) -> None:
        current, slide = self.app.current, self.app.slide
        if current is None and slide is None:
            return
        raw = current.raw if current is not None else slide.overview_raw
        self.jobs.submit(
            lambda: rgb_qimage(composite(raw, views)),
            self._on_rendered if current is not None else self.overview_rendered.emit,
            lambda error: self.failed.emit(f"Cannot draw the image: {error}"),
            key=RENDERING,
        )

    def _on_rendered(self, image: QImage) -> None:
        self.rendered.emit(image)
