"""Dropping a PNG made by ``bigart render`` restores its state and picture; ``bigart gui --screenshot``."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bigart.cli import main
from tests.gui.conftest import TIMEOUT_MS, drop, expected_pixels, open_model, wait_rendered


def test_drop_a_rendered_png_restores_state_and_picture(qtbot, window, sg2_path, biggan_path, tmp_path):
    dirs = tmp_path / "dirs.npz"
    assert main(["directions", "--model", str(sg2_path), "--num", "3", "-q", "--out", str(dirs)]) == 0
    out = tmp_path / "out"
    args = ["render", "--model", str(sg2_path), "--seeds", "7", "--psi", "0.5", "--cutoff", "3"]
    args += ["--direction", f"{dirs}:1=2.5", "--mix", "4@coarse", "-q", "--out", str(out)]
    assert main(args) == 0
    png = out / "seed0007.png"
    open_model(qtbot, window, biggan_path)  # another model is open: the recipe's model is opened first
    drop(window, png)
    qtbot.waitUntil(lambda: window.model.family == "stylegan2" and window.session.state.seed == 7, timeout=TIMEOUT_MS)
    wait_rendered(qtbot, window)
    state = window.session.state
    assert (state.psi, state.cutoff, state.mix_seed) == (0.5, 3, 4)
    assert [s.value for s in state.directions] == [2.5]  # `bigart render` records no direction names
    assert [e.label for e in window.session.history] == ["open model", "restore recipe"]
    assert np.array_equal(window.canvas.image, np.asarray(Image.open(png)))
    sg = window.panels["stylegan"]
    assert sg.seed.value() == 7 and abs(sg.psi.value() - 0.5) < 1e-9 and sg.mix_on.isChecked()
    assert [sl.value() for sl in sg.directions.sliders] == [2.5]
    window.undo()  # the restore is one undo step
    wait_rendered(qtbot, window)
    assert window.session.state.seed == 0 and np.array_equal(window.canvas.image, expected_pixels(window))


def test_a_png_without_recipe_is_explained(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    plain = tmp_path / "plain.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    drop(window, plain)
    assert window.notifications.isVisible() and "no bigart recipe" in window.notifications.message.text()


def test_gui_screenshot_command(qtbot, sg2_path, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from bigart.gui.app import WINDOW_SIZE

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    shot = tmp_path / "shot.png"
    assert main(["gui", "--model", str(sg2_path), "--screenshot", str(shot)]) == 0
    with Image.open(shot) as img:
        assert img.size == WINDOW_SIZE
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 10  # a window with a picture on it, not a blank grab
    from bigart.gui.app import run

    assert run(["--model", str(tmp_path / "missing.pkl"), "--screenshot", str(tmp_path / "no.png")]) == 1
    assert not (tmp_path / "no.png").exists()
