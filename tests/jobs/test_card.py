"""``bigart evaluate --card``: a model trained by bigart gets its metrics in its own header, a card ``MODEL.md`` with
each number next to its reference (an early checkpoint, the floor, chance, the identity baseline) and a sample grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from bigart.cli import main
from bigart.engine.engine import Engine
from bigart.engine.request import RenderRequest
from bigart.models import load_model, read_model_file
from bigart.training.loop import train
from bigart.training.spec import TrainSpec
from tests.jobs.test_evaluate import _save, classifier_file, data, identity_cyclegan  # noqa: F401 (fixtures)
from tests.training.test_emoji import FIXTURE

CHANNELS = {"4": 8, "8": 8, "16": 8, "32": 8}


def _spec(out, steps, export, **kw) -> TrainSpec:
    return TrainSpec.from_dict(
        {
            "family": "stylegan2",
            "data": str(FIXTURE / "noto"),
            "out": str(out),
            "resolution": 32,
            "steps": steps,
            "batch": 4,
            "g_config": {"z_dim": 8, "w_dim": 8, "c_dim": 0, "channels": CHANNELS},
            "d_config": {"channels": CHANNELS},
            "export": str(export),
            "license": "CC-BY-4.0 test",
            **kw,
        }
    )


def test_stylegan2_card_from_a_real_run(tmp_path, classifier_file):  # noqa: F811
    early, final = tmp_path / "early.safetensors", tmp_path / "models" / "emoji.safetensors"
    train(_spec(tmp_path / "run", 1, early))
    train(_spec(tmp_path / "run", 3, final, resume=True))
    before = Engine(load_model(final), "torch").render(RenderRequest(seeds=(0, 1), psi=0.7)).images
    report_file = tmp_path / "report.json"
    args = ["evaluate", "--model", str(final), "--data", str(FIXTURE), "--classifier", str(classifier_file)]
    args += ["--samples", "16", "--early", str(early), "--recipe", "models/recipes/emoji.json", "--card", "-q"]
    assert main([*args, "--json", str(report_file)]) == 0
    report = json.loads(report_file.read_text())

    _, header = read_model_file(final)
    card = header["card"]
    assert card["steps"] == 3 and card["hardware"]["device"] == "cpu"  # the trainer's card is kept
    m = card["metrics"]
    assert m["frechet"]["generated_vs_real_half"] == report["frechet"]["generated_vs_real_half"]
    assert m["frechet"]["real_vs_real_floor"] == report["frechet"]["real_vs_real_floor"]
    assert m["memorisation"]["ratio_of_medians"] == report["memorisation"]["ratio_of_medians"]
    assert card["early_checkpoint"]["steps"] == 1
    early_fd = card["early_checkpoint"]["metrics"]["frechet"]["generated_vs_real_half"]
    assert early_fd > 0 and early_fd != m["frechet"]["generated_vs_real_half"]
    assert card["evaluation"]["samples"] == 16 and card["evaluation"]["classifier_held_out_accuracy"] is not None
    assert header["license"] == "CC-BY-4.0 test"

    # the weights are untouched: the same pixels as before the header was rewritten
    after = Engine(load_model(final), "torch").render(RenderRequest(seeds=(0, 1), psi=0.7)).images
    assert np.array_equal(before, after)

    md = final.with_suffix(".md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| Fréchet distance"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == f"{m['frechet']['generated_vs_real_half']:.3f}" and cells[2] == f"{early_fd:.3f}"
    assert cells[3] == f"real-vs-real floor {m['frechet']['real_vs_real_floor']:.3f}"
    assert "early checkpoint (step 1)" in md and "in 9 classes" not in md and "models/recipes/emoji.json" in md
    assert "Twemoji graphics" in md and "CC BY 4.0" in md and "Apache License 2.0" in md
    assert "- Losses: logistic, lazy R1 (default gamma), path length (weight 2.0); augmentation ada" in md
    assert f"sha256 `{load_model(final).sha256}`" in md  # the file as it is now, header included
    with Image.open(final.with_suffix(".png")) as grid:
        assert grid.size == (8 * 32, 2 * 32)
        first = np.asarray(grid.convert("RGB"))[:32, :32]
    seed0 = Engine(load_model(final), "torch").render(RenderRequest(seeds=(0,), psi=0.7)).images[0]
    assert np.array_equal(first, seed0)

    # with --repeats the card gives each Fréchet distance as mean ± sd, and the command that measured it
    assert main([*args, "--repeats", "2", "--json", str(report_file)]) == 0
    f = json.loads(report_file.read_text())["frechet"]
    md = final.with_suffix(".md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| Fréchet distance"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "Fréchet distance (16 vs 27 images; mean ± sd of 2 sample sets)"
    assert cells[1] == f"{f['generated_vs_real_half']:.3f} ± {f['generated_vs_real_half_sd']:.3f}"
    assert cells[2].count(" ± ") == 1 and cells[3].startswith(f"real-vs-real floor {f['real_vs_real_floor']:.3f} ± ")
    assert "--samples 16 --repeats 2 --early" in md
    assert read_model_file(final)[1]["card"]["metrics"]["frechet"]["repeats"] == 2


def test_cyclegan_card_shows_the_baseline(tmp_path, data, classifier_file):  # noqa: F811
    domains = {"A": {"folder": "x/noto", "images": 3}, "B": {"folder": "x/twemoji", "images": 4}, "paired": True}
    recipe = {"paired": True, "lambda_cycle": 10.0, "lambda_identity": 0.5, "lambda_paired": 10.0}
    card = {"steps": 7, "data": {"folder": "x/noto", **domains}, "recipe": {**recipe, "lr_decay_steps": 4000}}
    model = _save(tmp_path, identity_cyclegan(), "cyclegan", card=card)
    assert main(["evaluate", "--model", str(model), "--data", str(FIXTURE), "--card", "-q"]) == 0
    _, header = read_model_file(model)
    d = header["card"]["metrics"]["directions"]
    assert set(d) == {"AtoB", "BtoA"}
    for block in d.values():  # an identity translation scores exactly its baseline
        assert block["translated"] == pytest.approx(block["identity_baseline"])
    md = model.with_suffix(".md").read_text()
    assert "| AtoB PSNR dB" in md and "identity baseline" in md and "paired L1 term (λ 10.0)" in md
    assert "domain A `x/noto` (3 images) and domain B `x/twemoji` (4 images), paired by file name" in md
    assert "? images" not in md
    assert "- Learning rates constant, then falling linearly to zero over the last 4,000 steps." in md
    held = int(data.held_out_mask.sum() // 2)
    with Image.open(model.with_suffix(".png")) as grid:
        cols = min(8, held)
        assert grid.size == (cols * 32, 6 * 32)
        rows = np.asarray(grid.convert("RGB")).reshape(6, 32, cols, 32, 3)
    assert np.array_equal(rows[0], rows[5]) and np.array_equal(rows[2], rows[3])  # A ... true A; true B, B
    assert np.abs(rows[1].astype(int) - rows[0]).max() <= 1  # identity: A -> B is A


def test_card_needs_a_bigart_file(tmp_path, tiny_sg2, classifier_file):  # noqa: F811
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(1)}, str(plain))
    from bigart.errors import BigartError
    from bigart.jobs.card import write_card

    with pytest.raises(BigartError, match="not a bigart model file"):
        write_card(plain, {"spec": {"samples": 1, "psi": 1.0}})


def test_a_schedule_with_a_restart_is_written_out():
    from bigart.jobs.card import _schedule_line

    line = _schedule_line({"lr_schedule": [[0, 1], [10899, 1], [13900, 0], [13900, 1], [22000, 0]]})
    assert line == (
        "- Learning-rate multiplier, linear between the points (the recipe's `lr_schedule`): 1 at step 0 → "
        "1 at step 10,899 → 0 at step 13,900 → jump to 1 at step 13,900 → 0 at step 22,000."
    )
    assert _schedule_line({"lr_decay_steps": 0}) is None


def test_a_card_tells_the_chain_of_runs_of_a_widened_model(tmp_path, classifier_file):  # noqa: F811
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    narrow, wide = tmp_path / "narrow.safetensors", tmp_path / "models" / "wide.safetensors"
    first = _spec(tmp_path / "first", 2, narrow)
    (recipes / "emoji-narrow.json").write_text(json.dumps({**first.to_dict(), "export": str(narrow)}))
    train(first)
    wider = {"4": 16, "8": 16, "16": 8, "32": 8}
    second = _spec(tmp_path / "second", 3, wide, base=str(narrow), g_config={"channels": wider}, d_warmup=1)
    (recipes / "emoji.json").write_text(json.dumps(second.to_dict()))
    train(second)
    args = ["evaluate", "--model", str(wide), "--data", str(FIXTURE), "--classifier", str(classifier_file)]
    early = tmp_path / "early.safetensors"
    train(_spec(tmp_path / "early", 1, early))
    args += ["--early", str(early)]
    assert main([*args, "--samples", "8", "--recipe", str(recipes / "emoji.json"), "--card", "-q"]) == 0

    base = read_model_file(wide)[1]["card"]["base_model"]
    assert base["file"] == "narrow.safetensors" and base["training"]["steps"] == 2
    assert base["channels"] == CHANNELS and base["file_sha256"] == load_model(narrow).sha256
    md = wide.with_suffix(".md").read_text()
    assert f"- Fine-tuned from `narrow.safetensors` (sha256 `{base['file_sha256'][:16]}…`, trained by " in md
    assert "grown wider: channels at 4/8/16/32 px 8/8/8/8 → 16/16/8/8 (old channels kept" in md
    assert "- In all, from scratch: 5 steps, 20 images" in md
    assert "; a fresh discriminator trained alone for the first 1 steps;" in md
    assert f"| metric | this model | early checkpoint (step 1 of `{recipes / 'emoji-narrow.json'}`) |" in md
    commands = [line for line in md.splitlines() if line.startswith("bigart finetune")]
    assert commands == [f"bigart finetune {recipes / 'emoji-narrow.json'}", f"bigart finetune {recipes / 'emoji.json'}"]
