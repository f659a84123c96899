"""Each controller built with its state objects and no main window: what it does to the state,
the files on disk and the questions it asks."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QObject, QPointF

from model.classes import IGNORE_INDEX, default_classes
from model.prediction.predict import Prediction
from model.storage.imageio import read_mask
from model.storage.project import Project, load_project, save_project
from seggui.controllers.acceptance import Acceptance
from seggui.controllers.class_editing import ClassEditing
from seggui.controllers.composite_renderer import CompositeRenderer
from seggui.controllers.editor import MaskEditor
from seggui.controllers.image_session import ImageSession
from seggui.controllers.jobs import Jobs
from seggui.controllers.live_prediction import LivePrediction
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.model_choice import ModelChoice
from seggui.controllers.model_context import ModelContext
from seggui.controllers.predictions import PredictionService
from seggui.controllers.ranking import Ranking
from seggui.controllers.slide_prediction import SlidePredictions
from seggui.controllers.training import START_CURRENT, TrainingController, start_of_run
from seggui.controllers.transfer import LabelTransfer
from seggui.state.app_state import AppState
from seggui.state.channel_display import ChannelDisplay
from seggui.state.image_list import ImageListModel
from seggui.state.label_status import Status
from seggui.state.model_state import ModelState, PredictionOnScreen
from seggui.state.tool_state import SAME_LABEL, ToolState
from tests.synthetic import write_shapes_folder


@dataclass
class Answers:
    """The user's answers (``seggui.controllers.questions.Questions``), and what was asked."""

    yes: bool = True
    axes: str | None = None
    asked: list[str] = field(default_factory=list)

    def confirm(self, title: str, text: str) -> bool:
        self.asked.append(title)
        return self.yes

    def folder_in_use(self, folder, owner):
        self.asked.append("folder in use")
        return None

    def tiff_axes(self, unsettled, current):
        self.asked.append(f"axes of {unsettled.path.name}")
        return self.axes


class Parts:
    """The state and the controllers of one window, without the window."""

    def __init__(self, qtbot, answers: Answers | None = None) -> None:
        self.owner = QObject()
        self.answers = answers or Answers()
        self.app = AppState(self.owner)
        self.tools = ToolState(self.app, self.owner)
        self.models = ModelState(self.owner)
        self.display = ChannelDisplay(self.owner)
        self.images = ImageListModel(self.owner)
        self.jobs = Jobs("test", 2, self.owner)
        self.editor = MaskEditor(self.tools, self.owner)
        self.store = MaskStore(self.owner)
        self.store.autosave_timer.setInterval(20)
        self.app.classes_changed.connect(self.store.set_classes)
        self.editor.edited.connect(self.store.edited)
        self.session = ImageSession(
            self.app,
            store=self.store,
            editor=self.editor,
            image_list=self.images,
            jobs=self.jobs,
            display=self.display,
            questions=self.answers,
            parent=self.owner,
        )
        self.errors: list[str] = []
        self.app.failed.connect(self.errors.append)
        self.qtbot = qtbot

    def model_parts(self) -> None:
        self.service = PredictionService(self.owner)
        context = ModelContext(self.app, self.models, self.service, self.images)
        self.live = LivePrediction(context, self.owner)
        self.choice = ModelChoice(context, self.owner)
        self.ranking = Ranking(context, self.session, SlidePredictions(context, self.owner), self.owner)

    def open(self, folder: Path) -> None:
        with self.qtbot.waitSignal(self.app.image_opened, timeout=20000):
            self.session.open_folder(folder)

    def close(self) -> None:
        self.store.flush()
        self.store.shutdown()
        self.session.close()
        if hasattr(self, "service"):
            self.service.shutdown()
        self.jobs.wait(10000)


@pytest.fixture
def parts(qtbot):
    made = Parts(qtbot)
    yield made
    made.close()


def _folder(root: Path, n: int = 3, masks: int | None = 0) -> Path:
    folder = write_shapes_folder(root, n, masks=masks)
    save_project(Project(folder, classes=tuple(default_classes(3))))
    return folder


