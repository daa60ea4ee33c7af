"""Growing a trained StyleGAN2 wider: the widened generator draws the narrow one's images, training can use its new
channels, and a fine-tuning run widens its base and (with ``d_warmup``) trains a fresh discriminator alone first."""

from __future__ import annotations

import json

import pytest
import torch

from bigart.errors import BigartError
from bigart.models import load_model
from bigart.training.checkpoint import load_checkpoint
from bigart.training.loop import train
from bigart.training.spec import TrainSpec
from bigart.training.widen import widen_stylegan2

WIDER = {4: 48, 8: 40, 16: 24}  # tiny_sg2's default is {4: 32, 8: 32, 16: 16}


@pytest.mark.parametrize("c_dim", [0, 3])
def test_a_widened_generator_draws_what_the_narrow_one_drew(tiny_sg2, c_dim):
    g = tiny_sg2("skip", c_dim=c_dim).eval()
    wide = widen_stylegan2(g, WIDER, seed=1).eval()
    assert wide.config.channels == WIDER and g.config.channels == {4: 32, 8: 32, 16: 16}
    assert wide.synthesis.b8.conv1.weight.shape == (40, 40, 3, 3) and wide.synthesis.b16.torgb.weight.shape[1] == 24
    torch.manual_seed(0)
    z = torch.randn(4, g.z_dim)
    c = torch.eye(3)[[0, 1, 2, 0]] if c_dim else None
    with torch.no_grad():
        narrow_img, wide_img = g(z, c, psi=0.7), wide(z, c, psi=0.7)
    assert narrow_img.abs().max() > 0.1  # a real image, not a blank both sides agree on
    assert (narrow_img - wide_img).abs().max() < 1e-5
    # the new channels are live features (fresh random weights), read by zero weights that training can move
    new_out = wide.synthesis.b8.conv1.weight[32:]
    assert new_out.abs().mean() > 0.5
    reads = wide.synthesis.b16.conv0.weight  # [24 out, 40 in]: the 16 old outputs read the 8 new inputs by zeros
    assert torch.count_nonzero(reads[:16, 32:]) == 0
    wide.requires_grad_(True)
    wide(z, c).square().mean().backward()
    assert reads.grad[:16, 32:].abs().max() > 0


def test_widening_refuses_to_narrow_or_to_miss_a_resolution(tiny_sg2):
    g = tiny_sg2("skip")
    with pytest.raises(BigartError, match=r"only be widened.*16 px: 16 -> 8"):
        widen_stylegan2(g, {4: 32, 8: 32, 16: 8})
    with pytest.raises(BigartError, match=r"exactly its resolutions \[4, 8, 16\]"):
        widen_stylegan2(g, {4: 32, 8: 32})
    with pytest.raises(BigartError, match="skip-architecture"):
        widen_stylegan2(tiny_sg2("resnet"), WIDER)


@pytest.fixture
def narrow_model(tmp_path, tiny_spec):
    """A tiny StyleGAN2 trained for 2 steps and exported as a bigart model file."""
    path = tmp_path / "narrow.safetensors"
    train(tiny_spec("stylegan2", tmp_path / "first", steps=2, export=str(path), license="CC0 test"))
    return path


def test_finetuning_widens_the_base_and_d_warmup_trains_the_discriminator_alone(tmp_path, tiny_spec, narrow_model):
    wider = {"4": 16, "8": 12, "16": 8}  # the tiny spec's base is {4: 8, 8: 8, 16: 8}
    run = tmp_path / "wide"
    spec = tiny_spec(
        "stylegan2",
        run,
        base=str(narrow_model),
        resolution=None,
        g_config={"channels": wider},
        d_config=None,
        d_warmup=3,
        steps=3,
        export=str(tmp_path / "wide.safetensors"),
    )
    train(spec)
    base, wide = load_model(narrow_model), load_model(tmp_path / "wide.safetensors")
    assert wide.config.channels == {4: 16, 8: 12, 16: 8}
    z = torch.randn(4, base.generator.z_dim)
    with torch.no_grad():  # three steps of discriminator only: the generator still draws the base's images
        assert (base.generator(z) - wide.generator(z)).abs().max() < 1e-5
    lines = [json.loads(line) for line in (run / "progress.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3]
    assert all("loss_D" in line and "loss_G" not in line for line in lines)
    state = load_checkpoint(run / "checkpoint.pt")
    assert json.loads(state["base"])["widened_to"] == {"4": 16, "8": 12, "16": 8}
    assert state["D"]["b4.conv.weight"].shape[0] == 16  # a fresh discriminator as wide as the new generator

    # resumed past the warm-up, the generator trains, new channels included
    train(TrainSpec.from_dict({**spec.to_dict(), "steps": 5, "resume": True}))
    state = load_checkpoint(run / "checkpoint.pt")
    lines = [json.loads(line) for line in (run / "progress.jsonl").read_text().splitlines()]
    assert "loss_G" in lines[-1]
    moved = state["G"]["synthesis.b8.conv1.weight"][:8, 8:]  # old outputs' reads of new inputs: zero at the start
    assert moved.abs().max() > 0


def test_a_base_fixes_everything_but_the_channels(tmp_path, tiny_spec, narrow_model):
    spec = tiny_spec("stylegan2", tmp_path / "run", base=str(narrow_model), resolution=None, g_config={"w_dim": 16})
    with pytest.raises(BigartError, match="may only widen its channels; w_dim come from the base"):
        train(spec)


def test_d_warmup_is_for_stylegan2(tmp_path, tiny_spec):
    with pytest.raises(BigartError, match=r"d_warmup .* StyleGAN2 only"):
        tiny_spec("biggan", tmp_path / "run", d_warmup=10)
    with pytest.raises(BigartError, match="d_warmup"):
        tiny_spec("stylegan2", tmp_path / "run", d_warmup=-1)
