"""``bigart finetune``: a spec file with flags over it, resuming from the run folder alone, errors as one line."""

from __future__ import annotations

import json

import pytest

from bigart.cli import main
from bigart.engine.images import read_recipe
from bigart.models import load_model
from bigart.training.checkpoint import load_checkpoint


def test_finetune_spec_flags_resume_and_export(tmp_path, tiny_spec, capsys):
    spec = tiny_spec("cyclegan", tmp_path / "ignored", lr_decay_steps=1)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    out = tmp_path / "run"
    assert main(["finetune", str(spec_file), "--out", str(out), "--steps", "2", "--sample-every", "1", "-q"]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 2
    recipe = read_recipe(out / "samples" / "step-000001.png")
    assert recipe["kind"] == "training-sample" and recipe["step"] == 1 and recipe["family"] == "cyclegan"
    model = tmp_path / "m.safetensors"
    # the run folder's spec.json has lr_decay_steps; --lr-schedule replaces it instead of clashing with it
    resume = ["finetune", "--out", str(out), "--resume", "--steps", "3", "--lr-schedule", "0:1,2:1,3:0"]
    assert main([*resume, "--export", str(model)]) == 0
    printed = capsys.readouterr().out
    assert "trained to step 3 (12 images)" in printed and str(model) in printed
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3
    assert load_model(model).family == "cyclegan"
    saved = json.loads((out / "spec.json").read_text())
    assert saved["steps"] == 3 and saved["lr_schedule"] == [[0, 1.0], [2, 1.0], [3, 0.0]]
    assert saved["lr_decay_steps"] is None


def test_finetune_errors_are_one_line(tmp_path, capsys):
    assert main(["finetune", "--family", "stylegan2", "--out", str(tmp_path)]) == 1
    assert "--data" in capsys.readouterr().err
    assert main(["finetune", "--family", "stylegan2", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert "resolution" in capsys.readouterr().err
    args = ["finetune", "--family", "stylegan2", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*args, "--resolution", "16"]) == 1
    assert "no images found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--lr-schedule", "100"])
    assert "STEP:FACTOR" in capsys.readouterr().err
    cyclegan = ["finetune", "--family", "cyclegan", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*cyclegan, "--d-warmup", "5"]) == 1  # the flag reaches the spec, which names what it is for
    assert "d_warmup is a number of steps >= 0, offered for StyleGAN2 only (got 5)" in capsys.readouterr().err
