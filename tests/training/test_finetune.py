"""Fine-tuning loaded generators: the discriminator from the base file when it holds one, frozen blocks, our own
checkpoints as a base; and the exported model file, which loads with ``load_model`` and renders what G_ema renders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bigart.errors import BigartError
from bigart.models import load_model, read_model_file
from bigart.models.cyclegan import CycleGANConfig, CycleGANModel
from bigart.training.checkpoint import load_checkpoint
from bigart.training.distributed import DistContext
from bigart.training.loop import TRAINERS, train
from bigart.training.networks import PatchDConfig, PatchDiscriminator, StyleGAN2DConfig, StyleGAN2Discriminator
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle


@pytest.fixture
def nvidia_base(tmp_path, tiny_sg2):
    """An NVIDIA-layout pickle with G_ema (16 px) and a residual D."""
    g = tiny_sg2("skip", res=16)
    torch.manual_seed(5)
    d = StyleGAN2Discriminator(StyleGAN2DConfig(img_resolution=16, channels={4: 8, 8: 8, 16: 8}, mapping_layers=2))
    for block in (d.b16, d.b8):  # NVIDIA's discriminator blocks hold a FIR filter of their own too
        block.register_buffer("resample_filter", block.conv1.resample_filter.clone())
    path = tmp_path / "base.pkl"
    write_nvidia_pickle(path, g, sg2_kwargs(g), extra={"D": d})
    return path, g, d


def test_finetune_an_nvidia_pickle_with_its_discriminator_and_frozen_blocks(tmp_path, tiny_spec, nvidia_base):
    path, g, d = nvidia_base
    spec = tiny_spec("stylegan2", tmp_path / "run", base=str(path), resolution=None, g_config=None, d_config=None)
    spec.freeze_d, spec.steps = 1, 2
    train(spec)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert '"discriminator": "from the base pickle"' in state["base"]
    base_d = d.state_dict()
    for k, v in state["D"].items():
        if k.startswith("b16."):  # the first block was frozen: exactly the pickle's weights
            assert torch.equal(v, base_d[k]), k
    assert not torch.equal(state["D"]["b8.conv0.weight"], base_d["b8.conv0.weight"])  # the rest trained
    assert not torch.equal(state["G"]["synthesis.b16.conv1.weight"], g.state_dict()["synthesis.b16.conv1.weight"])
    assert len(state["opt_D"]["state"]) == sum(1 for k in base_d if not k.startswith("b16.") and "filter" not in k)


def test_a_discriminator_of_another_layout_is_replaced_by_a_fresh_one(tmp_path, tiny_spec, tiny_sg2):
    g = tiny_sg2("skip", res=16)
    write_nvidia_pickle(tmp_path / "base.pkl", g, sg2_kwargs(g))  # the helper's stand-in D: one Linear layer
    spec = tiny_spec(
        "stylegan2", tmp_path / "run", base=str(tmp_path / "base.pkl"), resolution=None, steps=1, g_config=None
    )
    train(spec)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert "discriminator" not in state["base"] and "b16.conv0.weight" in state["D"]


def test_finetune_from_a_training_checkpoint_starts_where_it_ended(tmp_path, tiny_spec):
    train(tiny_spec("stylegan2", tmp_path / "first", steps=2))
    ckpt = tmp_path / "first" / "checkpoint.pt"
    train(tiny_spec("stylegan2", tmp_path / "second", steps=0, base=str(ckpt), resolution=None))
    a, b = load_checkpoint(ckpt), load_checkpoint(tmp_path / "second" / "checkpoint.pt")
    for net in ("G", "G_ema", "D"):
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net])
    assert b["step"] == 0 and '"step": 2' in b["base"]


def test_finetune_a_junyanz_cyclegan_folder_with_its_discriminators(tmp_path, tiny_spec):
    torch.manual_seed(0)
    g = CycleGANModel(CycleGANConfig(ngf=4, n_blocks=1, directions=["AtoB", "BtoA"]))
    d_a, d_b = PatchDiscriminator(PatchDConfig(ndf=4, n_layers=2)), PatchDiscriminator(PatchDConfig(ndf=4, n_layers=2))
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    torch.save(g.AtoB.state_dict(), folder / "latest_net_G_A.pth")
    torch.save(g.BtoA.state_dict(), folder / "latest_net_G_B.pth")
    torch.save(d_a.state_dict(), folder / "latest_net_D_A.pth")
    torch.save(d_b.state_dict(), folder / "latest_net_D_B.pth")
    train(tiny_spec("cyclegan", tmp_path / "run", steps=0, base=str(folder), g_config=None, d_config=None))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in state["G"].items())
    assert all(torch.equal(v, d_a.state_dict()[k.removeprefix("D_A.")]) for k, v in state["D"].items() if "D_A." in k)
    assert all(torch.equal(v, d_b.state_dict()[k.removeprefix("D_B.")]) for k, v in state["D"].items() if "D_B." in k)


def test_exported_stylegan2_renders_what_g_ema_renders(tmp_path, tiny_spec):
    out = tmp_path / "model.safetensors"
    result = train(tiny_spec("stylegan2", tmp_path / "run", steps=3, export=str(out), license="CC0 test"))
    assert result.export == out
    model = load_model(out)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert all(torch.equal(model.generator.state_dict()[k], v) for k, v in state["G_ema"].items())
    z = torch.randn(3, model.generator.z_dim)
    reference = type(model.generator)(model.config)
    reference.load_state_dict(state["G_ema"])
    assert torch.equal(model.generator(z), reference.eval()(z))
    _, header = read_model_file(out)
    card = header["card"]
    assert card["steps"] == 3 and card["images_seen"] == 12 and card["base_model"] is None
    assert card["data"]["folder"].endswith("plain") and card["data"]["images"] == 8
    assert header["license"] == "CC0 test" and card["license_note"] == "CC0 test"
    assert model.info()["provenance"]["source"] == "trained from scratch"
    hw = card["hardware"]  # what ran it, for the model card
    assert hw["device"] == "cpu" and hw["threads"] == 1 and hw["processes"] == 1 and hw["cpu"]
    assert hw["torch"] == torch.__version__


def test_exported_biggan_has_standing_statistics_and_renders_as_trained(tmp_path, tiny_spec):
    spec = tiny_spec("biggan", tmp_path / "run", steps=2)
    trainer = TRAINERS["biggan"](spec, DistContext())
    trainer.run(None)
    out = tmp_path / "biggan.safetensors"
    exported = trainer.export(out)
    model = load_model(out)
    assert model.meta["class_names"] == ["cats", "dogs"]
    z = torch.randn(2, model.generator.z_dim).clamp(-1, 1)
    onehot = torch.eye(2)
    for t in (0.5, 1.0):
        assert torch.equal(model.generator(z, onehot, t), exported(z, onehot, t))
    stats = model.generator.generator.layers[0].bn_0
    assert not torch.equal(stats.running_means[-1], torch.zeros_like(stats.running_means[-1]))
    assert not torch.equal(stats.running_vars[1], stats.running_vars[2])  # one row per truncation
    image = model.generator(z, onehot, 1.0)
    assert torch.isfinite(image).all() and image.abs().max() <= 1


def test_class_names_name_the_class_folders_in_the_exported_model(tmp_path, tiny_spec):
    out = tmp_path / "named.safetensors"
    train(tiny_spec("biggan", tmp_path / "run", steps=1, class_names=["Cat", "Dog"], export=str(out)))
    assert load_model(out).meta["class_names"] == ["Cat", "Dog"]  # in the folders' sorted order: cats, dogs
    # a resumed run may rename them (the names are metadata, not training state)
    train(tiny_spec("biggan", tmp_path / "run", steps=1, class_names=["Kitty", "Doggo"], export=str(out), resume=True))
    assert load_model(out).meta["class_names"] == ["Kitty", "Doggo"]
    with pytest.raises(BigartError, match="gives 3 names for the 2 class folders"):
        train(tiny_spec("biggan", tmp_path / "bad", steps=1, class_names=["a", "b", "c"]))


def test_exported_cyclegan_translates_as_trained(tmp_path, tiny_spec):
    out = tmp_path / "cyclegan.safetensors"
    train(tiny_spec("cyclegan", tmp_path / "run", steps=2, export=str(out)))
    model = load_model(out)
    assert model.family == "cyclegan" and model.config.directions == ["AtoB", "BtoA"]
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    reference = CycleGANModel(model.config)
    reference.load_state_dict(state["G_ema"])
    x = torch.from_numpy(np.random.RandomState(0).rand(1, 3, 16, 16).astype(np.float32) * 2 - 1)
    for direction in ("AtoB", "BtoA"):
        assert torch.equal(model.generator(x, direction), reference.eval()(x, direction))
