"""The main window's menus, toolbar, status bar, shortcuts and recent folders (construction only)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMessageBox, QSlider, QSpinBox, QToolBar

from model.errors import SegGUIError
from model.storage.tiff_files import axes_question, is_tiff, split_plane
from seggui.actions import make_action
from seggui.canvas.layers import STYLES
from seggui.canvas.tools import TOOLS, FillTool

MAX_RECENT = 8
SHORTCUTS = [
    ("B", "Brush"),
    ("E", "Eraser"),
    ("F", "Fill"),
    ("P", "Polygon (double-click or Enter closes)"),
    ("L", "Lasso"),
    ("0, 1-9", "Pick class (0: background)"),
    ("I", "Pick the class under the pointer"),
    ("[ / ]", "Brush size"),
    ("Space + drag, middle drag", "Pan"),
    ("Wheel", "Zoom around the cursor"),
    ("Ctrl+0", "Fit to window"),
    ("M", "Show/hide mask"),
    ("Page Down / Page Up", "Next / previous image"),
    (". / ,", "Next / previous plane of a stack"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"),
    ("Ctrl+T", "Train (fine-tune on everything painted)"),
    ("R", "Show/hide the prediction"),
    ("A / Shift+A", "Accept the prediction into unpainted pixels / replace the mask"),
    ("U", "Next most uncertain image"),
    ("Shift+U", "Show/hide where the model is unsure"),
    ("Ctrl+Shift+P", "Predict all images"),
    ("Ctrl+E / Ctrl+I", "Export masks / import labels"),
]


_ALIASES = {"PgDown": "Page Down", "PgUp": "Page Up"}


def covered(key: str, listed: set[str]) -> bool:
    """Whether the row keys ``listed`` already name ``key`` (``Page Down / Page Up`` names PgDown,
    ``0, 1-9`` every digit)."""
    names = {part.strip() for row in listed for part in row.replace(",", "/").split("/")}
    return key in names or _ALIASES.get(key) in names or (key.isdigit() and "1-9" in names)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """The shortcut list: ``SHORTCUTS`` (with gestures, and words on what the keys do), then
    every action's shortcut that it does not name, so a new shortcut cannot be missing."""
    rows = list(SHORTCUTS)
    listed = {key for key, _ in rows}
    for action in actions:
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if key and not covered(key, listed):
            rows.append((key, action.text().replace("&", "").removesuffix("...")))
            listed.add(key)
    return rows


def about_text() -> str:
    """Version, what SegGUI is, and where its help lives (no torch import: the GUI thread)."""
    from importlib.metadata import PackageNotFoundError, version

    from PySide6 import __version__ as pyside_version

    try:
        ours = version("seggui")
    except PackageNotFoundError:
        ours = "(not installed)"
    return (
        f"<h3>SegGUI {ours}</h3>"
        "<p>Label images for semantic segmentation with a U-Net in the loop: paint a few strokes, "
        "train on them in the background, accept and correct the predictions, export the masks.</p>"
        f"<p>Qt for Python {pyside_version}. The README holds the manual; Help &gt; Keyboard "
        "Shortcuts lists the keys.</p>"
    )


