"""A real main window (offscreen) over tiny random models written to ``tmp_path``; helpers to wait for renders."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from bigart.engine.engine import Engine
from bigart.models import save_model_file
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle

TIMEOUT_MS = 20_000


@pytest.fixture
def window(qtbot, tmp_path):
    from bigart.gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture
def sg2_path(tmp_path, tiny_sg2):
    g = tiny_sg2("skip", res=16)
    path = tmp_path / "sg2.pkl"
    write_nvidia_pickle(path, g, sg2_kwargs(g))
    return path


@pytest.fixture
def biggan_path(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    g = randomized(tiny_config(num_classes=1000))  # 1000 classes: the ImageNet names
    path = tmp_path / "biggan.safetensors"
    save_model_file(path, g.state_dict(), {"family": "biggan", "config": g.config.to_dict()})
    return path


@pytest.fixture
def cyclegan_path(tmp_path):
    from tests.models.test_cyclegan import tiny

    net = tiny(n_blocks=2, directions=["AtoB", "BtoA"])
    path = tmp_path / "cyclegan.safetensors"
    save_model_file(path, net.state_dict(), {"family": "cyclegan", "config": net.config.to_dict()})
    return path


def rendered(window) -> bool:
    """The canvas shows the full render of the session's current state."""
    shown = window.shown
    request = window.session.request()
    return (
        shown is not None
        and not shown.preview
        and request is not None
        and shown.request == request
        and window.canvas.shown_key == shown.key
    )


def wait_rendered(qtbot, window, timeout: int = TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: rendered(window), timeout=timeout)


def open_model(qtbot, window, path, render: bool = True) -> None:
    window.load_model(str(path))
    qtbot.waitUntil(lambda: window.model is not None and not window.loading, timeout=TIMEOUT_MS)
    if render:
        wait_rendered(qtbot, window)


def expected_pixels(window, backend: str = "torch") -> np.ndarray:
    """What a fresh engine renders for the session's state: the canvas must show exactly this."""
    result = Engine(window.model, backend).render(window.session.request())
    assert result.ok, result.error
    return result.image


def click(qtbot, window, widget) -> None:
    """A real mouse click on a control of the side panel, scrolled into view first (as a user would)."""
    from PySide6.QtCore import Qt

    window.controls.ensureWidgetVisible(widget)
    qtbot.waitUntil(lambda: widget.isVisible() and widget.height() > 0)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def drag(slider, *values) -> None:
    """A slider drag: pressed, moved through ``values``, released."""
    slider.setSliderDown(True)
    for v in values:
        slider.setValue(v)
    slider.setSliderDown(False)


def drop(window, path) -> None:
    """A real drag carrying a file URL: enter, then drop, delivered to the window as Qt delivers them."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(window.canvas.mapTo(window, window.canvas.rect().center()))
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()
