"""Every screenshot of the guide, made from the real window (started as ``python main.py``
starts it) on generated or bundled data, so a changed window is one command away from new
pictures:

    QT_QPA_PLATFORM=offscreen python docs/screenshots.py [--only NAME ...] [--out DIR] [--list]

Each picture is a function below that makes its data, drives the window with the keys, clicks
and actions a user would use, waits for what it shows, and grabs the window (or a dialog).
Shots that need a model train one first, briefly, and share it within a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QPoint, QPointF, QRectF, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from model.classes import ClassInfo  # noqa: E402
from model.cli import main as _cli_main  # noqa: E402
from model.storage.imageio import write_mask  # noqa: E402
from model.storage.project import Project, save_project  # noqa: E402
from seggui import app as seggui_app  # noqa: E402
from seggui.bundled import SAMPLE_PROJECT  # noqa: E402
from seggui.widgets.main_window import MainWindow  # noqa: E402


def cli_main(*argv: str) -> None:
    """A command of the command line, as a user types it; its failure stops the script."""
    code = _cli_main(list(argv))
    if code:
        raise SystemExit(f"seggui {' '.join(argv)} failed ({code})")


SIZE = (1400, 900)
"""The window's size in the pictures (what it opens at on a large screen)."""

SHOTS: dict[str, Callable[[Shooter], None]] = {}


def shot(function: Callable[[Shooter], None]) -> Callable[[Shooter], None]:
    SHOTS[function.__name__.replace("_", "-")] = function
    return function


class Shooter:
    """Starts windows, drives them and saves what they show into ``out``."""

    def __init__(self, out: Path, work: Path) -> None:
        self.out, self.work = out, work
        self.app = seggui_app.application()
        self.windows: list[MainWindow] = []
        self._models: dict[int, Path] = {}
        self._copies = 0

    # -- the window -------------------------------------------------------------------------------
    def start(self, target: Path, size: tuple[int, int] = SIZE) -> MainWindow:
        """The window ``python main.py TARGET`` shows, with preferences of its own."""
        settings = QSettings(str(self.work / f"settings-{len(self.windows)}.ini"), QSettings.Format.IniFormat)
        window = seggui_app.start(target, settings)
        window.resize(*size)
        self.windows.append(window)
        opened = lambda: window.state.shown_path is not None or window.canvas.notice.isVisible()  # noqa: E731
        self.wait(lambda: window.state.project is not None and opened())
        return window

    def close(self) -> None:
        for window in self.windows:
            window.close()
        self.windows.clear()
        self.settle(0.2)

    def wait(self, condition: Callable[[], bool], timeout: float = 120.0) -> None:
        """Run the event loop until ``condition`` holds (as the app's own loop runs: other
        threads get their turn, where a loop of short waits in Python starved them)."""
        if condition():
            return
        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: loop.quit() if condition() else None)
        poll.start(50)
        QTimer.singleShot(int(timeout * 1000), loop.quit)
        loop.exec()
        poll.stop()
        if not condition():
            raise TimeoutError("the window did not get there")

    def settle(self, seconds: float = 0.5) -> None:
        """Let the window finish drawing (tiles, overlays, charts)."""
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    # -- a user's hands ---------------------------------------------------------------------------
    def key(self, window: MainWindow, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        window.canvas.setFocus()
        QTest.keyClick(window.canvas, key, modifier)

    def stroke(self, window: MainWindow, points: list[tuple[float, float]]) -> None:
        """A brush stroke through image points."""
        viewport = window.canvas.viewport()

        def at(x: float, y: float) -> QPoint:
            return window.canvas.mapFromScene(QPointF(x, y))

        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*points[0]))
        for x, y in points[1:]:
            QTest.mouseMove(viewport, at(x, y))
        QTest.mouseRelease(
            viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(*points[-1])
        )

    def save(self, widget: QWidget, name: str) -> Path:
        """``widget`` as shown, into ``out/NAME.png`` (a palette of 256 colours: small files)."""
        if isinstance(widget, MainWindow):  # the device is found on a worker thread at start
            self.wait(lambda: "finding out" not in widget.model_panel.device_label.text())
        self.settle(0.3)
        path = self.out / f"{name}.png"
        grabbed = self.work / f"{name}-grab.png"
        widget.grab().save(str(grabbed))
        Image.open(grabbed).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"{path} ({path.stat().st_size // 1024} kB)")
        return path

    # -- data -----------------------------------------------------------------------------------
    def sample(self) -> Path:
        """A fresh copy of the bundled sample project."""
        self._copies += 1
        target = self.work / f"sample-{self._copies}"
        shutil.copytree(SAMPLE_PROJECT, target)
        return target

    def sample_model(self, steps: int = 150) -> Path:
        """A model of the sample's three classes, trained briefly from its labelled images."""
        if steps not in self._models:
            folder = self.sample()
            out = str(self.work / f"sample-model-{steps}.pt")
            names, count = "background,cell,nucleus", str(steps)
            cli_main(
                "train", "--images", str(folder), "--out", str(out), "--classes", names, "--steps", count
            )
            self._models[steps] = Path(out)
        return self._models[steps]

    def sample_with_model(self, steps: int = 150) -> Path:
        folder = self.sample()
        (folder / "models").mkdir(exist_ok=True)
        shutil.copy(self.sample_model(steps), folder / "models" / "sample-model.pt")
        return folder


