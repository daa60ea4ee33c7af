"""CycleGAN generators in the junyanz layout: names, detection, published quirks, both directions."""

from __future__ import annotations

import pytest
import torch

from bigart.errors import ModelLoadError
from bigart.models import detect, load_model, save_model_file
from bigart.models.cyclegan import CycleGANConfig, CycleGANModel


def tiny(kind="resnet", seed=0, **kw) -> CycleGANModel:
    torch.manual_seed(seed)
    cfg = CycleGANConfig(kind=kind, ngf=4, **({"n_blocks": 2} if kind == "resnet" else {"num_downs": 5}) | kw)
    m = CycleGANModel(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if p.ndim == 1 and name.endswith("weight") else 0.0))
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand_like(b))
    return m.eval().requires_grad_(False)


def _bare(m: CycleGANModel, direction="AtoB"):
    return {k.split(".", 1)[1]: v for k, v in m.state_dict().items() if k.startswith(direction + ".")}


def test_resnet_9blocks_published_names():
    keys = set(_bare(tiny(n_blocks=9)))
    # stem conv, two downsamplings, blocks at model.10-18, two transposed convs, head at model.26 (junyanz layout)
    for k in [
        "model.1.weight",
        "model.1.bias",
        "model.4.weight",
        "model.7.weight",
        "model.10.conv_block.1.weight",
        "model.10.conv_block.5.weight",
        "model.18.conv_block.5.bias",
        "model.19.weight",
        "model.22.weight",
        "model.26.weight",
        "model.26.bias",
    ]:
        assert k in keys, k
    assert not any("running" in k for k in keys)  # InstanceNorm(affine=False) holds no state


def test_unet_256_published_names():
    keys = set(_bare(tiny("unet", num_downs=8, norm="batch")))
    for k in [
        "model.model.0.weight",
        "model.model.1.model.1.weight",
        "model.model.1.model.2.running_mean",
        "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight",
        "model.model.3.weight",
        "model.model.3.bias",
    ]:
        assert k in keys, k
    assert "model.model.0.bias" not in keys  # convs before batch norm have no bias


@pytest.mark.parametrize(
    "kw",
    [
        {"kind": "resnet", "n_blocks": 6},
        {"kind": "resnet", "n_blocks": 3, "norm": "batch", "use_dropout": True},
        {"kind": "resnet", "n_blocks": 3, "norm": "batch"},  # conv_block.6 is then batch norm, not a conv
        {"kind": "resnet", "n_blocks": 2, "input_nc": 1, "output_nc": 3, "directions": ["AtoB", "BtoA"]},
        {"kind": "unet", "num_downs": 7, "norm": "batch"},
        {"kind": "unet", "num_downs": 6, "norm": "instance", "output_nc": 1},
    ],
)
def test_detected_from_tensors(kw):
    m = tiny(**kw)
    family, cfg = detect(m.state_dict())
    expect = m.config
    if expect.kind == "unet":  # dropout sits after the parameters in a U-Net: invisible and harmless in eval
        cfg.use_dropout = expect.use_dropout
    assert family == "cyclegan" and cfg == expect


def test_bare_junyanz_file_and_old_instance_norm_keys(tmp_path):
    m = tiny(n_blocks=3)
    sd = _bare(m)
    # PyTorch 0.4-era files carry running stats for every InstanceNorm (junyanz #318, #461)
    for idx in ("2", "5", "8", "10.conv_block.2", "10.conv_block.6"):
        sd[f"model.{idx}.running_mean"] = torch.zeros(4)
        sd[f"model.{idx}.running_var"] = torch.ones(4)
        sd[f"model.{idx}.num_batches_tracked"] = torch.tensor(0)
    torch.save(sd, tmp_path / "latest_net_G.pth")
    loaded = load_model(tmp_path / "latest_net_G.pth")
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    assert torch.equal(loaded.generator(x), m(x))


def test_two_direction_folder_and_safetensors(tmp_path):
    m = tiny("unet", num_downs=5, norm="batch", directions=["AtoB", "BtoA"], input_nc=3, output_nc=1)
    torch.save(_bare(m, "AtoB"), tmp_path / "latest_net_G_A.pth")
    torch.save(_bare(m, "BtoA"), tmp_path / "latest_net_G_B.pth")
    torch.save(_bare(m, "AtoB"), tmp_path / "latest_net_D_A.pth")  # discriminators are ignored
    loaded = load_model(tmp_path)
    assert loaded.family == "cyclegan" and loaded.generator.directions == ["AtoB", "BtoA"]
    assert loaded.info()["directions"] == "AtoB, BtoA"
    a, b = torch.rand(2, 3, 32, 64) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
    assert torch.equal(loaded.generator(a, "AtoB"), m(a, "AtoB"))
    assert torch.equal(loaded.generator(b, "BtoA"), m(b, "BtoA"))
    st = tmp_path / "pair.safetensors"
    save_model_file(st, loaded.generator.state_dict(), loaded.header())
    again = load_model(st)
    assert torch.equal(again.generator(b, "BtoA"), m(b, "BtoA"))


def test_bad_shapes_and_directions(tmp_path):
    m = tiny()
    with pytest.raises(ValueError, match="not BtoA"):
        m(torch.zeros(1, 3, 8, 8), "BtoA")
    with pytest.raises(ValueError, match="multiples of 4"):
        m(torch.zeros(1, 3, 10, 8))
    sd = _bare(m)
    sd["model.4.weight"] = torch.zeros(8, 5, 3, 3)
    torch.save(sd, tmp_path / "bad_net_G.pth")
    with pytest.raises(ModelLoadError, match=r"bad_net_G\.pth.*model\.4\.weight"):
        load_model(tmp_path / "bad_net_G.pth")