# -- the image session ---------------------------------------------------------------------------
def test_the_session_opens_a_folder_into_the_state_and_pages_past_an_unreadable_image(parts, tmp_path):
    folder = _folder(tmp_path)
    (folder / "img01.png").write_bytes(b"not a png")
    opened: list[object] = []
    parts.app.project_opened.connect(opened.append)
    parts.open(folder)
    assert opened and opened[0].folder == folder
    assert parts.app.current.path == folder / "img00.png" and parts.app.document.shape == (64, 64)
    assert [r.path.name for r in parts.images.records()] == ["img00.png", "img01.png", "img02.png"]
    failed, notices = [], []
    parts.session.image_failed.connect(lambda path, message: failed.append(path.name))
    parts.session.notice_shown.connect(lambda title, text: notices.append(title))
    with parts.qtbot.waitSignal(parts.app.image_opened, timeout=20000):
        parts.session.step_image(1)  # Page Down: img01 cannot be read, img02 opens
    assert failed == ["img01.png"] and notices == []  # stepping past says so in the status only
    assert parts.app.current.path.name == "img02.png"
    assert parts.images.status_of(folder / "img01.png") == Status.UNREADABLE
    with parts.qtbot.waitSignal(parts.session.image_failed, timeout=20000):
        parts.session.open_image(folder / "img01.png")  # asked for: the canvas says why
    assert notices == ["img01.png cannot be opened"]


def test_the_session_asks_about_a_plain_stack_once_and_keeps_the_answer(qtbot, tmp_path):
    parts = Parts(qtbot, Answers(axes="ZYX"))
    folder = tmp_path / "stack"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.arange(8 * 20 * 30, dtype=np.uint16).reshape(8, 20, 30) % 500)
    save_project(Project(folder, classes=tuple(default_classes(2))))
    try:
        parts.open(folder)
        assert parts.answers.asked == ["axes of a.tif"]
        assert load_project(folder).image_axes == "ZYX"
        assert parts.app.current.raw.shape == (20, 30) and parts.app.current.planes == 8
        assert len(parts.images.records()) == 8  # every plane listed
    finally:
        parts.close()


# -- painting ------------------------------------------------------------------------------------
def test_the_editor_paints_with_the_tool_states_class_brush_and_eraser(parts, tmp_path):
    parts.open(_folder(tmp_path))
    tools, editor, mask = parts.tools, parts.editor, parts.app.document.mask
    assert not tools.set_class(3)  # three classes: 0, 1, 2
    tools.set_class(2)
    tools.set_brush_radius(3)
    assert editor.begin_edit("brush")
    editor.paint_segment(QPointF(10, 10), QPointF(10, 10), tools.class_index)
    editor.end_edit()
    ys, xs = np.nonzero(mask == 2)
    assert mask[10, 10] == 2 and ys.min() >= 7 and ys.max() <= 12 and xs.min() >= 7 and xs.max() <= 12
    tools.set_keep_labels(True)  # labelled pixels stay
    editor.begin_edit("brush")
    editor.paint_segment(QPointF(10, 10), QPointF(14, 10), 1)
    editor.end_edit()
    assert mask[10, 10] == 2 and mask[10, 14] == 1
    tools.set_erase_to_background(True)
    assert load_project(parts.app.project.folder).eraser_mode == "background"
    assert editor.erase_value == 0
    tools.set_fill(SAME_LABEL)
    assert tools.fill_mode == SAME_LABEL
    with pytest.raises(ValueError):
        tools.set_fill("sideways")


def test_the_store_writes_a_painted_mask_to_disk(parts, tmp_path):
    folder = _folder(tmp_path)
    parts.open(folder)
    parts.editor.replace_where(np.ones((64, 64), bool), np.full((64, 64), 1, np.uint8), "fill all")
    with parts.qtbot.waitSignal(parts.store.saved, timeout=10000):
        parts.store.save_current()
    assert (read_mask(folder / "masks" / "img00.png") == 1).all()


# -- accepting a prediction ----------------------------------------------------------------------
def _shown(parts: Parts, classes: np.ndarray, unsure: np.ndarray | None = None) -> None:
    heat = None if unsure is None else np.where(unsure, 255, 0).astype(np.uint8)
    prediction = Prediction(classes, None, 0.5, heat)
    parts.models.show_prediction(PredictionOnScreen(parts.app.current.path, prediction))


