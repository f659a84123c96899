"""The main window: it builds the state, the controllers and the widgets, and wires them.

State (``seggui.state``) owns what is open and announces its changes; controllers
(``seggui.controllers``) change it; widgets and the canvas follow it. Nothing else lives here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QSize
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from model.errors import SegGUIError
from model.storage.project import save_project
from seggui.bundled import ICON
from seggui.canvas.following import follow_prompts, follow_state
from seggui.canvas.tools import TOOLS
from seggui.canvas.view import CanvasView
from seggui.controllers.acceptance import Acceptance
from seggui.controllers.class_editing import ClassEditing
from seggui.controllers.composite_renderer import CompositeRenderer
from seggui.controllers.editor import MaskEditor
from seggui.controllers.image_session import ImageSession
from seggui.controllers.jobs import Jobs
from seggui.controllers.live_prediction import LivePrediction
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.memory_use import follow_budget
from seggui.controllers.model_choice import ModelChoice
from seggui.controllers.model_context import ModelContext
from seggui.controllers.package_export import PackageExport
from seggui.controllers.predictions import PredictionService
from seggui.controllers.prompting import PromptController
from seggui.controllers.ranking import Ranking
from seggui.controllers.slide_prediction import SlidePredictions
from seggui.controllers.slide_tiles import SlideTiles
from seggui.controllers.training import TrainingController
from seggui.controllers.transfer import LabelTransfer
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.image_list import ImageListModel
from seggui.state.label_display import PREDICTION, LabelDisplay
from seggui.state.model_state import ModelState
from seggui.state.tool_state import ToolState
from seggui.widgets import window_actions as wa
from seggui.widgets.browser import BrowserPanel
from seggui.widgets.channel_panel import ChannelPanel
from seggui.widgets.class_panel import ClassPanel
from seggui.widgets.dialogs import WindowDialogs
from seggui.widgets.docks import fit_widths, lay_out_docks
from seggui.widgets.field_keys import FieldKeys
from seggui.widgets.plane_bar import PlaneBar, under_canvas
from seggui.widgets.prompt_actions import WeightsAsker, prompt_actions
from seggui.widgets.recent_folders import RecentFolders
from seggui.widgets.tool_bar import ToolBar
from seggui.widgets.training_panel import TrainingPanel, scrolling
from seggui.widgets.transfer_dialogs import show_import_details
from seggui.widgets.window_status import WindowStatus

log = logging.getLogger(__name__)

PREFERRED_SIZE = (1400, 900)


def window_size(available: QSize) -> tuple[int, int]:
    """The first size of the window: 1400 x 900, or what the screen has room for (a 1366 x 768
    laptop screen less its task bar)."""
    return min(PREFERRED_SIZE[0], available.width()), min(PREFERRED_SIZE[1], available.height())


class MainWindow(QMainWindow):
    """SegGUI's window. ``session.open_folder`` and ``session.open_image`` are asynchronous; the
    session's and the state's signals tell when they are done."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("SegGUI", "SegGUI")
        self.dialogs = WindowDialogs(self)
        # -- state ---------------------------------------------------------------------------------
        self.state = AppState(self)
        self.tool_state = ToolState(self.state, self)
        self.labels = LabelDisplay(self)
        wa.remember_styles(self.labels, self.settings)
        self.models = ModelState(self)
        self.display = ChannelDisplay(self)
        self.images = ImageListModel(self)
        # -- controllers ---------------------------------------------------------------------------
        self.jobs = Jobs("window", 2, self)  # folder scans, image loads, display windows
        self.editor = MaskEditor(self.tool_state, self)
        self.store = MaskStore(self)
        self.session = ImageSession(
            self.state,
            store=self.store,
            editor=self.editor,
            image_list=self.images,
            jobs=self.jobs,
            display=self.display,
            questions=self.dialogs,
            parent=self,
        )
        self.renderer = CompositeRenderer(self.state, self.display, self.jobs, self)
        self.slide_tiles = SlideTiles(parent=self)
        self.slide_tiles.failed.connect(self.state.report)
        self.editor.fill_limited.connect(lambda message: self.state.tell(message, 10000))
        self.renderer.failed.connect(self.state.report)
        self.service = PredictionService(
            self, lambda: self.labels.drawing(PREDICTION), lambda: self.models.uncertainty_visible
        )
        context = ModelContext(self.state, self.models, self.service, self.images)
        self.live = LivePrediction(context, self)
        self.choice = ModelChoice(context, self)
        self.slide_predictions = SlidePredictions(context, self)
        self.ranking = Ranking(context, self.session, self.slide_predictions, self)
        self.training = TrainingController(
            self.state,
            self.models,
            store=self.store,
            choice=self.choice,
            live=self.live,
            drawing=lambda: self.labels.drawing(PREDICTION),
            slides=self.slide_predictions,
            parent=self,
        )
        follow_budget(self.state, self.settings, self.session, self.store, self.service, self.slide_tiles)
        parts = (self.state, self.models, self.editor, self.dialogs, self.slide_predictions)
        self.acceptance = Acceptance(*parts)
        common = {"store": self.store, "session": self.session, "jobs": self.jobs, "questions": self.dialogs}
        self.class_editing = ClassEditing(self.state, **common, parent=self)
        self.transfer = LabelTransfer(self.state, image_list=self.images, **common, parent=self)
        self.state.classes_changed.connect(self.store.set_classes)
        self.editor.edited.connect(self.store.edited)
        self.store.saved.connect(self.images.update)
        self.transfer.import_finished.connect(lambda report: show_import_details(self, report))
        # -- widgets -------------------------------------------------------------------------------
        self.canvas = CanvasView(self)
        self.plane_bar = PlaneBar(self)
        self.setCentralWidget(under_canvas(self.canvas, self.plane_bar))
        self.plane_bar.plane_chosen.connect(self.session.open_image)
        self.state.image_opened.connect(lambda loaded: self.plane_bar.show_image(loaded.path, loaded.planes))
        self.state.slide_opened.connect(lambda slide: self.plane_bar.show_image(slide.path, 1))
        tie = dict(session=self.session, image_list=self.images, settings=self.settings, models=self.models)
        self.prompting = PromptController(self.state, self.tool_state, self.editor, self.display, **tie)
        self.weights = WeightsAsker(self.prompting, self)
        self.tools = {info.name: info.make(self.editor, self.prompting) for info in TOOLS}
        follow_state(
            self.canvas,
            app=self.state,
            tools=self.tool_state,
            tool_objects=self.tools,
            labels=self.labels,
            models=self.models,
            editor=self.editor,
            session=self.session,
            renderer=self.renderer,
            display=self.display,
            slide_tiles=self.slide_tiles,
            slide_predictions=self.slide_predictions,
        )
        follow_prompts(self.canvas, self.state, self.tool_state, self.prompting)
        self.status = WindowStatus(
            self.statusBar(),
            app=self.state,
            tools=self.tool_state,
            canvas=self.canvas,
            store=self.store,
            transfer=self.transfer,
        )
        self.actions = wa.WindowActions(
            file=wa.file_actions(self, self.state, self.transfer, self._choose_folder),
            edit=wa.edit_actions(self, self.editor.undo_group, self.state, self.settings),
            view=wa.view_actions(self, self.canvas, self.session, self.labels),
            image=wa.image_actions(self, self.session, self.plane_bar),
            tools=wa.tool_actions(self, self.tool_state, self.status.pick_class_under_pointer),
            model=wa.model_actions(
                self,
                self.state,
                self.models,
                training=self.training,
                ranking=self.ranking,
                acceptance=self.acceptance,
                choice=self.choice,
                package=PackageExport(self.state, self.models, self.display, self),
            ),
            prompts=prompt_actions(self, self.prompting, self.weights.ask, self.canvas, self.tools),
            help=wa.help_actions(self),
        )
        self.addActions(self.actions.all())
        self.browser = BrowserPanel(self.images, self.state, self)
        self.browser.image_chosen.connect(self.session.open_if_other)
        self.class_panel = ClassPanel(self.state, self.tool_state, self.labels, self.class_editing, self)
        self.class_editing.removal_started.connect(lambda: self.canvas.setEnabled(False))
        self.class_editing.removal_ended.connect(lambda: self.canvas.setEnabled(True))
        panel_parts = {"choice": self.choice, "training": self.training, "labels": self.labels}
        self.model_panel = TrainingPanel(self.state, self.models, **panel_parts, actions=self.actions.model)
        left = [("Images", "images", self.browser), ("Classes", "classes", self.class_panel)]
        left.append(("Channels", "channels", ChannelPanel(self.display)))
        right = ("Model", "model", scrolling(self.model_panel))
        (_, _, self.channel_dock), self.model_dock = lay_out_docks(self, left, right)
        self.tool_bar = ToolBar(self.tool_state, self.labels, self.actions, self)
        self.addToolBar(self.tool_bar)
        recent_menu = wa.build_menus(
            self.menuBar(), self.actions, [self.channel_dock.toggleViewAction()], "Open &Recent"
        )
        self.recent = RecentFolders(self.settings, recent_menu, self.session.open_folder)
        self.session.folder_claimed.connect(self._on_folder_claimed)
        self.field_keys = FieldKeys(self, self.canvas)
        self.setWindowTitle("SegGUI")
        self.setWindowIcon(QIcon(str(ICON)))
        self.resize(*window_size(self.screen().availableGeometry().size()))
        fit_widths(self, self.channel_dock, self.model_dock)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder", self.recent.dialog_start())
        if folder:
            self.session.open_folder(folder)

    def _on_folder_claimed(self, folder: Path, read_only: bool) -> None:
        self.recent.remember(folder)
        self.setWindowTitle(f"SegGUI - {folder}" + (" (read-only)" if read_only else ""))

    def closeEvent(self, event: QCloseEvent) -> None:
        errors = self.store.flush()
        if errors:
            answer = QMessageBox.critical(
                self,
                "Masks not saved",
                "\n".join(errors) + "\n\nThe window stays open so nothing is lost. Make the folder "
                "writable or free some disk space, then close again.",
                QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Discard,
            )
            if answer != QMessageBox.StandardButton.Discard:
                event.ignore()
                return
        self.store.shutdown()
        self.slide_tiles.close()
        self.session.close()
        self.training.shutdown()
        self.prompting.shutdown()
        self.service.shutdown()
        self.jobs.wait(5000)
        project = self.state.project
        if project is not None and not self.state.read_only and not project.file.exists():
            try:
                save_project(project)
            except SegGUIError as exc:
                log.warning("%s", exc)
        super().closeEvent(event)
