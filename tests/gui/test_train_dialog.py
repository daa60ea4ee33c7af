"""The Train dialog runs ``bigart finetune`` as a child process: curves, samples, stop, resume, the result opens."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bigart.training.checkpoint import load_checkpoint
from tests.gui.conftest import open_model

TRAIN_MS = 240_000  # a child process that imports torch, on a shared 2-vCPU machine


def _folder(tmp_path, n=8, size=16):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.RandomState(0)
    for i in range(n):
        Image.fromarray(rng.randint(0, 256, (size, size, 3), dtype=np.uint8)).save(data / f"{i}.png")
    return data


def _dialog(qtbot, window, tmp_path, steps):
    window.train_action.trigger()
    dialog = window.train
    qtbot.addWidget(dialog)
    dialog.data.setText(str(_folder(tmp_path)))
    dialog.out.setText(str(tmp_path / "run"))
    dialog.use_base.setChecked(True)
    dialog.steps.setValue(steps)
    dialog.batch.setValue(2)
    dialog.sample_every.setValue(1)
    return dialog


def test_fine_tune_the_open_model_then_it_opens(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, steps=3)
    assert dialog.family.currentText() == "stylegan2" and "--base" in dialog.arguments(False)
    with qtbot.waitSignal(dialog.trained, timeout=TRAIN_MS) as blocker:
        dialog.start_button.click()
    exported = tmp_path / "run" / "model.safetensors"
    assert blocker.args == [str(exported)] and exported.exists()
    assert dialog.plot.points >= 3 * 2 and {"G", "D"} <= set(dialog.plot.series)  # a point per step per loss
    assert dialog.sample.pixmap() is not None and not dialog.sample.pixmap().isNull()
    assert "step 3 of 3" in dialog.status.text() or "trained to step 3" in dialog.status.text()
    qtbot.waitUntil(lambda: window.model is not None and str(window.model.path) == str(exported), timeout=60_000)
    assert window.model.meta.get("card") or window.model.meta  # the card travels in the file's header


def test_stop_then_resume(qtbot, window, sg2_path, tmp_path):
    open_model(qtbot, window, sg2_path)
    dialog = _dialog(qtbot, window, tmp_path, steps=100_000)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.plot.points >= 2, timeout=TRAIN_MS)
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: dialog.exit_code is not None, timeout=120_000)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    step = int(load_checkpoint(checkpoint)["step"])
    assert step >= 1 and "Resume" in dialog.status.text()
    assert not (tmp_path / "run" / "model.safetensors").exists()  # stopped: nothing exported
    dialog.steps.setValue(step + 2)
    with qtbot.waitSignal(dialog.trained, timeout=TRAIN_MS):
        dialog.resume_button.click()
    assert int(load_checkpoint(checkpoint)["step"]) == step + 2
    assert dialog.exit_code == 0


def test_missing_folder_is_said_and_nothing_starts(qtbot, window, tmp_path):
    window.train_action.trigger()
    dialog = window.train
    qtbot.addWidget(dialog)
    dialog.start_button.click()
    assert "choose an image folder" in dialog.status.text() and not dialog.running
    dialog.out.setText(str(tmp_path / "nothing"))
    dialog.resume_button.click()
    assert "no checkpoint" in dialog.status.text() and not dialog.running