def test_accept_takes_the_unpainted_sure_pixels_and_replace_asks_first(parts, tmp_path):
    parts.open(_folder(tmp_path))
    acceptance = Acceptance(parts.app, parts.models, parts.editor, parts.answers)
    mask = parts.app.document.mask
    mask[:, :8] = 1  # painted before
    predicted = np.full((64, 64), 2, np.uint8)
    unsure = np.zeros((64, 64), bool)
    unsure[:, 60:] = True
    _shown(parts, predicted, unsure)
    acceptance.accept_unpainted()
    assert (mask[:, :8] == 1).all()  # the strokes stay
    assert (mask[:, 8:60] == 2).all() and (mask[:, 60:] == IGNORE_INDEX).all()  # unsure: left
    parts.models.set_accept_sure_only(False)
    acceptance.accept_unpainted()
    assert (mask[:, 60:] == 2).all()
    parts.answers.yes = False  # every pixel is labelled: Replace asks, and "no" keeps the mask
    acceptance.accept_all()
    assert parts.answers.asked == ["Replace the mask?"] and (mask[:, :8] == 1).all()
    parts.answers.yes = True
    acceptance.accept_all()
    assert (mask == 2).all()
    parts.editor.undo_group.undo()
    assert (mask[:, :8] == 1).all()


def test_accept_without_a_prediction_of_the_image_on_screen_says_so(parts, tmp_path):
    parts.open(_folder(tmp_path))
    Acceptance(parts.app, parts.models, parts.editor, parts.answers).accept_unpainted()
    assert parts.errors == ["No prediction on this image yet: train or load a model first"]


# -- classes -------------------------------------------------------------------------------------
def test_removing_a_class_asks_and_rewrites_every_mask(parts, tmp_path):
    folder = _folder(tmp_path, masks=None)
    before = read_mask(folder / "masks" / "img01.png")
    parts.open(folder)
    parts.tools.set_class(2)
    editing = ClassEditing(
        parts.app, store=parts.store, session=parts.session, jobs=parts.jobs, questions=parts.answers
    )
    with parts.qtbot.waitSignal(parts.app.classes_changed, timeout=20000):
        editing.remove_class(1)
    assert parts.answers.asked == ["Remove class"]
    after = read_mask(folder / "masks" / "img01.png")
    assert (after[before == 1] == IGNORE_INDEX).all() and (after[before == 2] == 1).all()
    assert [c.name for c in load_project(folder).classes] == ["background", "class 2"]
    assert parts.tools.class_index == 1  # the class painted moved down with its number
    editing.remove_class(0)
    assert parts.errors[-1].startswith("Background (class 0) cannot be removed")


# -- display -------------------------------------------------------------------------------------
def test_the_renderer_draws_the_image_again_in_a_new_colour(parts, tmp_path):
    parts.open(_folder(tmp_path))
    renderer = CompositeRenderer(parts.app, parts.display, parts.jobs)
    with parts.qtbot.waitSignal(renderer.rendered, timeout=10000) as drawn:
        parts.display.set_colour(0, (255, 0, 0))
    image = drawn.args[0]
    pixel = image.pixelColor(32, 32)
    assert pixel.green() == 0 and pixel.blue() == 0


# -- export --------------------------------------------------------------------------------------
def test_export_from_the_controller_writes_the_masks_and_asks_before_replacing(parts, tmp_path):
    from model.labels.export_labels import ExportOptions

    folder = _folder(tmp_path, masks=2)
    parts.open(folder)
    transfer = LabelTransfer(
        parts.app,
        image_list=parts.images,
        store=parts.store,
        session=parts.session,
        jobs=parts.jobs,
        questions=parts.answers,
    )
    out = tmp_path / "out"
    with parts.qtbot.waitSignal(transfer.export_finished, timeout=20000) as done:
        transfer.export(out, ExportOptions(format="index"))
    assert len(done.args[0].exported) == 2
    assert np.array_equal(read_mask(out / "img00.png"), read_mask(folder / "masks" / "img00.png"))
    parts.answers.yes = False
    with parts.qtbot.waitSignal(transfer.export_finished, timeout=20000) as again:
        transfer.export(out, ExportOptions(format="index"))
    assert parts.answers.asked == ["Replace files?"] and isinstance(again.args[0], str)


