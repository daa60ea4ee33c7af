"""Start the app: ``run(argv)`` (what ``bigart gui`` calls), and the screenshot mode used for docs and smoke tests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from bigart.gui.renderer import Delivery
from bigart.gui.window import MainWindow

WINDOW_SIZE = (1280, 800)


def application() -> QApplication:
    """The running QApplication, or a new one named for QSettings."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "bigart"])
    app.setOrganizationName("bigart")
    app.setApplicationName("bigart")
    return app


class Opener(QObject):
    """Opens what the command line names, in order: the model, then the picture to translate or the recipe; in
    screenshot mode grabs the window once the picture for the final state is shown, then quits."""

    def __init__(
        self,
        window: MainWindow,
        model: str | None,
        recipe: str | None,
        image: str | None,
        screenshot: str | None,
        timeout_s: float = 300.0,
    ) -> None:
        super().__init__(window)
        self.window, self.recipe, self.image, self.screenshot = window, recipe, image, screenshot
        self.code: int | None = None
        self.loop: QEventLoop | None = None
        window.model_loaded.connect(self._model_loaded)
        if screenshot:
            window.rendered.connect(self._rendered)
            window.problem_shown.connect(self._problem)
            QTimer.singleShot(int(timeout_s * 1000), self._timeout)
        if model:
            window.load_model(model)
        elif recipe:
            window.open_recipe(recipe)
            self.recipe = None
        elif screenshot:
            QTimer.singleShot(200, self._grab)

    @Slot(object)
    def _model_loaded(self, model: object) -> None:
        if self.image:
            image, self.image = self.image, None
            self.window.open_image(image)
        elif self.recipe:
            recipe, self.recipe = self.recipe, None
            self.window.open_recipe(recipe)
        elif self.screenshot and self.window.session.request() is None:
            QTimer.singleShot(200, self._grab)

    def _settled(self) -> bool:
        w = self.window
        return not (self.image or self.recipe or w.loading or w.workers.busy or w.renderer.busy)

    @Slot(object)
    def _rendered(self, delivery: Delivery) -> None:
        if self.code is None and self._settled() and delivery.request == self.window.session.request():
            QTimer.singleShot(200, self._grab)

    @Slot()
    def _grab(self) -> None:
        if self.code is not None:
            return
        out = Path(self.screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(out), "PNG"):
            print(f"bigart: error: could not write {out}", file=sys.stderr)
            self._finish(1)
            return
        self._finish(0)

    @Slot(str)
    def _problem(self, message: str) -> None:
        if self.code is None:
            print(f"bigart: error: {message}", file=sys.stderr)
            self._finish(1)

    @Slot()
    def _timeout(self) -> None:
        if self.code is None:
            print("bigart: error: no picture within the time limit; no screenshot written", file=sys.stderr)
            self._finish(1)

    def _finish(self, code: int) -> None:
        self.code = code
        if self.loop is not None:
            self.loop.exit(code)


def launch(
    model: str | None = None,
    recipe: str | None = None,
    screenshot: str | None = None,
    image: str | None = None,
) -> int:
    """Show the window (opening ``model``, ``image``, ``recipe``); with ``screenshot``, save a picture of the window
    once the first full render is shown and return (0, or 1 when something failed).

    With neither a model nor a recipe, the shipped emoji model opens: the CycleGAN when there is a picture to
    translate, else the StyleGAN2 (an empty window when the shipped models are not there)."""
    if model is None and recipe is None:
        model = first_start_model(image)
    app = application()
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()
    opener = Opener(window, model, recipe, image, screenshot)
    if not screenshot:
        return app.exec()
    loop = QEventLoop()
    opener.loop = loop
    code = opener.code if opener.code is not None else loop.exec()
    window.close()
    window.deleteLater()
    return int(code)


def first_start_model(image: str | None = None) -> str | None:
    """The shipped model to open when the command line names none (see :func:`launch`)."""
    from bigart.models.shipped import DEFAULT_FAMILY, shipped_models

    wanted = "cyclegan" if image else DEFAULT_FAMILY
    return next((str(m.path) for m in shipped_models() if m.family == wanted), None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bigart gui", description="The bigart desktop app.")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="a model file or folder to open (default: the shipped emoji StyleGAN2)")
    p.add_argument("--recipe", help="a bigart PNG or .json recipe to restore (opens its model)")
    p.add_argument("--image", help="a picture to translate (with a CycleGAN model)")
    p.add_argument("--screenshot", metavar="OUT.png", help="save a picture of the window after the first render, exit")


def run(argv: Sequence[str] | None = None) -> int:
    """``bigart gui`` without the rest of the command line."""
    args = build_parser().parse_args(argv)
    return launch(args.model, args.recipe, args.screenshot, args.image)
