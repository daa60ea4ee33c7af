"""The emoji-category classifier learns the committed fixture, round-trips through its file, and gives features."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bigart.cli import main
from bigart.errors import BigartError
from bigart.training.classifier import (
    ClassifierConfig,
    EmojiClassifier,
    load_classifier,
    save_classifier,
    to_input,
    train_classifier,
)
from bigart.training.emoji import load_emoji
from tests.training.test_emoji import FIXTURE


@pytest.fixture(scope="module")
def trained():
    data = load_emoji(FIXTURE)
    held = data.held_out_mask
    return data, train_classifier(data.subset(~held), data.subset(held), resolution=32, epochs=20, batch_size=16)


def test_learns_the_fixture_above_chance(trained):
    data, clf = trained
    h = clf.header
    assert h["train_images"] == 36 and h["held_out_images"] == 18  # 9 held-out emoji in both styles
    assert h["chance"] == pytest.approx(1 / 9)
    assert h["train_accuracy"] >= 0.9
    assert h["held_out_accuracy"] > h["chance"]  # emoji it never saw, judged by category
    assert h["data"]["manifest_sha256"] == data.manifest_sha256
    assert h["classes"] == data.classes and h["class_names"][0] == "Smileys & Emotion"
    # the style head: Noto or Twemoji, told apart on emoji it never saw
    assert h["styles"] == ["noto", "twemoji"] and h["held_out_style_accuracy"] > 0.5
    truth = np.array([h["styles"].index(s) for s in data.styles])
    assert (clf.predict_style(data.images) == truth).mean() > 0.5


def test_file_round_trip_and_features(tmp_path, trained):
    data, clf = trained
    path = tmp_path / "clf.safetensors"
    save_classifier(path, clf)
    again = load_classifier(path)
    assert again.header == json.loads(json.dumps(clf.header))
    f1, f2 = clf.features(data.images), again.features(data.images)
    assert f1.shape == (54, 128) and f1.dtype == np.float64
    np.testing.assert_array_equal(f1, f2)
    assert (again.predict(data.images) == clf.predict(data.images)).all()
    # 64 px images are resized to the classifier's 32 px
    big = np.repeat(np.repeat(data.images[:4], 2, axis=1), 2, axis=2)
    assert clf.features(big).shape == (4, 128)


def test_bad_files(tmp_path):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, plain)
    with pytest.raises(BigartError, match="not a bigart classifier"):
        load_classifier(plain)
    with pytest.raises(BigartError, match="not a readable"):
        load_classifier(tmp_path / "missing.safetensors")


def test_architecture_shapes():
    net = EmojiClassifier(ClassifierConfig(9, resolution=16, width=8, feature_dim=12)).eval()
    x = to_input(np.zeros((3, 20, 20, 3), np.uint8), 16)
    assert x.shape == (3, 3, 16, 16) and float(x.min()) == -1.0
    assert net.features(x).shape == (3, 12) and net(x).shape == (3, 9)
    assert net.style_head is None and net.both(x)[1] is None
    two = EmojiClassifier(ClassifierConfig(9, resolution=16, num_styles=2, width=8, feature_dim=12)).eval()
    logits, styles = two.both(x)
    assert logits.shape == (3, 9) and styles.shape == (3, 2)
    with pytest.raises(ValueError, match="power of two"):
        ClassifierConfig(9, resolution=24)


def test_cli_trains_on_a_folder(tmp_path, capsys):
    out = tmp_path / "clf.safetensors"
    assert main(["data", "classifier", "--data", str(FIXTURE), "--out", str(out), "--epochs", "2", "-q"]) == 0
    assert load_classifier(out).header["held_out_images"] == 18
    assert main(["data", "classifier", "--data", str(tmp_path), "--out", str(out), "-q"]) == 1
    assert "no readable manifest.json" in capsys.readouterr().err