# -- the model -----------------------------------------------------------------------------------
def test_the_newest_model_is_loaded_shown_and_ranks_the_unfinished_images(parts, tmp_path, shapes_model):
    parts.model_parts()
    folder = _folder(tmp_path, n=4, masks=1)
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "a.pt")
    with parts.qtbot.waitSignal(parts.models.prediction_shown, timeout=60000) as shown:
        parts.open(folder)
    assert parts.models.model_path == folder / "models" / "a.pt"
    assert parts.models.status.startswith("Using a.pt")
    assert shown.args[0].path == parts.app.current.path and shown.args[0].classes.shape == (64, 64)
    with parts.qtbot.waitSignal(parts.app.image_opened, timeout=60000) as opened:
        parts.ranking.next_uncertain()  # scores the three unfinished images first, then opens one
    scores = parts.images.uncertainties()
    assert set(scores) >= {folder / f"img0{i}.png" for i in (1, 2, 3)}
    others = {p: s for p, s in scores.items() if p != folder / "img00.png"}
    assert opened.args[0].path == max(others, key=others.get)
    assert (folder / "predictions" / "img03.png").is_file()
    assert not parts.models.predicting_all and parts.models.progress == 1.0


def test_a_broken_model_file_is_refused_with_its_name(parts, tmp_path):
    parts.model_parts()
    parts.open(_folder(tmp_path))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    with parts.qtbot.waitSignal(parts.choice.model_failed, timeout=30000):
        parts.choice.load_model(broken)
    assert parts.models.checkpoint is None and "broken.pt" in parts.models.status


def test_where_a_run_starts():
    assert start_of_run(START_CURRENT, "fast", has_model=True) == START_CURRENT
    assert start_of_run(START_CURRENT, "fast", has_model=False) == "scratch"
    assert start_of_run(START_CURRENT, "lite0", has_model=False) == "imagenet"
    assert start_of_run("imagenet", "fast", has_model=True) == "scratch"
    assert start_of_run("/models/x.pt", "fast", has_model=False) == "/models/x.pt"


def test_training_from_the_controller_uses_the_model_it_keeps(parts, tmp_path):
    parts.model_parts()
    folder = write_shapes_folder(tmp_path, 4, masks=None)
    quick = {"epochs": 2, "crop_size": 32, "batch_size": 4, "device": "cpu", "preset": "fast"}
    save_project(Project(folder, classes=tuple(default_classes(3)), train_settings=quick))
    parts.open(folder)
    training = TrainingController(
        parts.app, parts.models, store=parts.store, choice=parts.choice, live=parts.live, parent=parts.owner
    )
    changes: list[bool] = []
    parts.models.training_changed.connect(changes.append)
    try:
        with parts.qtbot.waitSignal(training.finished, timeout=120000) as finished:
            training.train()
        outcome = finished.args[0]
        assert changes == [True, False]
        assert parts.models.model_path == outcome.model_path and outcome.model_path.is_file()
        assert parts.models.checkpoint is outcome.result.checkpoint
        assert outcome.model_path in parts.models.models
        assert load_project(folder).train_settings["start_from"] == START_CURRENT  # next: fine-tune
        assert parts.models.status.startswith("Finished after")
    finally:
        training.shutdown()


