"""Model > Export Model as bioimage.io: the model in use written as a bioimage.io package on a
worker, the image on screen as its test input, what the package says of itself kept in the
project file for next time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from model.errors import SegGUIError
from model.networks.package_info import PackageInfo, package_info, package_settings
from seggui.controllers.jobs import Jobs
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.model_state import ModelState


class PackageExport(QObject):
    """Writes bioimage.io packages of the model in use."""

    finished = Signal(object)  # the package written (Path)

    def __init__(
        self, app: AppState, models: ModelState, display: ChannelDisplay, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.app, self.models, self.display = app, models, display
        self.jobs = Jobs("package export", 1, self)

    def saved_info(self) -> PackageInfo:
        """The project's answers from last time, or defaults named after the model."""
        project = self.app.project
        default = self.models.model_path.stem if self.models.model_path is not None else "SegGUI model"
        return package_info(project.package if project is not None else {}, default)

    def problem(self) -> str | None:
        """Why no package can be written now, or None."""
        if self.models.checkpoint is None:
            return "Export Model needs a model: train one, or open one (Model > Open Model)"
        if self.models.is_package:
            return (
                f"The model in use is a bioimage.io package already ({self.models.model_path}): "
                "share that file, or train a model of your own to export"
            )
        if self.app.current is None:
            return "Export Model needs an image on screen: it becomes the package's test input"
        return None

    def export(self, info: PackageInfo, out: Path) -> None:
        """Write the package to ``out`` on a worker (``finished``, or the error reported)."""
        reason = self.problem()
        if reason is not None:
            self.app.tell(reason, 8000)
            return
        checkpoint, current = self.models.checkpoint, self.app.current
        assert checkpoint is not None and current is not None
        raw = current.raw
        if checkpoint.input_channels:
            from model.storage.intensity import select_channels

            raw = select_channels(raw, checkpoint.input_channels)
        project = self.app.project
        if project is not None:
            self.app.update_project(dataclasses.replace(project, package=package_settings(info)))
        names = self._channel_names(checkpoint)
        self.app.tell(f"Writing the bioimage.io package {out.name}...", 120_000)

        def work() -> Path:
            from model.networks.bioimageio_export import export_bioimageio

            return export_bioimageio(checkpoint, raw, out, info, names)

        self.jobs.submit(work, self._done, self._failed)

    def _channel_names(self, checkpoint) -> tuple[str, ...]:
        """The names of the channels the model reads, as the Channels panel names them (the
        channels it picks, when it picks some); none when they do not fit."""
        views = self.display.views
        picked = checkpoint.input_channels or tuple(range(1, len(views) + 1))
        if len(picked) != checkpoint.config.in_channels or max(picked, default=0) > len(views):
            return ()
        return tuple(views[number - 1].name for number in picked)

    def _done(self, path: Path) -> None:
        self.app.tell(f"Wrote the bioimage.io package {path}", 10000)
        self.finished.emit(path)

    def _failed(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, SegGUIError) else f"{type(error).__name__}: {error}"
        self.app.report(f"Cannot write the bioimage.io package: {message}")
