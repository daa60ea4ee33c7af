"""The Export dialog drives the real export job: files, progress, the latest frame, Cancel and resume."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from bigart.engine.recipe import load_recipe
from tests.gui.conftest import TIMEOUT_MS, open_model


def _dialog(qtbot, window, tmp_path, kind="seeds", seeds="0-3"):
    window.export_action.trigger()
    dialog = window.export
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
    dialog.seeds.setText(seeds)
    dialog.out.setText(str(tmp_path / "out"))
    return dialog


def test_seed_range_from_the_session(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    window.session.set(psi=0.55, noise_mode="none")
    dialog = _dialog(qtbot, window, tmp_path)
    spec = dialog.spec_dict()
    assert spec["psi"] == 0.55 and spec["noise_mode"] == "none" and spec["seeds"] == "0-3"
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None, dialog.error
    pngs = sorted((tmp_path / "out").glob("seed*.png"))
    assert [p.name for p in pngs] == [f"seed{i:04d}.png" for i in range(4)]
    assert dialog.bar.value() == dialog.bar.maximum() == 4 and "wrote 4 images" in dialog.status.text()
    assert dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull()
    recipe = load_recipe(pngs[2])
    assert recipe.request.seeds == (2,) and recipe.request.psi == 0.55 and recipe.request.noise_mode == "none"
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())
    # the same dialog again: everything is there already
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.result is not None, timeout=TIMEOUT_MS)
    assert dialog.result.skipped == 4 and not dialog.result.written


def test_contact_sheet(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, "grid", "0-5")
    dialog.grid.setText("2x3")  # rows x columns
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None, dialog.error
    (sheet,) = dialog.result.products
    w, h = Image.open(sheet).size
    assert w > h and w >= 3 * 16 and h >= 2 * 16


def test_cancel_stops_within_a_batch_and_a_rerun_finishes(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, seeds="0-399")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.bar.value() >= 8, timeout=TIMEOUT_MS)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert dialog.error is not None and "cancelled" in dialog.error
    made = len(list((tmp_path / "out").glob("seed*.png")))
    assert 8 <= made < 400
    dialog.seeds.setText(f"0-{made + 3}")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.result is not None, timeout=TIMEOUT_MS)
    assert dialog.result.skipped >= made - 8 and len(list((tmp_path / "out").glob("seed*.png"))) == made + 4


def test_a_bad_field_is_named_and_nothing_runs(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, seeds="seven")
    dialog.start_button.click()
    assert dialog.error is not None and "seeds" in dialog.error and not dialog.running
    assert not (tmp_path / "out").exists()


def test_walk_video(qtbot, window, sg2_path, tmp_path):
    import imageio_ffmpeg

    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, "walk", "1,2,3")
    dialog.frames.setValue(12)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=TIMEOUT_MS)
    assert dialog.error is None, dialog.error
    (video,) = [p for p in dialog.result.products if p.suffix == ".mp4"]
    frames = list(imageio_ffmpeg.read_frames(str(video)))
    meta, pixels = frames[0], frames[1:]
    assert len(pixels) == 12 and meta["size"][0] >= 16
    assert np.frombuffer(pixels[0], np.uint8).size > 0