# -- thumbnails ----------------------------------------------------------------------------------
def test_thumbnails_are_made_once_off_the_gui_thread_and_say_what_the_mask_holds(qtbot, tmp_path):
    from seggui.controllers.thumbnails import ThumbnailLoader
    from seggui.state.image_list import THUMBNAIL_SIZE

    folder = _folder(tmp_path, n=2, masks=1)
    (folder / "img01.png").write_bytes(b"not a png")
    loader = ThumbnailLoader(lambda image: folder / "masks" / image.name)
    assert loader.get(folder / "img00.png") is None  # asked for: made in the background
    with qtbot.waitSignal(loader.loaded, timeout=20000) as loaded:
        pass
    path, labelled, problem = loaded.args
    assert path == folder / "img00.png" and labelled == Status.LABELLED and problem is None
    image = loader.get(path)
    assert image is not None and max(image.width(), image.height()) <= THUMBNAIL_SIZE
    with qtbot.waitSignal(loader.failed, timeout=20000) as failed:
        loader.get(folder / "img01.png")
    assert failed.args[0] == folder / "img01.png" and "img01.png" in failed.args[1]
    loader.clear()
    loader.jobs.wait(10000)


def test_a_slide_too_large_to_open_is_previewed_from_its_smallest_level(tmp_path, monkeypatch):
    import tifffile

    from model.errors import SegGUIError
    from model.storage import tiff_files
    from seggui.controllers.thumbnails import make_thumbnail

    image = np.zeros((1024, 1536, 3), np.uint8)
    image[:, 768:, 0] = 255  # the right half red
    path = tmp_path / "slide.tif"
    with tifffile.TiffWriter(path) as tif:
        options = {"tile": (256, 256), "photometric": "rgb", "compression": "zlib"}
        tif.write(image, subifds=2, **options)
        tif.write(image[::2, ::2], subfiletype=1, **options)
        tif.write(image[::4, ::4], subfiletype=1, **options)
    monkeypatch.setattr(tiff_files, "MAX_PIXELS", 1000 * 1000)  # as if it were a whole slide
    preview, labelled, problem = make_thumbnail(path, tmp_path / "masks" / "slide.png")
    assert labelled is None and problem is None
    assert (preview.width(), preview.height()) == (48, 32)  # from the 384 x 256 level, strided
    assert preview.pixelColor(40, 16).red() > 200 and preview.pixelColor(5, 16).red() < 50
    striped = tmp_path / "strips.tif"
    tifffile.imwrite(striped, image, photometric="rgb")
    with pytest.raises(SegGUIError, match="strips.tif: image is larger than"):
        make_thumbnail(striped, tmp_path / "masks" / "strips.png")


def test_an_image_the_window_cannot_open_keeps_the_preview_made_of_it(qtbot, tmp_path):
    from PySide6.QtCore import QObject, Qt, Signal
    from PySide6.QtGui import QImage

    from seggui.state.image_list import ImageListModel, ImageRecord

    made = {tmp_path / "slide.tif": QImage(48, 32, QImage.Format.Format_RGB32)}

    class Previews(QObject):
        loaded = Signal(object, object, object)
        failed = Signal(object, str)

        def get(self, path):
            return made.get(path)

        def cached_image(self, path):
            return made.get(path)

    images = ImageListModel()
    images.use_thumbnails(Previews())
    images.set_records(
        [
            ImageRecord(tmp_path / "slide.tif", Status.NO_MASK),
            ImageRecord(tmp_path / "bad.png", Status.NO_MASK),
        ]
    )
    images.update(tmp_path / "slide.tif", Status.UNREADABLE, "a slide of over 1,073,741,824 pixels")
    images.update(tmp_path / "bad.png", Status.UNREADABLE, "not an image")
    slide, bad = (images.data(images.index(row), Qt.ItemDataRole.DecorationRole) for row in (0, 1))
    assert (slide.width(), slide.height()) == (48, 32)  # its preview, though it cannot be opened
    assert bad.width() == bad.height()  # the blank placeholder


def test_predict_all_of_a_model_put_aside_ends_for_the_state_too(parts, tmp_path, shapes_model):
    parts.model_parts()
    folder = _folder(tmp_path, n=4)
    (folder / "models").mkdir()
    shutil.copy(shapes_model, folder / "models" / "a.pt")
    with parts.qtbot.waitSignal(parts.choice.model_loaded, timeout=60000):
        parts.open(folder)
    parts.ranking.predict_all()
    assert parts.models.predicting_all
    parts.choice.use(None, None)  # another folder or fewer classes: the run's results are dropped
    parts.qtbot.waitUntil(lambda: not parts.models.predicting_all, timeout=60000)
    assert not parts.service.running_all
