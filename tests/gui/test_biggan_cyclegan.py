"""BigGAN class blends and CycleGAN translation of a dropped picture, in a real window."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from tests.gui.conftest import TIMEOUT_MS, click, drag, drop, expected_pixels, open_model, wait_rendered


def test_biggan_class_search_blend_and_truncation(qtbot, window, biggan_path):
    open_model(qtbot, window, biggan_path)
    bg = window.panels["biggan"]
    assert window.stack.currentWidget() is bg and window.model_panel.family.text() == "BigGAN-deep"
    assert window.session.state.class_weights == ((0, 1.0),)
    choices = bg.completer.model().stringList()
    assert len(choices) == 1000 and "golden retriever (207)" in choices
    bg.search.setText("golden retriever (207)")
    click(qtbot, window, bg.set_button)
    assert window.session.state.class_weights == ((207, 1.0),)
    bg.search.setText("tabby")  # a unique part of a name
    click(qtbot, window, bg.add_button)
    assert window.session.state.class_weights == ((207, 1.0), (281, 1.0))
    assert len(bg.weight_spins) == 2
    bg.weight_spins[0].setValue(0.7)
    bg.weight_spins[1].setValue(0.3)
    drag(bg.truncation, 0.8, 0.55)
    wait_rendered(qtbot, window)
    state = window.session.state
    assert state.class_weights == ((207, 0.7), (281, 0.3)) and state.psi == 0.55
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    bg.search.setText("tabby (281)")  # picked from the completer's list: shown at once
    bg.completer.activated.emit("tabby (281)")
    qtbot.waitUntil(lambda: window.session.state.class_weights == ((281, 1.0),), timeout=TIMEOUT_MS)
    window.undo()
    bg.search.setText("no such animal")
    bg.set_class()
    assert window.notifications.isVisible() and "no class named like" in window.notifications.message.text()
    assert window.session.state.class_weights == ((207, 0.7), (281, 0.3))


def test_engine_error_shows_a_notification_and_the_app_keeps_working(qtbot, window, biggan_path):
    open_model(qtbot, window, biggan_path)
    before = window.canvas.image.copy()
    window.session.set(class_weights=((5000, 1.0),))  # a class this model does not have: the engine refuses it
    qtbot.waitUntil(window.notifications.isVisible, timeout=TIMEOUT_MS)
    assert "out of range" in window.notifications.message.text()
    assert np.array_equal(window.canvas.image, before)
    qtbot.mouseClick(window.notifications.details_button, Qt.MouseButton.LeftButton)
    assert window.notifications._dialog.isVisible() and not window.notifications._dialog.isModal()
    assert "error:" in window.notifications._dialog.detailedText()
    window.notifications._dialog.close()
    window.session.set(class_weights=((3, 1.0),))
    wait_rendered(qtbot, window)
    assert not window.notifications.isVisible()  # a good render clears a render error
    assert np.array_equal(window.canvas.image, expected_pixels(window))


def test_a_broken_model_file_is_a_notification(qtbot, window, tmp_path, sg2_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint at all")
    drop(window, bad)
    qtbot.waitUntil(window.notifications.isVisible, timeout=TIMEOUT_MS)
    assert "broken.pt" in window.notifications.message.text() and window.model is None
    assert window.notifications.details
    open_model(qtbot, window, sg2_path)  # and the app goes on
    assert window.canvas.image is not None


def test_drop_a_photo_on_a_cyclegan_model(qtbot, window, cyclegan_path, tmp_path):
    open_model(qtbot, window, cyclegan_path, render=False)
    cyc = window.panels["cyclegan"]
    assert window.stack.currentWidget() is cyc and window.canvas.image is None
    photo = tmp_path / "photo.png"
    rgba = np.random.RandomState(0).randint(0, 256, (28, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(photo)
    drop(window, photo)
    wait_rendered(qtbot, window)
    state = window.session.state
    assert state.image_name == "photo.png" and state.image.shape == (28, 40, 4)
    assert window.canvas.image.shape == (28, 40, 4)  # alpha kept, shown over a checkerboard
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    assert np.array_equal(window.canvas.image[..., 3], rgba[..., 3])
    assert window.canvas.split_enabled and window.canvas._before is not None  # before | after
    cyc.split.setChecked(False)
    assert not window.canvas.split_enabled
    cyc.split.setChecked(True)
    cyc.direction.setCurrentIndex(cyc.direction.findData("BtoA"))
    cyc.tile.setValue(0)
    wait_rendered(qtbot, window)
    assert window.session.request().direction == "BtoA" and window.session.request().tile is None
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    out = tmp_path / "translated.png"
    assert window.save_image(out)
    from bigart.engine.recipe import read_recipe_data

    data = read_recipe_data(out)
    assert data["request"]["image"]["file"] == "photo.png" and data["request"]["direction"] == "BtoA"
    drop(window, out)  # its recipe names the picture open now: the state comes back
    assert not window.notifications.isVisible()
