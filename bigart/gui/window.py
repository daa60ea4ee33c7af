"""The main window: canvas, panels, history, status line; the one place that ties the session to the renderer.

Every widget edits the :class:`~bigart.explore.Session`; the window listens to it, builds ``session.request()`` and
submits it to the render thread (a preview while a slider is held), and shows what comes back. Model files, images
and recipes are opened from the menu, the panels or by dropping them on the window; loading runs on a worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from bigart.engine.engine import Engine
from bigart.engine.images import read_recipe, save_png
from bigart.engine.recipe import Recipe, RecipeError, read_recipe_data
from bigart.engine.request import FrozenArray
from bigart.explore import Session
from bigart.gui.biggan_panel import BigGANPanel
from bigart.gui.canvas import Canvas
from bigart.gui.cyclegan_panel import IMAGE_FILTER, CycleGANPanel
from bigart.gui.history import HistoryStrip
from bigart.gui.model_panel import FAMILY_NAMES, ModelPanel
from bigart.gui.notify import NotificationBar
from bigart.gui.panel import Panel
from bigart.gui.renderer import Delivery, Renderer
from bigart.gui.stylegan_panel import StyleGANPanel
from bigart.gui.widgets import blocked
from bigart.gui.worker import Failure, Workers

MODEL_SUFFIXES = {".pkl", ".pt", ".pth", ".safetensors", ".bin"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
MODEL_FILTER = "Models (*.pkl *.pt *.pth *.safetensors *.bin);;All files (*)"
RECENT_KEY, RECENT_MAX = "recent_models", 10
PANEL_OF = {"stylegan2": "stylegan", "stylegan3": "stylegan", "biggan": "biggan", "cyclegan": "cyclegan"}


def read_model(path: str) -> Any:
    """Load a model file (runs on a worker)."""
    from bigart.models import load_model

    return load_model(path)


def read_image(path: str) -> tuple[FrozenArray, str]:
    """A picture to translate as the state keeps it: uint8 RGB or RGBA (runs on a worker)."""
    from bigart.engine.translate import load_image

    image = load_image(path)
    pixels = image.rgb if image.alpha is None else np.dstack([image.rgb, image.alpha])
    return FrozenArray.of(pixels, np.uint8), Path(path).name


class MainWindow(QMainWindow):
    """``rendered(Delivery)`` fires when a full (not preview) render is shown, ``problem_shown(str)`` when the
    notification bar shows a problem, ``model_loaded(model)`` when a model is open and its state set."""

    rendered = Signal(object)
    problem_shown = Signal(str)
    model_loaded = Signal(object)

    def __init__(self, settings: QSettings | None = None, engine_factory: type[Engine] = Engine) -> None:
        super().__init__()
        self.setWindowTitle("bigart")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings()
        self.session = Session()
        self.workers = Workers(self)
        self.renderer = Renderer(self, engine_factory)
        self.renderer.shown.connect(self._shown)
        self.shown: Delivery | None = None
        self._drags = 0
        self._loading: str | None = None
        self._pending_recipe: Recipe | None = None

        self.canvas = Canvas()
        self.notifications = NotificationBar()
        self.model_panel = ModelPanel()
        self.model_panel.open_requested.connect(self.open_model_dialog)
        self.model_panel.recent_chosen.connect(self.load_model)
        self.panels: dict[str, Panel] = {
            "stylegan": StyleGANPanel(self.session, self.workers),
            "biggan": BigGANPanel(self.session, self.workers),
            "cyclegan": CycleGANPanel(self.session),
        }
        for panel in self.panels.values():
            panel.drag_started.connect(self.begin_drag)
            panel.drag_finished.connect(self.end_drag)
            panel.problem.connect(self.notify)
        cyc = self.panels["cyclegan"]
        cyc.open_image_requested.connect(self.open_image_dialog)
        cyc.save_requested.connect(self.save_dialog)
        cyc.split_toggled.connect(self.canvas.set_split_enabled)
        self.history = HistoryStrip(self.session)

        self._build_layout()
        self._build_actions()
        self._build_status()
        self.model_panel.set_recent(self.recent_models())
        self._fill_recent_menu()
        self.session.subscribe(self._changed)
        self._update_actions()

    # -- layout ------------------------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.empty_panel = QLabel("Open a model to see its controls.")
        self.empty_panel.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_panel.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_panel)
        for panel in self.panels.values():
            self.stack.addWidget(panel)
        controls = QWidget()
        column = QVBoxLayout(controls)
        column.addWidget(self.model_panel)
        column.addWidget(self.stack, 1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)
        self.controls = scroll

        centre = QWidget()
        box = QVBoxLayout(centre)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addWidget(self.notifications)
        box.addWidget(self.canvas, 1)

        history = QWidget()
        hbox = QVBoxLayout(history)
        hbox.setContentsMargins(0, 0, 0, 0)
        title = QLabel("History")
        title.setContentsMargins(4, 4, 4, 0)
        hbox.addWidget(title)
        hbox.addWidget(self.history, 1)
        history.setMinimumWidth(120)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(history)
        splitter.addWidget(centre)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([140, 740, 400])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.setCentralWidget(splitter)

    def _action(self, text: str, icon: str | None, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(qta.icon(icon) if icon else QIcon(), text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        action.setToolTip(tip or text.replace("...", ""))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a(
            "&Open model...", "fa6s.folder-open", self.open_model_dialog, QKeySequence.StandardKey.Open
        )
        self.open_folder_action = a("Open model &folder...", None, self.open_model_folder_dialog)
        self.open_image_action = a("Open &image to translate...", "fa6s.image", self.open_image_dialog)
        self.open_recipe_action = a("Open &recipe...", "fa6s.file-import", self.open_recipe_dialog)
        self.save_action = a(
            "&Save image...",
            "fa6s.floppy-disk",
            self.save_dialog,
            QKeySequence.StandardKey.Save,
            "Save the picture as PNG with its recipe",
        )
        self.copy_action = a("&Copy image", "fa6s.copy", self.copy_image, QKeySequence.StandardKey.Copy)
        self.train_action = a(
            "&Train or fine-tune...",
            "fa6s.graduation-cap",
            self.train_dialog,
            QKeySequence("Ctrl+T"),
            "Train a model on an image folder, or fine-tune the open one, in a separate process",
        )
        self.export_action = a(
            "&Export series...",
            "fa6s.film",
            self.export_dialog,
            QKeySequence("Ctrl+E"),
            "Export a seed range, a contact sheet or a looping walk video",
        )
        self.quit_action = a("&Quit", None, self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = a("&Undo", "fa6s.rotate-left", self.undo, QKeySequence("Ctrl+Z"))
        self.redo_action = a(
            "&Redo", "fa6s.rotate-right", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
        )
        self.fit_action = a("&Fit to window", "mdi6.fit-to-screen-outline", self.canvas.fit, QKeySequence("Ctrl+0"))
        self.actual_action = a(
            "&Actual size (1:1)", "mdi6.numeric-1-box-outline", self.canvas.actual_size, QKeySequence("Ctrl+1")
        )

        menu = self.menuBar().addMenu("&File")
        for action in (self.open_action, self.open_folder_action):
            menu.addAction(action)
        self.recent_menu = menu.addMenu("Open &recent")
        for action in (self.open_image_action, self.open_recipe_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.save_action)
        menu.addAction(self.copy_action)
        menu.addAction(self.export_action)
        menu.addAction(self.train_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        menu = self.menuBar().addMenu("&Edit")
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        menu = self.menuBar().addMenu("&View")
        menu.addAction(self.fit_action)
        menu.addAction(self.actual_action)

        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.open_action, self.save_action, self.copy_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        bar.addAction(self.fit_action)
        bar.addAction(self.actual_action)
        self.addToolBar(bar)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.timing_label = QLabel("")
        self.timing_label.setMinimumWidth(180)  # fixed room: new numbers do not re-lay out the status bar
        self.provider_label = QLabel("")
        self.provider_label.setMinimumWidth(360)
        self.backend_box = QComboBox()
        self.backend_box.addItem("torch", "torch")
        self.backend_box.addItem("ONNX Runtime", "onnx")
        self.backend_box.setToolTip("The inference backend: PyTorch or ONNX Runtime (exported once, then cached)")
        self.backend_box.currentIndexChanged.connect(self._backend_chosen)
        status.addWidget(self.timing_label)
        status.addWidget(self.provider_label)
        status.addPermanentWidget(QLabel("Backend"))
        status.addPermanentWidget(self.backend_box)

    # -- the session -> widgets and renders --------------------------------------------------------------------------
    def _panel(self) -> Panel | None:
        family = self.session.family
        return self.panels.get(PANEL_OF.get(family, "")) if family else None

    def _changed(self, session: Session, changed: frozenset[str]) -> None:
        state = session.state
        if "backend" in changed and "model" not in changed and session.model is not None:
            self.renderer.configure(session.model, state.backend)
        panel = self._panel()
        if panel is not None:
            panel.sync(state, changed)
        if "image" in changed:
            self.canvas.set_before(None if state.image is None else state.image.numpy())
        with blocked(self.backend_box):
            self.backend_box.setCurrentIndex(max(self.backend_box.findData(state.backend), 0))
        self.history.sync()
        self._update_actions()
        self._submit()

    def _submit(self) -> None:
        if self.session.model is None or self.renderer.service is None:
            return
        request = self.session.request()
        if request is None:
            if self.session.family == "cyclegan":
                self.canvas.clear("Open an image (File ▸ Open image) or drop one here to translate it")
            return
        self.renderer.submit(request, preview=self._drags > 0)

    @Slot()
    def begin_drag(self) -> None:
        """A slider (or the seed pad) is held: renders are previews until it is released."""
        self._drags += 1

    @Slot()
    def end_drag(self) -> None:
        """Released: the drag is one undo step, and the picture is rendered in full."""
        self._drags = max(self._drags - 1, 0)
        if self._drags == 0:
            self.session.end_merge()
            self._submit()

    @property
    def dragging(self) -> bool:
        return self._drags > 0

    @Slot(object)
    def _shown(self, delivery: Delivery) -> None:
        shown_key = self.canvas.shown_key
        if shown_key is not None and delivery.key < shown_key:
            return
        result = delivery.result
        if not result.ok:
            self.notify(f"This picture could not be rendered: {result.error}", self._render_details(delivery), "render")
            return
        if result.image is None or not self.canvas.show_image(delivery.key, result.image):
            return
        self.shown = delivery
        self.notifications.clear("render")
        ms = result.timings.get("total", 0.0) * 1000
        self.timing_label.setText(f"{ms:.0f} ms per frame" + (" (preview)" if delivery.preview else ""))
        self.provider_label.setText(f"backend {result.backend}  ·  provider {result.provider}  ·  {delivery.precision}")
        if not delivery.preview:
            self.rendered.emit(delivery)

    def _render_details(self, delivery: Delivery) -> str:
        engine = self.renderer.engine
        lines = [
            f"error: {delivery.result.error}",
            f"backend: {delivery.result.backend}",
            f"provider: {delivery.result.provider}",
            f"request: {delivery.request!r}"[:2000],
        ]
        if engine is not None:
            lines.append(f"engine: {engine.describe()}")
        return "\n".join(lines)

    # -- problems ----------------------------------------------------------------------------------------------------
    @Slot(str, str)
    def notify(self, message: str, details: str = "", kind: str = "error") -> None:
        self.notifications.show_error(message, details, kind)
        self.problem_shown.emit(message)

    # -- models ------------------------------------------------------------------------------------------------------
    @Slot()
    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_folder(), MODEL_FILTER)
        if path:
            self.load_model(path)

    @Slot()
    def open_model_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open model folder", self._last_folder())
        if path:
            self.load_model(path)

    def _last_folder(self) -> str:
        recent = self.recent_models()
        return str(Path(recent[0]).parent) if recent else ""

    @Slot(str)
    def load_model(self, path: str) -> None:
        """Load a model on a worker; the window keeps working meanwhile."""
        path = str(path)
        self._loading = path
        self.model_panel.set_loading(path)
        self.workers.start(partial(read_model, path), self._model_loaded, self._model_failed)

    @property
    def loading(self) -> bool:
        return self._loading is not None

    @Slot(object)
    def _model_loaded(self, model: Any) -> None:
        if self._loading is None or Path(self._loading).resolve() != Path(model.path).resolve():
            return  # another file was asked for since
        self._loading = None
        backend = self.session.state.backend
        try:
            self.renderer.configure(model, backend)
        except Exception as e:
            self._model_failed(Failure(str(e), repr(e)))
            return
        self.canvas.clear("Rendering...")
        self.canvas.set_before(None)
        self.canvas.set_split_enabled(model.family == "cyclegan" and self.panels["cyclegan"].split.isChecked())
        self.shown = None
        self.notifications.clear("render")
        panel = self.panels[PANEL_OF[model.family]]
        panel.configure(model)
        self.stack.setCurrentWidget(panel)
        self.model_panel.set_model(model)
        self.setWindowTitle(f"bigart — {Path(model.path).name} ({FAMILY_NAMES.get(model.family, model.family)})")
        self._remember(str(model.path))
        self.open_image_action.setEnabled(model.family == "cyclegan")
        self.session.set_model(model, replace(Session(model).defaults(), backend=backend))
        recipe, self._pending_recipe = self._pending_recipe, None
        if recipe is not None:
            self._restore(recipe)
        self.model_loaded.emit(model)

    @Slot(object)
    def _model_failed(self, failure: Failure) -> None:
        path, self._loading = self._loading, None
        self._pending_recipe = None
        self.model_panel.set_model(None)
        name = Path(path).name if path else "the model"
        self.notify(f"Could not open {name}: {failure.message}", failure.details, "load")

    @property
    def model(self) -> Any:
        return self.session.model

    # -- recent files ------------------------------------------------------------------------------------------------
    def recent_models(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_models() if p != path]
        self.settings.setValue(RECENT_KEY, recent[:RECENT_MAX])
        self.settings.sync()
        self.model_panel.set_recent(recent[:RECENT_MAX])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_models():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(partial(self.load_model, path))
        self.recent_menu.setEnabled(bool(self.recent_models()))

    # -- images, recipes, directions: anything opened or dropped ---------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.open_path(paths[0])

    def open_path(self, path: str | Path) -> None:
        """What dropping ``path`` does: a model loads, a bigart PNG or recipe restores its state, a picture is
        translated (CycleGAN), a directions file fills the sliders."""
        p = Path(path)
        suffix = p.suffix.lower()
        family = self.session.family
        if p.is_dir() or suffix in MODEL_SUFFIXES:
            self.load_model(str(p))
        elif suffix == ".json":
            self.open_recipe(p)
        elif suffix == ".npz":
            panel = self._panel()
            directions = getattr(panel, "directions", None)
            if directions is None:
                self.notify(f"{p.name}: directions need a StyleGAN or BigGAN model; open one first")
            else:
                directions.load_file(p)
        elif suffix in IMAGE_SUFFIXES:
            if suffix == ".png" and self._has_recipe(p):
                self.open_recipe(p)
            elif family == "cyclegan":
                self.open_image(p)
            else:
                self.notify(f"{p.name} carries no bigart recipe. To translate a picture, open a CycleGAN model first.")
        else:
            self.notify(
                f"{p.name}: bigart opens model files, bigart PNGs and recipes, direction files (.npz) and, "
                "with a CycleGAN model, pictures"
            )

    @staticmethod
    def _has_recipe(path: Path) -> bool:
        try:
            return read_recipe(path) is not None
        except Exception:
            return False

    @Slot()
    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image to translate", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        if self.session.family != "cyclegan":
            self.notify("Translating a picture needs a CycleGAN model: open one first")
            return
        self.workers.start(partial(read_image, str(path)), self._image_loaded, self._image_failed)

    @Slot(object)
    def _image_loaded(self, value: tuple[FrozenArray, str]) -> None:
        image, name = value
        if self.session.family == "cyclegan":
            try:
                self.session.set(label=f"open {name}", image=image, image_name=name)
            except ValueError as e:
                self.notify(f"Could not use {name}: {e}")

    @Slot(object)
    def _image_failed(self, failure: Failure) -> None:
        self.notify(f"Could not open the image: {failure.message}", failure.details, "load")

    @Slot()
    def open_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recipe", "", "bigart images and recipes (*.png *.json)")
        if path:
            self.open_recipe(path)

    def open_recipe(self, path: str | Path) -> None:
        """Restore the state a bigart PNG (or ``.json`` recipe) was made with, opening its model first if needed."""
        path = Path(path)
        try:
            data = read_recipe_data(path)
            request = data.get("request") if isinstance(data, dict) else None
            image = None
            if isinstance(request, dict) and isinstance(request.get("image"), dict):
                image = self._recipe_image(request["image"])
            recipe = Recipe.from_json(data, image)
        except RecipeError as e:
            self.notify(f"Could not read the recipe of {path.name}: {e}")
            return
        model = self.session.model
        if model is not None and model.sha256 == recipe.model.sha256:
            self._restore(recipe)
            return
        source = Path(recipe.model.path) if recipe.model.path else None
        if source is None or not source.exists():
            where = f" (it is not at {recipe.model.path})" if recipe.model.path else ""
            self.notify(
                f"{path.name} was made with {recipe.model.file or 'another model'}: open that model first{where}"
            )
            return
        self._pending_recipe = recipe
        self.load_model(str(source))

    def _recipe_image(self, ref: dict[str, Any]) -> np.ndarray:
        """A translation recipe names its input by hash: it must be the picture open now."""
        state = self.session.state
        if state.image is not None and ref.get("sha256") == "pixels:" + hashlib.sha256(state.image.data).hexdigest():
            return state.image.numpy()
        raise RecipeError(f"it translates {ref.get('file', 'an image')}: open that picture first, then the recipe")

    def _restore(self, recipe: Recipe) -> None:
        try:
            self.session.restore(recipe)
        except ValueError as e:
            self.notify(f"Could not restore the recipe: {e}")

    # -- save, copy, undo ---------------------------------------------------------------------------------------------
    def _default_name(self) -> str:
        state = self.session.state
        if self.session.family == "cyclegan":
            return f"{Path(state.image_name or 'image').stem}-{state.translate_direction}.png"
        return f"seed{state.seed:04d}.png"

    @Slot()
    def train_dialog(self) -> None:
        """The Train dialog (fine-tuning the open model when it is one the trainer takes); its result opens here."""
        from bigart.gui.train_dialog import TrainDialog

        folder = self.settings.value("save_folder", "") or self._last_folder()
        self.train = TrainDialog(self.session.model, folder, self)
        self.train.trained.connect(self.load_model)
        self.train.show()

    @Slot()
    def export_dialog(self) -> None:
        """The Export dialog for the open generator (with the session's truncation, noise, class, backend)."""
        from bigart.gui.export_dialog import ExportDialog

        if self.session.family not in ("stylegan2", "stylegan3", "biggan"):
            self.notify("Export series needs a StyleGAN or BigGAN model (translate folders with 'bigart export')")
            return
        folder = self.settings.value("save_folder", "") or self._last_folder()
        self.export = ExportDialog(self.session.model, self.session.state, folder, self)
        self.export.show()

    @Slot()
    def save_dialog(self) -> None:
        if self.shown is None:
            self.notify("Nothing to save yet")
            return
        folder = self.settings.value("save_folder", "") or ""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save image", str(Path(folder) / self._default_name()), "PNG images (*.png)"
        )
        if path:
            if Path(path).suffix.lower() != ".png":
                path += ".png"
            self.settings.setValue("save_folder", str(Path(path).parent))
            self.save_image(path)

    def save_image(self, path: str | Path) -> bool:
        """Write the picture shown as a PNG carrying its recipe (what really rendered it: backend, provider,
        precision, and the request of the picture shown)."""
        delivery, pixels = self.shown, self.canvas.image
        if delivery is None or pixels is None:
            self.notify("Nothing to save yet")
            return False
        try:
            engine = self.renderer.engine
            recipe = self.session.recipe(
                backend=delivery.result.backend,
                device=engine.device if engine is not None else "cpu",
                precision=delivery.precision,
                provider=delivery.result.provider,
            ).with_request(delivery.request)
            save_png(path, pixels, recipe.to_json())
        except (OSError, ValueError) as e:
            self.notify(f"Could not save {Path(path).name}: {e}")
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    @Slot()
    def copy_image(self) -> None:
        if self.canvas.qimage is not None:
            QGuiApplication.clipboard().setImage(self.canvas.qimage)
            self.statusBar().showMessage("Copied the picture", 3000)

    @Slot()
    def undo(self) -> None:
        self.session.undo()

    @Slot()
    def redo(self) -> None:
        self.session.redo()

    def _update_actions(self) -> None:
        has_model = self.session.model is not None
        self.undo_action.setEnabled(self.session.can_undo)
        self.redo_action.setEnabled(self.session.can_redo)
        self.save_action.setEnabled(has_model)
        self.copy_action.setEnabled(has_model)
        self.export_action.setEnabled(self.session.family in ("stylegan2", "stylegan3", "biggan"))
        self.open_image_action.setEnabled(self.session.family == "cyclegan")

    @Slot(int)
    def _backend_chosen(self, index: int) -> None:
        backend = self.backend_box.itemData(index)
        self.session.set(label=f"backend {backend}", backend=backend)  # with no model yet: kept for the next one

    # -- closing -----------------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.renderer.close()
        self.workers.wait(10_000)
        super().closeEvent(event)