class WindowUi:
    """Mixed into ``MainWindow``: builds its actions and bars; behaviour stays in ``MainWindow``."""

    def _build_status_bar(self) -> None:
        self.position_label = QLabel()
        self.zoom_label = QLabel()
        self.save_label = QLabel()
        bar = self.statusBar()
        bar.addPermanentWidget(self.save_label)
        bar.addPermanentWidget(self.position_label)
        bar.addPermanentWidget(self.zoom_label)

    def _action(
        self, text: str, slot, shortcut: str | QKeySequence | None = None, checkable: bool = False
    ) -> QAction:
        action = make_action(self, text, slot, shortcut, checkable)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open Folder...", self._choose_folder, QKeySequence.StandardKey.Open)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self.editor.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.editor.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.next_action = self._action("&Next Image", lambda: self.step_image(1), "PgDown")
        self.previous_action = self._action("&Previous Image", lambda: self.step_image(-1), "PgUp")
        self.fit_action = self._action("&Fit to Window", self.canvas.fit_to_window, "Ctrl+0")
        self.mask_visible_action = self._action(
            "Show &Mask", self._on_mask_visible_toggled, "M", checkable=True
        )
        self.mask_visible_action.setChecked(True)
        self.smaller_action = self._action(
            "Smaller Brush", lambda: self.set_brush_radius(self.editor.brush_radius / 1.25), "["
        )
        self.larger_action = self._action(
            "Larger Brush", lambda: self.set_brush_radius(self.editor.brush_radius * 1.25), "]"
        )
        self.erase_to_background_action = self._action(
            "Eraser Paints &Background", self._on_erase_mode_toggled, checkable=True
        )
        self.help_action = self._action(
            "&Keyboard Shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents
        )
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for info in TOOLS:
            action = self._action(
                info.title, lambda _=False, n=info.name: self.set_tool(n), info.key, checkable=True
            )
            self.tool_group.addAction(action)
            self.tool_actions[info.name] = action
        for number in range(10):
            self._action(f"Class {number}", lambda _=False, n=number: self.set_class(n), str(number))
        self.about_action = self._action("&About SegGUI", self._show_about)
        self.keep_labels_action = self._action(
            "Paint Only &Unlabelled Pixels", lambda on: self.editor.set_keep_labels(on), checkable=True
        )
        self.keep_labels_action.setToolTip("Brush, fill, polygon and lasso leave labelled pixels as they are")
        self.pick_class_action = self._action("&Pick Class Under Pointer", self.pick_class_under_pointer, "I")
        self.axes_action = self._action("TIFF &Axes...", self._change_image_axes)
        self.next_plane_action = self._action("Next &Plane", lambda: self.plane_bar.step(1), ".")
        self.previous_plane_action = self._action("Previous Pla&ne", lambda: self.plane_bar.step(-1), ",")
        self.axes_action.setToolTip(
            "Which sizes of the folder's TIFFs without axes in their metadata are channels"
        )

    def _build_toolbar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("tools")
        self.addToolBar(bar)
        for action in self.tool_actions.values():
            bar.addAction(action)
        bar.addSeparator()
        # Undo and redo next to the tools: on a narrow screen the bar's overflow takes the
        # display sliders at its end, not these.
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        self.fill_mode_combo = QComboBox()
        self.fill_mode_combo.addItem("Fill similar pixels", FillTool.SIMILAR)
        self.fill_mode_combo.addItem("Fill same label", FillTool.SAME_LABEL)
        self.fill_mode_combo.setToolTip(
            "Fill similar pixels: the connected pixels whose image values lie within the tolerance "
            "of the clicked one (a magic wand). Fill same label: the connected area of the clicked "
            "label, such as the inside of an outline."
        )
        self.fill_mode_combo.activated.connect(
            lambda _: self.set_fill_mode(self.fill_mode_combo.currentData())
        )
        bar.addWidget(self.fill_mode_combo)
        self.tolerance_spin = QSpinBox()
        self.tolerance_spin.setRange(0, 100)
        self.tolerance_spin.setSuffix(" %")
        self.tolerance_spin.setToolTip("How far from the clicked pixel's value a similar pixel may be")
        self.tolerance_spin.valueChanged.connect(self.set_fill_tolerance)
        bar.addWidget(self.tolerance_spin)
        bar.addSeparator()
        bar.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 200)
        self.size_slider.setFixedWidth(120)
        self.size_slider.valueChanged.connect(lambda v: self.set_brush_radius(v / 2))
        bar.addWidget(self.size_slider)
        self.size_label = QLabel()
        self.size_label.setMinimumWidth(44)
        bar.addWidget(self.size_label)
        bar.addWidget(QLabel(" Opacity "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(100)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.mask_layer.setOpacity(v / 100))
        bar.addWidget(self.opacity_slider)
        bar.addAction(self.mask_visible_action)
        self.set_brush_radius(8)
        self.set_fill_mode(FillTool.SIMILAR)
        self.set_fill_tolerance(10)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._refresh_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.transfer.export_action)
        file_menu.addAction(self.transfer.import_action)
        file_menu.addAction(self.transfer.classes_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        image_menu = self.menuBar().addMenu("&Image")
        image_menu.addAction(self.channel_dock.toggleViewAction())
        image_menu.addAction(self.axes_action)
        image_menu.addAction(self.next_plane_action)
        image_menu.addAction(self.previous_plane_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        view_menu = self.menuBar().addMenu("&View")
        for action in (self.fit_action, self.mask_visible_action, self.next_action, self.previous_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        self.style_actions: dict[str, dict[str, QAction]] = {}
        for layer, title in (("mask", "&Mask Drawn As"), ("prediction", "&Prediction Drawn As")):
            menu = view_menu.addMenu(title)
            group = QActionGroup(self)
            self.style_actions[layer] = {}
            for style, text in STYLES.items():
                action = menu.addAction(text)
                action.setCheckable(True)
                action.triggered.connect(lambda _=False, lay=layer, st=style: self.set_label_style(lay, st))
                group.addAction(action)
                self.style_actions[layer][style] = action
        tools_menu = self.menuBar().addMenu("&Tools")
        for action in (
            *self.tool_actions.values(),
            self.smaller_action,
            self.larger_action,
            self.erase_to_background_action,
            self.keep_labels_action,
            self.pick_class_action,
        ):
            tools_menu.addAction(action)
        model_menu = self.menuBar().addMenu("&Model")
        for action in self.model_loop.menu_actions():
            if action is None:
                model_menu.addSeparator()
            else:
                model_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)

    def _change_image_axes(self) -> None:
        """Ask again how the TIFF on screen, and the folder's others of its shape, are read."""
        current = self.current
        question = None
        source = split_plane(current.path)[0] if current is not None else None
        if source is not None and is_tiff(source):
            try:
                question = axes_question(source)
            except SegGUIError as exc:
                self._error(str(exc))
                return
        if question is None:
            self._error(
                "The image on screen says in its own metadata which size is channels and which planes "
                "(or is not a TIFF): there is nothing to choose. Open a TIFF without axes in its metadata"
            )
            return
        answer = self.ask_axes(question, self.session.image_axes())
        if answer is not None and answer != self.session.image_axes():
            self.session.set_image_axes(answer)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder", self.folder_dialog_start())
        if folder:
            self.open_folder(folder)

    def folder_dialog_start(self) -> str:
        """Where Open Folder starts: the last folder opened that still exists, else home."""
        for folder in self.recent_folders():
            if Path(folder).is_dir():
                return folder
        return str(Path.home())

    def _remember_recent(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue("recent_folders", recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def recent_folders(self) -> list[str]:
        value = self.settings.value("recent_folders", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for folder in self.recent_folders():
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(f))
        self.recent_menu.setEnabled(bool(self.recent_folders()))

    def _show_about(self) -> None:
        QMessageBox.about(self, "About SegGUI", about_text())

    def _show_shortcuts(self) -> None:
        table = shortcut_rows(self.findChildren(QAction))
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in table)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table cellspacing=6>{rows}</table>")
