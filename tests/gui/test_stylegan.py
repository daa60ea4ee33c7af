"""The StyleGAN panel in a real window: every control goes through the session, and the canvas ends on exactly the
pixels a fresh engine renders for the session's state."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from bigart.latent.mixing import preset_layers
from tests.gui.conftest import TIMEOUT_MS, click, drag, drop, expected_pixels, open_model, wait_rendered


def test_open_model_shows_its_info_and_first_picture(qtbot, window, sg2_path):
    open_model(qtbot, window, sg2_path)
    panel = window.model_panel
    assert panel.family.text() == "StyleGAN2" and panel.resolution.text().startswith("16 × 16 px")
    assert panel.license.text() == "not recorded in the file"
    assert window.stack.currentWidget() is window.panels["stylegan"]
    assert window.canvas.image.shape == (16, 16, 3)
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    assert "ms per frame" in window.timing_label.text() and "provider torch-cpu" in window.provider_label.text()
    assert window.recent_models() == [str(sg2_path.resolve())]  # QSettings
    assert window.model_panel.recent.itemData(1) == str(sg2_path.resolve())


def test_truncation_and_direction_drags_render_the_exact_state(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    sg = window.panels["stylegan"]
    sg.psi.setSliderDown(True)
    assert window.dragging
    for v in (0.5, 0.2, -0.4):
        sg.psi.setValue(v)
    if window.renderer.preview_engine is not None:  # bf16 previews while held (CPUs with bf16, or CUDA)
        qtbot.waitUntil(lambda: window.shown is not None and window.shown.preview, timeout=TIMEOUT_MS)
    sg.psi.setSliderDown(False)
    wait_rendered(qtbot, window)
    assert window.session.state.psi == -0.4
    assert [e.label for e in window.session.history] == ["open model", "psi"]  # one drag, one undo step
    assert window.shown.precision == "fp32"
    assert np.array_equal(window.canvas.image, expected_pixels(window))

    directions = sg.directions
    directions.k.setValue(4)
    click(qtbot, window, directions.compute)  # SeFa on a worker
    qtbot.waitUntil(lambda: len(directions.sliders) == 4, timeout=TIMEOUT_MS)
    assert [s.name for s in window.session.state.directions] == ["SeFa 0", "SeFa 1", "SeFa 2", "SeFa 3"]
    drag(directions.sliders[1], 1.0, 2.5, 4.0)
    wait_rendered(qtbot, window)
    assert window.session.state.directions[1].value == 4.0
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    saved = tmp_path / "sefa.npz"
    assert directions.save_file(saved)
    before = window.canvas.image.copy()
    click(qtbot, window, directions.reset)
    wait_rendered(qtbot, window)
    assert all(s.value == 0 for s in window.session.state.directions)
    assert not np.array_equal(window.canvas.image, before)
    while window.session.state.directions:
        window.undo()
    drop(window, saved)  # a directions file dropped on the window fills the sliders again
    assert [s.name for s in window.session.state.directions] == ["SeFa 0", "SeFa 1", "SeFa 2", "SeFa 3"]
    assert len(directions.sliders) == 4


def test_style_mixing_seed_box_and_cutoff(qtbot, window, sg2_path):
    open_model(qtbot, window, sg2_path)
    sg = window.panels["stylegan"]
    num_ws = window.model.generator.num_ws
    assert len(sg.layer_boxes) == num_ws
    assert not sg.mixing.isExpanded()  # an advanced tool: folded until asked for
    sg.mixing.expand(animate=False)
    qtbot.waitUntil(sg.preset_buttons["coarse"].isVisible)
    sg.mix_seed.setValue(9)
    click(qtbot, window, sg.preset_buttons["coarse"])
    state = window.session.state
    assert state.mix_seed == 9 and state.mix_layers == preset_layers("coarse", num_ws)
    assert [b.isChecked() for b in sg.layer_boxes] == [i in state.mix_layers for i in range(num_ws)]
    wait_rendered(qtbot, window)
    assert window.session.request().mix_seeds == (9,)
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    sg.layer_boxes[num_ws - 1].setChecked(True)  # one more layer by hand
    assert window.session.state.mix_layers == (*preset_layers("coarse", num_ws), num_ws - 1)
    click(qtbot, window, sg.seed.next)
    sg.cutoff.setValue(2)
    sg.noise.setCurrentIndex(sg.noise.findData("none"))
    wait_rendered(qtbot, window)
    state = window.session.state
    assert (state.seed, state.cutoff, state.noise_mode) == (1, 2, "none")
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    sg.mix_on.setChecked(False)
    assert window.session.request().mixing == ()


def test_seed_pad_drag_blends_neighbour_seeds(qtbot, window, sg2_path):
    open_model(qtbot, window, sg2_path)
    sg = window.panels["stylegan"]
    pad = sg.pad
    start = QPoint(pad.width() // 2, pad.height() // 2)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    assert window.dragging
    for dx in (6, 12, 18):
        qtbot.mouseMove(pad, start - QPoint(dx, 0))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=start - QPoint(18, 0))
    assert not window.dragging
    state = window.session.state
    assert state.latent is not None and state.latent_space == "w" and state.seed == 0
    assert [e.label for e in window.session.history] == ["open model", "seed pad"]
    wait_rendered(qtbot, window)
    assert np.array_equal(window.canvas.image, expected_pixels(window))
    assert "between seeds" in pad.caption
    click(qtbot, window, sg.seed.next)  # a seed again: the saved latent goes
    assert window.session.state.latent is None and window.session.state.seed == 1


def test_undo_redo_shortcuts_and_history_strip(qtbot, window, sg2_path):
    open_model(qtbot, window, sg2_path)
    sg = window.panels["stylegan"]
    first = window.canvas.image.copy()
    for _ in range(2):
        click(qtbot, window, sg.seed.next)
    wait_rendered(qtbot, window)
    assert window.session.state.seed == 2 and window.history.count() == 3
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT_MS)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.state.seed == 1 and sg.seed.value() == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.state.seed == 0 and not window.undo_action.isEnabled()
    wait_rendered(qtbot, window)
    assert np.array_equal(window.canvas.image, first)
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, mods)
    assert window.session.state.seed == 1 and window.history.currentRow() == 1
    window.history.setCurrentRow(2)  # a click on the strip
    assert window.session.state.seed == 2 and window.session.position == 2
    wait_rendered(qtbot, window)
    assert np.array_equal(window.canvas.image, expected_pixels(window))


def test_save_and_copy_the_picture_with_its_recipe(qtbot, window, sg2_path, tmp_path):
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    from bigart.engine.images import read_recipe
    from bigart.engine.recipe import load_recipe

    open_model(qtbot, window, sg2_path)
    window.panels["stylegan"].seed.spin.setValue(12)
    wait_rendered(qtbot, window)
    out = tmp_path / "out" / "seed12.png"
    out.parent.mkdir()
    assert window.save_image(out)
    assert np.array_equal(np.asarray(Image.open(out)), window.canvas.image)
    recipe = load_recipe(out)
    assert recipe.request == window.session.request() and recipe.provider == "torch-cpu"
    assert read_recipe(out)["state"]["seed"] == 12
    window.copy_image()
    assert QGuiApplication.clipboard().image().size().width() == 16


def test_canvas_zoom_pan_and_fit(qtbot, window, sg2_path):
    open_model(qtbot, window, sg2_path)
    canvas = window.canvas
    assert canvas.fitting and canvas.zoom > 1
    window.actual_action.trigger()
    assert not canvas.fitting and canvas.zoom == 1.0
    canvas.set_zoom(4.0)
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(20, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(20, 0))
    assert canvas._center.x() == 8 - 5  # 20 view pixels at zoom 4 = 5 image pixels
    window.fit_action.trigger()
    assert canvas.fitting
    fitted = canvas.zoom
    wheel = QWheelEvent(
        QPointF(centre),
        QPointF(canvas.mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, wheel)  # two notches in
    assert not canvas.fitting and abs(canvas.zoom - fitted * 1.25**2) < 1e-9


def test_backend_switch_to_onnx_reports_the_provider_in_use(qtbot, window, sg2_path):
    window.load_model(str(sg2_path))
    assert window.loading  # the file loads on a worker: the call returns at once
    qtbot.waitUntil(lambda: window.model is not None, timeout=TIMEOUT_MS)
    wait_rendered(qtbot, window)
    window.backend_box.setCurrentIndex(window.backend_box.findData("onnx"))
    assert window.session.state.backend == "onnx" and window.session.history[-1].label == "backend onnx"
    qtbot.waitUntil(lambda: window.shown.result.backend == "onnx", timeout=60_000)  # exported on the render thread
    wait_rendered(qtbot, window)
    assert "CPUExecutionProvider" in window.provider_label.text()
    assert np.array_equal(window.canvas.image, expected_pixels(window, "onnx"))
    window.undo()
    qtbot.waitUntil(lambda: window.shown.result.backend == "torch", timeout=TIMEOUT_MS)
    assert window.backend_box.currentData() == "torch"