def cells(rng: np.random.Generator, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells with nuclei: a float picture and its mask (0 background, 1 cell, 2 nucleus)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    picture = np.zeros((size, size), np.float32)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(count):
        cy, cx = rng.uniform(20, size - 20, 2)
        r = rng.uniform(10, 24)
        d = (yy - cy) ** 2 + (xx - cx) ** 2
        picture[d < r * r] = 0.45
        mask[d < r * r] = 1
        picture[d < (0.5 * r) ** 2] = 1.0
        mask[d < (0.5 * r) ** 2] = 2
    return picture, mask


# -- labelling ----------------------------------------------------------------------------------------
def _cells_of(raw: np.ndarray) -> list[tuple[float, float, float]]:
    """The nuclei of a sample image: centre y, x and radius of each bright blob."""
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(raw.astype(np.float32), 2)
    found, count = ndimage.label(smooth > 165)
    out = []
    for index in range(1, count + 1):
        ys, xs = np.nonzero(found == index)
        if len(ys) > 30:
            out.append((float(ys.mean()), float(xs.mean()), float(np.sqrt(len(ys) / np.pi))))
    return out


def _background_stroke(raw: np.ndarray) -> list[tuple[float, float]]:
    """A horizontal stroke through the darkest long stretch of rows (no cell on it)."""
    from scipy import ndimage

    dark = ndimage.gaussian_filter(raw.astype(np.float32), 3) < 70
    dark = ndimage.binary_erosion(dark, iterations=8)
    best = max(range(raw.shape[0]), key=lambda y: dark[y].sum())
    xs = np.flatnonzero(dark[best])
    return [(float(x) + 0.5, best + 0.5) for x in np.linspace(xs[0], xs[-1], 6)]


@shot
def labelling(s: Shooter) -> None:
    """The sample: strokes of the three classes on an unlabelled image."""
    folder = s.sample()
    window = s.start(folder / "cells_04.png")
    raw = window.state.current.raw
    window.tool_state.set_brush_radius(3)
    for y, x, r in _cells_of(raw)[:3]:
        s.key(window, Qt.Key.Key_2)
        s.stroke(window, [(x - r / 2, y), (x + r / 2, y + 1)])
        s.key(window, Qt.Key.Key_1)
        s.stroke(window, [(x - 1.4 * r, y - 0.4 * r), (x - 1.4 * r, y + 0.4 * r)])
    s.key(window, Qt.Key.Key_0)
    window.tool_state.set_brush_radius(5)
    s.stroke(window, _background_stroke(raw))
    s.key(window, Qt.Key.Key_2)
    s.wait(lambda: "finding out" not in window.model_panel.device_label.text())
    s.save(window, "labelling")


@shot
def fill_similar(s: Shooter) -> None:
    """The similarity fill: one click filled a nucleus."""
    folder = s.sample()
    window = s.start(folder / "cells_05.png")
    window.tool_state.set_fill(window.tool_state.fill_mode, 0.25)
    s.key(window, Qt.Key.Key_F)
    s.key(window, Qt.Key.Key_2)
    y, x = np.argwhere(window.state.current.raw > 180)[60]
    s.stroke(window, [(x + 0.5, y + 0.5)])
    s.save(window, "fill-similar")


@shot
def empty_folder(s: Shooter) -> None:
    """A folder without images: what the canvas says."""
    folder = s.work / "scans"
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("stain: H&E\n")
    (folder / "scan.czi").write_bytes(b"ZISRAWFILE" + bytes(64))
    window = s.start(folder)
    s.wait(lambda: window.canvas.notice.isVisible())
    s.save(window, "empty-folder")


# -- microscopy and remote sensing --------------------------------------------------------------------
@shot
def channels(s: Shooter) -> None:
    """A 4-channel 16-bit OME-TIFF as a composite, one row per channel."""
    from scipy import ndimage

    rng = np.random.default_rng(4)
    _, mask = cells(rng, 384, 14)
    cell = mask > 0
    edge = cell & ~ndimage.binary_erosion(cell, iterations=2)
    spots = ndimage.binary_dilation(cell & (rng.random(cell.shape) > 0.992), iterations=1)
    planes = np.stack([(mask == 2) * 9000.0, (mask == 1) * 5000.0, spots * 12000.0, edge * 7000.0])
    noise = rng.normal(900, 250, (4, 384, 384))
    stack = (ndimage.gaussian_filter(planes, (0, 1.2, 1.2)) + noise).clip(0, 65535).astype(np.uint16)
    folder = s.work / "channels"
    folder.mkdir(exist_ok=True)
    tifffile.imwrite(
        folder / "cells.ome.tif",
        stack,
        ome=True,
        metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP", "spots", "membrane"]}},
    )
    window = s.start(folder)
    s.save(window, "channels")


@shot
def stack(s: Shooter) -> None:
    """A 24-plane z-stack: a plane painted, the plane slider under the canvas."""
    rng = np.random.default_rng(5)
    base, _ = cells(rng, 256, 10)
    depth = np.exp(-(((np.arange(24) - 12) / 6.0) ** 2))
    planes = np.stack([base * 20000 * d + rng.normal(800, 150, base.shape) for d in depth]).clip(0, 65535)
    folder = s.work / "stack"
    folder.mkdir(exist_ok=True)
    tifffile.imwrite(folder / "nuclei.tif", planes.astype(np.uint16), imagej=True, metadata={"axes": "ZYX"})
    window = s.start(folder)
    for _ in range(11):
        before = window.state.shown_path
        s.key(window, Qt.Key.Key_Period)
        s.wait(lambda before=before: window.state.shown_path != before)
    y, x = np.argwhere(base > 0.9)[30]
    s.key(window, Qt.Key.Key_1)
    s.stroke(window, [(x + 0.5, y + 0.5), (x + 3.5, y + 2.5)])
    s.save(window, "stack")


@shot
def geotiff_nodata(s: Shooter) -> None:
    """A Landsat-like scene with nodata 0 around its tilted footprint, predicted, and a stroke
    painted across the footprint's edge."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    size = 512
    water = ndimage.gaussian_filter(rng.normal(size=(size, size)), 18) > 0.02
    yy, xx = np.mgrid[:size, :size] - size / 2
    inside = (abs(xx * np.cos(0.22) + yy * np.sin(0.22)) < 190) & (
        abs(-xx * np.sin(0.22) + yy * np.cos(0.22)) < 215
    )
    land = np.array([9000, 11000, 8000]) + rng.normal(0, 600, (size, size, 3))
    wet = np.array([7000, 7600, 9500]) + rng.normal(0, 300, (size, size, 3))
    bands = np.where(water[..., None], wet, land).clip(1, 65535).astype(np.uint16)
    bands[~inside] = 0
    tags = [
        (33550, 12, 3, (30.0, 30.0, 0.0), True),
        (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4200000.0, 0.0), True),
        (34735, 3, 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32612), True),
        (42113, 2, 0, "0", True),
    ]
    classes = [
        ClassInfo("background", (40, 40, 255)),
        ClassInfo("land", (60, 180, 75)),
        ClassInfo("water", (0, 130, 200)),
    ]
    folder, train = s.work / "scene", s.work / "scene-train"
    for where in (folder, train / "masks"):
        where.mkdir(parents=True, exist_ok=True)
    for where in (folder, train):
        tifffile.imwrite(where / "LC08_scene.tif", bands, photometric="rgb", extratags=tags)
    truth = np.where(water, 2, 1).astype(np.uint8)
    truth[~inside] = 255
    write_mask(train / "masks" / "LC08_scene.png", truth, classes)
    save_project(Project(folder, classes=tuple(classes)))
    (folder / "models").mkdir(exist_ok=True)
    model = str(folder / "models" / "scene.pt")
    quick = ("--steps", "150", "--preset", "fast", "--classes", "background,land,water")
    cli_main("train", "--images", str(train), "--out", model, *quick)
    window = s.start(folder)
    s.wait(lambda: window.models.shown is not None)
    s.key(window, Qt.Key.Key_1)
    window.tool_state.set_brush_radius(14)
    s.stroke(window, [(150.5, 250.5), (90.5, 252.5), (40.5, 255.5)])
    s.save(window, "geotiff-nodata")


# -- training and predictions -----------------------------------------------------------------------
@shot
def training(s: Shooter) -> None:
    """The sample training: the live charts and the preview over an unlabelled image."""
    folder = s.sample()
    window = s.start(folder / "cells_04.png")
    form = window.model_panel.form
    form.epochs_spin.setValue(1000)  # the time limit ends the run
    form.budget_spin.setValue(30)
    previews = []
    window.training.preview_changed.connect(lambda name, changed: previews.append(name))
    s.key(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    s.wait(lambda: len(previews) >= 3 and window.models.progress > 0.5)
    s.save(window, "training")
    s.wait(lambda: not window.models.training)


@shot
def training_panel(s: Shooter) -> None:
    """The Model panel with Advanced open on a 1366 x 768 screen."""
    window = s.start(s.sample(), (1366, 740))
    window.model_panel.form.advanced_toggle.click()
    s.save(window, "training-panel")


@shot
def prediction_hatched(s: Shooter) -> None:
    """A model's prediction, hatched, and each predicted image's uncertainty in the list."""
    folder = s.sample_with_model()
    window = s.start(folder / "cells_05.png")
    s.wait(lambda: window.models.shown is not None)
    with_all = []
    window.ranking.predict_all_finished.connect(with_all.append)
    s.key(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    s.wait(lambda: bool(with_all))
    s.save(window, "prediction-hatched")


@shot
def uncertainty(s: Shooter) -> None:
    """Show Uncertainty: where a model of a few dozen steps is unsure, tinted."""
    folder = s.sample_with_model(steps=30)
    window = s.start(folder / "cells_06.png")
    s.wait(lambda: window.models.shown is not None)
    s.key(window, Qt.Key.Key_U, Qt.KeyboardModifier.ShiftModifier)
    s.wait(lambda: not window.canvas.uncertainty_layer.image().isNull())
    s.save(window, "uncertainty")


# -- slides -------------------------------------------------------------------------------------------
def _slide(s: Shooter, name: str) -> tuple[Path, np.ndarray]:
    """A 6,144 x 4,608 pyramid of colour tissue in a folder of its own, opened as a slide (the
    threshold for slides is lowered in this process: a real one is over 2^30 pixels)."""
    from model.storage import tiff_files

    tiff_files.MAX_PIXELS = 4_000_000
    folder = s.work / name
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(8)
    tile, mask = cells(rng, 1536, 90)
    tissue = np.tile(tile, (3, 4))
    labels = np.tile(mask, (3, 4))
    pink = np.array([235, 200, 215]) - tissue[..., None] * np.array([60, 140, 70])
    picture = (pink + rng.normal(0, 6, (*tissue.shape, 3))).clip(0, 255).astype(np.uint8)
    options = {"tile": (512, 512), "photometric": "rgb", "compression": "jpeg"}
    with tifffile.TiffWriter(folder / "biopsy.tif", bigtiff=True) as tif:
        tif.write(picture, subifds=3, **options)
        for level in (2, 4, 8):
            tif.write(picture[::level, ::level], subfiletype=1, **options)
    save_project(
        Project(
            folder,
            classes=(
                ClassInfo("background", (40, 40, 255)),
                ClassInfo("cell", (230, 25, 75)),
                ClassInfo("nucleus", (0, 130, 200)),
            ),
        )
    )
    return folder, labels


@shot
def slide_painted(s: Shooter) -> None:
    """A slide at full resolution, strokes of two classes painted."""
    folder, labels = _slide(s, "slide-painted")
    window = s.start(folder)
    window.canvas.show_region(QRectF(2000, 1500, 1200, 800))
    s.settle(1.0)
    view = labels[1500:2300, 2000:3200]
    for y, x in np.argwhere(view == 2)[[200, 900, 1600]]:
        s.key(window, Qt.Key.Key_2)
        s.stroke(window, [(2000 + x - 3.5, 1500 + y + 0.5), (2000 + x + 3.5, 1500 + y + 0.5)])
    free = max(range(40, 760), key=lambda row: (view[row - 12 : row + 12] == 0).all(axis=0).sum())
    columns = np.flatnonzero((view[free - 12 : free + 12] == 0).all(axis=0))
    s.key(window, Qt.Key.Key_0)
    s.stroke(
        window,
        [(2000 + columns[0] + 10.5, 1500 + free + 0.5), (2000 + columns[0] + 300.5, 1500 + free + 0.5)],
    )
    s.wait(lambda: window.slide_tiles.pending == 0)
    s.save(window, "slide-painted")


@shot
def slide_predicted(s: Shooter) -> None:
    """A slide predicted on screen, window by window."""
    folder, labels = _slide(s, "slide-predicted")
    label_tiff = s.work / "slide-labels.tif"
    sparse = np.full(labels.shape, 255, np.uint8)  # 255: not labelled
    sparse[:1536, :1536] = labels[:1536, :1536]  # one corner labelled
    tifffile.imwrite(label_tiff, sparse, tile=(512, 512), photometric="minisblack")
    (folder / "models").mkdir(exist_ok=True)
    model, names = str(folder / "models" / "slide.pt"), "background,cell,nucleus"
    image = str(folder / "biopsy.tif")
    quick = ("--classes", names, "--steps", "150", "--preset", "fast")
    cli_main("train-slide", "--image", image, "--mask", str(label_tiff), "--out", model, *quick)
    window = s.start(folder)
    window.canvas.show_region(QRectF(2100, 1600, 1000, 700))
    predicted = []
    window.slide_predictions.window_predicted.connect(predicted.append)
    s.wait(lambda: len(predicted) >= 1)
    s.settle(3.0)
    s.save(window, "slide-predicted")


@shot
def export(s: Shooter) -> None:
    """The export dialog."""
    from seggui.widgets.transfer_dialogs import ExportDialog

    window = s.start(s.sample())
    dialog = ExportDialog(window.state.project.folder / "export", window)
    dialog.show()
    s.save(dialog, "export")
    dialog.close()


@shot
def import_(s: Shooter) -> None:
    """The import dialog."""
    from seggui.widgets.transfer_dialogs import ImportDialog

    window = s.start(s.sample())
    dialog = ImportDialog(window)
    dialog.show()
    s.save(dialog, "import")
    dialog.close()


SHOTS["import"] = SHOTS.pop("import-")


@shot
def ome_zarr_opened(s: Shooter) -> None:
    """The sample exported as OME-Zarr, opened as a folder of its own, its label images imported."""
    export = s.work / "ome-zarr-export"
    cli_main("export", "masks", "--project", str(s.sample()), "--format", "ome-zarr", "--out", str(export))
    classes = str(export / "classes.json")
    cli_main(
        "import", "--project", str(export), "--from", str(export), "--kind", "ome-zarr", "--labels", classes
    )
    window = s.start(export)
    s.wait(lambda: window.state.shown_path == export / "cells_01.ome.zarr")
    s.save(window, "ome-zarr-opened")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these pictures (default: all)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="folder of the pictures"
    )
    parser.add_argument("--list", action="store_true", help="name the pictures and stop")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SHOTS))
        return 0
    unknown = sorted(set(args.only or ()) - set(SHOTS))
    if unknown:
        parser.error(f"no picture {', '.join(unknown)}; there are {', '.join(SHOTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="seggui-shots-") as work:
        os.environ["XDG_DATA_HOME"] = work  # the user's own sample copy stays untouched
        shooter = Shooter(args.out, Path(work))
        for name in args.only or SHOTS:
            SHOTS[name](shooter)
            shooter.close()
    QApplication.instance().quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
