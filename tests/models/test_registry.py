"""Round trips through every published layout: each file loads to the same network and the same pixels."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest
import torch

from bigart.errors import ModelLoadError
from bigart.models import detect, load_model, read_model_file, save_model_file
from bigart.models.registry import LoadedModel
from bigart.models.stylegan3 import synthesis_geometry
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle
from tests.models.rosinality_layout import to_rosinality


def _z(n, dim, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).randn(n, dim).astype(np.float32))


def _render(g, z, c=None, psi=0.7):
    with torch.no_grad():
        return g(z, c, psi=psi, noise_mode="const")


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
@pytest.mark.parametrize("c_dim", [0, 3])
def test_stylegan2_detected_from_tensors(tiny_sg2, arch, c_dim):
    g = tiny_sg2(arch, c_dim=c_dim)
    family, cfg = detect(g.state_dict())
    assert family == "stylegan2"
    for field in ("z_dim", "c_dim", "w_dim", "img_resolution", "channels", "architecture", "mapping_layers"):
        assert getattr(cfg, field) == getattr(g.config, field), field


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_nvidia_pickle_round_trip(tmp_path, tiny_sg2, arch):
    g = tiny_sg2(arch, c_dim=3)
    path = tmp_path / "network-snapshot-000000.pkl"
    write_nvidia_pickle(path, g, sg2_kwargs(g, num_fp16_res=4, conv_clamp=256))
    m = load_model(path)
    assert isinstance(m, LoadedModel)
    assert (m.family, m.source_format) == ("stylegan2", "nvidia-pickle")
    assert m.config.conv_clamp == 256  # from the constructor arguments, not guessable from tensors
    z, c = _z(2, 32), torch.eye(3)[[0, 2]]
    torch.testing.assert_close(_render(m.generator, z, c), _render(g, z, c), rtol=0, atol=1e-6)


def test_rosinality_files_round_trip(tmp_path, tiny_sg2):
    g = tiny_sg2("skip", z_dim=24, w_dim=24, channels={4: 32, 8: 32, 16: 16})
    ros, latent_avg = to_rosinality(g.state_dict(), 16)
    # convert_weight.py style: g_ema plus latent_avg
    p1 = tmp_path / "stylegan2-test-config-f.pt"
    torch.save({"g_ema": ros, "latent_avg": latent_avg}, p1)
    m = load_model(p1)
    assert (m.family, m.source_format) == ("stylegan2", "rosinality")
    z = _z(3, 24)
    torch.testing.assert_close(_render(m.generator, z), _render(g, z), rtol=0, atol=1e-6)
    # train.py style: g, d, g_ema, optimisers and an argparse.Namespace; no latent_avg
    p2 = tmp_path / "000000.pt"
    torch.save(
        {
            "g": ros,
            "d": {},
            "g_ema": ros,
            "g_optim": {},
            "d_optim": {},
            "args": argparse.Namespace(size=16),
            "ada_aug_p": 0.0,
        },
        p2,
    )
    m2 = load_model(p2)
    torch.testing.assert_close(_render(m2.generator, z, psi=1.0), _render(g, z, psi=1.0), rtol=0, atol=1e-6)
    assert any("w_avg estimated" in n for n in m2.meta["notes"])
    # the estimate is the mean w over many samples: close to the mapping's true mean
    assert (m2.generator.mapping.w_avg - m.generator.mapping.w_avg).abs().max() > 0  # not the file's value


def test_safetensors_model_file_round_trip(tmp_path, tiny_sg2):
    g = tiny_sg2("resnet", c_dim=3)
    src = tmp_path / "g.pkl"
    write_nvidia_pickle(src, g, sg2_kwargs(g, num_fp16_res=4, conv_clamp=256))
    m = load_model(src)
    out = tmp_path / "g.safetensors"
    save_model_file(out, m.generator.state_dict(), m.header())
    tensors, header = read_model_file(out)
    assert header["family"] == "stylegan2"
    assert header["provenance"]["source"] == "g.pkl"
    assert header["provenance"]["sha256"] == m.sha256
    assert "license" in header and "default_psi" in header
    json.dumps(header)
    m2 = load_model(out)
    assert m2.source_format == "bigart" and m2.config == m.config
    z, c = _z(2, 32), torch.eye(3)[[1, 1]]
    assert torch.equal(_render(m2.generator, z, c), _render(m.generator, z, c))
    # the same file's tensors without the header: detected from names and shapes alone
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, plain)
    m3 = load_model(plain)
    assert m3.family == "stylegan2" and m3.config.architecture == "resnet"


def test_plain_state_dict_pt(tmp_path, tiny_sg2):
    g = tiny_sg2("orig")
    p = tmp_path / "G_ema.pth"
    torch.save(g.state_dict(), p)
    m = load_model(p)
    z = _z(2, 32)
    torch.testing.assert_close(_render(m.generator, z), _render(g, z), rtol=0, atol=1e-6)


def test_wrong_tensor_shape_is_named(tmp_path, tiny_sg2):
    g = tiny_sg2()
    sd = g.state_dict()
    sd["synthesis.b8.conv1.bias"] = torch.zeros(5)
    p = tmp_path / "bad.pth"
    torch.save(sd, p)
    with pytest.raises(ModelLoadError) as e:
        load_model(p)
    msg = str(e.value)
    assert "bad.pth" in msg and "synthesis.b8.conv1.bias" in msg and "[5]" in msg


def test_missing_tensor_is_named(tmp_path, tiny_sg2):
    sd = tiny_sg2().state_dict()
    del sd["synthesis.b8.conv0.affine.weight"]
    p = tmp_path / "partial.pth"
    torch.save(sd, p)
    with pytest.raises(ModelLoadError, match=r"partial\.pth.*missing.*synthesis\.b8\.conv0\.affine\.weight"):
        load_model(p)


def test_unknown_architecture(tmp_path):
    p = tmp_path / "resnet50.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 64)}, p)
    with pytest.raises(ModelLoadError, match=r"resnet50\.pth.*unknown architecture.*StyleGAN2"):
        load_model(p)


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("empty.pkl", b"", "empty"),
        ("notes.pkl", b"these are my notes, not a model\n" * 4, "notes.pkl"),
        ("weights.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}xxxxxx", "weights.safetensors"),
    ],
)
def test_bad_files(tmp_path, name, content, expect):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(ModelLoadError) as e:
        load_model(p)
    assert name in str(e.value) and expect in str(e.value)


def test_truncated_checkpoints(tmp_path, tiny_sg2):
    g = tiny_sg2()
    for name, write in [
        ("cut.pkl", lambda p: write_nvidia_pickle(p, g, sg2_kwargs(g, num_fp16_res=4, conv_clamp=256))),
        ("cut.pt", lambda p: torch.save(g.state_dict(), p)),
        (
            "cut.safetensors",
            lambda p: save_model_file(p, g.state_dict(), {"family": "stylegan2", "config": g.config.to_dict()}),
        ),
    ]:
        p = tmp_path / name
        write(p)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        with pytest.raises(ModelLoadError, match=name.replace(".", r"\.")):
            load_model(p)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="no such file"):
        load_model(tmp_path / "nope.pkl")
    with pytest.raises(ModelLoadError, match="folder"):
        load_model(tmp_path)


def _tiny_sg3(radial: bool, c_dim: int = 0, seed: int = 0):
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator
    from tests.conftest import randomize_

    torch.manual_seed(seed)
    mult = 2 if radial else 1
    cfg = StyleGAN3Config(
        z_dim=16,
        c_dim=c_dim,
        w_dim=16,
        img_resolution=16,
        img_channels=3,
        channel_base=512 * mult,
        channel_max=32 * mult,
        num_layers=6,
        conv_kernel=1 if radial else 3,
        use_radial_filters=radial,
    )
    return randomize_(StyleGAN3Generator(cfg), seed)


def _sg3_kwargs(cfg):
    return {
        "z_dim": cfg.z_dim,
        "c_dim": cfg.c_dim,
        "w_dim": cfg.w_dim,
        "img_resolution": cfg.img_resolution,
        "img_channels": cfg.img_channels,
        "mapping_kwargs": {"num_layers": cfg.mapping_layers},
        "channel_base": cfg.channel_base,
        "channel_max": cfg.channel_max,
        "num_layers": cfg.num_layers,
        "conv_kernel": cfg.conv_kernel,
        "use_radial_filters": cfg.use_radial_filters,
        "magnitude_ema_beta": 0.999,
        "num_fp16_res": 4,
        "conv_clamp": 256,
    }


@pytest.mark.parametrize("radial", [False, True], ids=["T", "R"])
def test_stylegan3_files_round_trip(tmp_path, radial):
    g = _tiny_sg3(radial, c_dim=2)
    family, cfg = detect(g.state_dict())
    # everything recovered from names and shapes; channel_base only up to networks that are identical
    assert family == "stylegan3"
    assert dataclasses.replace(cfg, channel_base=g.config.channel_base) == g.config
    assert synthesis_geometry(cfg) == synthesis_geometry(g.config)
    pkl = tmp_path / "sg3.pkl"
    write_nvidia_pickle(pkl, g, _sg3_kwargs(g.config))
    m = load_model(pkl)
    assert (m.family, m.source_format, m.config) == ("stylegan3", "nvidia-pickle", g.config)
    z, c = _z(2, 16), torch.eye(2)
    ref = _render(g, z, c)
    torch.testing.assert_close(_render(m.generator, z, c), ref, rtol=0, atol=1e-6)
    st = tmp_path / "sg3.safetensors"
    save_model_file(st, m.generator.state_dict(), m.header())
    torch.testing.assert_close(_render(load_model(st).generator, z, c), ref, rtol=0, atol=1e-6)


def test_stylegan3_capped_channels_detected(tmp_path):
    """channel_max caps the first layers and channel_base is unusual: still rebuilt from the tensors."""
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    cfg = StyleGAN3Config(
        z_dim=8, c_dim=0, w_dim=8, img_resolution=64, img_channels=3, channel_base=2048, channel_max=16, num_layers=8
    )
    family, found = detect(StyleGAN3Generator(cfg).state_dict())
    assert family == "stylegan3"
    assert synthesis_geometry(found) == synthesis_geometry(cfg)
