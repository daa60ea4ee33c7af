"""The discriminators: shapes, conditioning, freezing, and reading the published state-dict layouts."""

from __future__ import annotations

import pytest
import torch

from bigart.training.networks import (
    BigGANDConfig,
    BigGANDiscriminator,
    CycleDiscriminators,
    PatchDConfig,
    PatchDiscriminator,
    StyleGAN2DConfig,
    StyleGAN2Discriminator,
    biggan_d_channels,
    freeze_blocks,
    stylegan2_d_config_from_tensors,
)


def sg2_d(c_dim: int = 0, res: int = 16) -> StyleGAN2Discriminator:
    torch.manual_seed(0)
    chans = {r: 8 for r in (4, 8, 16, 32) if r <= res}
    return StyleGAN2Discriminator(StyleGAN2DConfig(img_resolution=res, channels=chans, c_dim=c_dim, mapping_layers=2))


def test_stylegan2_discriminator_layout_and_output():
    d = sg2_d()
    names = set(d.state_dict())
    assert {"b16.fromrgb.weight", "b16.conv0.weight", "b16.conv1.weight", "b16.skip.weight", "b8.conv0.weight"} <= names
    assert {"b4.conv.weight", "b4.fc.weight", "b4.out.weight"} <= names and "b8.fromrgb.weight" not in names
    assert d.b4.conv.weight.shape == (8, 9, 3, 3)  # + 1 minibatch-stddev channel
    x = torch.randn(4, 3, 16, 16)
    out = d(x)
    assert out.shape == (4, 1) and torch.isfinite(out).all()
    # the minibatch statistics make each logit depend on the other images of its group
    y = x.clone()
    y[2] = torch.randn(3, 16, 16)
    assert not torch.equal(d(y)[0], out[0])


def test_projection_conditioning():
    d = sg2_d(c_dim=3)
    assert d.mapping.embed.weight.shape == (8, 3) and d.b4.out.weight.shape == (8, 8)
    x = torch.randn(4, 3, 16, 16)
    c0 = torch.eye(3)[[0, 0, 0, 0]]
    c1 = torch.eye(3)[[1, 1, 1, 1]]
    assert not torch.allclose(d(x, c0), d(x, c1))
    with pytest.raises(ValueError, match="conditional"):
        d(x)


def test_stylegan2_config_is_read_back_from_tensors():
    d = sg2_d(c_dim=3, res=32)
    cfg = stylegan2_d_config_from_tensors(d.state_dict(), {"epilogue_kwargs": {"mbstd_group_size": 2}})
    assert cfg.img_resolution == 32 and cfg.channels == {4: 8, 8: 8, 16: 8, 32: 8}
    assert (cfg.c_dim, cfg.cmap_dim, cfg.mapping_layers) == (3, 8, 2)
    assert (cfg.mbstd_num_channels, cfg.mbstd_group_size) == (1, 2)
    again = StyleGAN2Discriminator(cfg)
    again.load_state_dict(d.state_dict())
    with pytest.raises(ValueError, match="residual"):
        stylegan2_d_config_from_tensors({"b4.fc.weight": torch.zeros(1)})


def test_biggan_projection_discriminator():
    assert biggan_d_channels(32, 4) == [4, 8, 16, 16]
    torch.manual_seed(0)
    d = BigGANDiscriminator(BigGANDConfig(img_resolution=16, num_classes=5, channels=[4, 8, 8]))
    x = torch.randn(2, 3, 16, 16)
    onehot = torch.eye(5)[[1, 3]]
    out = d(x, onehot)
    assert out.shape == (2, 1)
    d.eval()  # no power iteration between the calls below, so they see the same weights
    eye = torch.eye(5)
    none, one, three = d(x, torch.zeros(2, 5)), d(x, eye[[1, 1]]), d(x, eye[[3, 3]])
    half = d(x, 0.5 * eye[[1, 1]] + 0.5 * eye[[3, 3]])
    assert not torch.allclose(one, none)
    assert torch.allclose(half - none, 0.5 * (one - none) + 0.5 * (three - none), atol=1e-5)  # linear in the class
    with pytest.raises(ValueError, match="block widths"):
        BigGANDConfig(img_resolution=16, num_classes=5, channels=[4, 8])


def test_patchgan_layout_and_patches():
    cfg = PatchDConfig(ndf=4, n_layers=3)
    d = PatchDiscriminator(cfg)
    assert [k for k in d.state_dict() if k.endswith("weight")] == [
        "model.0.weight",
        "model.2.weight",
        "model.5.weight",
        "model.8.weight",
        "model.11.weight",
    ]
    assert cfg.min_size() == 24
    assert d(torch.randn(1, 3, 32, 32)).shape == (1, 1, 2, 2)
    assert d(torch.randn(1, 3, 70, 70)).shape == (1, 1, 6, 6)
    pair = CycleDiscriminators(PatchDConfig(ndf=4, n_layers=1), PatchDConfig(input_nc=1, ndf=4, n_layers=1))
    assert pair(torch.randn(1, 3, 16, 16), "A").shape == pair(torch.randn(1, 1, 16, 16), "B").shape


@pytest.mark.parametrize("kind", ["stylegan2", "biggan", "patch"])
def test_freeze_the_first_blocks(kind):
    if kind == "stylegan2":
        d, first = sg2_d(), "b16."
    elif kind == "biggan":
        d, first = BigGANDiscriminator(BigGANDConfig(img_resolution=16, num_classes=2, channels=[4, 8, 8])), "layers.0."
    else:
        d, first = PatchDiscriminator(PatchDConfig(ndf=4, n_layers=2)), "model.0."
    frozen = freeze_blocks(d, 1)
    assert frozen and all(name.startswith(first) for name in frozen)
    assert all(not p.requires_grad for n, p in d.named_parameters() if n in frozen)
    assert any(p.requires_grad for n, p in d.named_parameters() if n not in frozen)
    with pytest.raises(ValueError, match="cannot freeze"):
        freeze_blocks(d, 99)
