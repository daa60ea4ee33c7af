"""The shipped emoji models: one click away in the model panel, opened by ``bigart gui`` and ``bigart render`` when
no model is named. Here over tiny stand-ins in a folder named by ``BIGART_MODELS`` (tests/models/test_shipped_files.py
checks the real files in models/)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from bigart.cli import main
from bigart.models import load_model, save_model_file
from bigart.models.shipped import SHIPPED, default_model, shipped_models
from tests.gui.conftest import TIMEOUT_MS, click, wait_rendered


@pytest.fixture
def shipped(tmp_path, monkeypatch, tiny_sg2):
    from tests.models.test_biggan import randomized, tiny_config
    from tests.models.test_cyclegan import tiny

    root = tmp_path / "shipped"
    root.mkdir()
    nets = {
        "stylegan2": tiny_sg2("skip", res=16),
        "biggan": randomized(tiny_config(num_classes=9)),
        "cyclegan": tiny(n_blocks=1, directions=["AtoB", "BtoA"]),
    }
    for family, net in nets.items():
        path = root / SHIPPED[family][0]
        save_model_file(path, net.state_dict(), {"family": family, "config": net.config.to_dict()})
    monkeypatch.setenv("BIGART_MODELS", str(root))
    return root


def test_the_model_panel_opens_each_shipped_model_in_one_click(qtbot, shipped, tmp_path):
    from bigart.gui.window import MainWindow

    assert [m.family for m in shipped_models()] == ["stylegan2", "biggan", "cyclegan"]
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    buttons = w.model_panel.shipped_buttons
    assert list(buttons) == ["stylegan2", "biggan", "cyclegan"] and all(b.isVisible() for b in buttons.values())
    for family in ("biggan", "stylegan2"):
        click(qtbot, w, buttons[family])
        qtbot.waitUntil(lambda f=family: w.model is not None and w.model.family == f, timeout=TIMEOUT_MS)
        assert w.model.path == shipped / SHIPPED[family][0]
        wait_rendered(qtbot, w)
    w.close()


def test_no_shipped_models_no_buttons(qtbot, tmp_path, monkeypatch):
    from bigart.gui.window import MainWindow

    monkeypatch.setenv("BIGART_MODELS", str(tmp_path / "none"))
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    assert w.model_panel.shipped_buttons == {}


def test_gui_and_render_default_to_the_shipped_stylegan(qtbot, shipped, tmp_path):
    from bigart.gui.app import first_start_model

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    assert first_start_model() == str(shipped / "stylegan2-emoji.safetensors")
    assert first_start_model(image="photo.png") == str(shipped / "cyclegan-emoji.safetensors")
    shot = tmp_path / "shot.png"
    assert main(["gui", "--screenshot", str(shot)]) == 0  # no --model: the shipped StyleGAN2, rendered
    with Image.open(shot) as img:
        assert np.asarray(img.convert("RGB")).std() > 10

    out = tmp_path / "out"
    assert main(["render", "--seeds", "0-1", "-q", "--out", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["seed0000.png", "seed0001.png"]
    with Image.open(pngs[0]) as img:
        recipe = json.loads(img.text["bigart"])
    assert recipe["model"]["sha256"] == load_model(default_model()).sha256


def test_render_without_a_model_or_shipped_one_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BIGART_MODELS", str(tmp_path / "empty"))
    assert main(["render", "--seeds", "0", "-q", "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert "give --model FILE" in err and "BIGART_MODELS" in err and "stylegan2-emoji.safetensors" in err
    assert not (tmp_path / "out").exists()
