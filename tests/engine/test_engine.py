"""The engine: torch and ONNX Runtime give the same images for every family, with a dynamic batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from bigart.engine.engine import Engine
from bigart.errors import BigartError
from bigart.models.registry import LoadedModel
from tests.conftest import randomize_


def _loaded(net, family, sha="0" * 64) -> LoadedModel:
    from pathlib import Path

    return LoadedModel(family, net, net.config, Path("test.pkl"), sha, "test")


def _z(n, dim, seed=0):
    return np.random.RandomState(seed).randn(n, dim).astype(np.float32)


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_stylegan2_onnx_matches_torch(tiny_sg2, arch):
    g = tiny_sg2(arch, c_dim=3)
    m = _loaded(g, "stylegan2", sha=arch * 16)
    t, o = Engine(m, "torch"), Engine(m, "onnx")
    for n in (1, 4):
        z, c = _z(n, 32, n), np.eye(3, dtype=np.float32)[np.arange(n) % 3]
        ws_t, ws_o = t.map(z, c, psi=0.7, cutoff=3), o.map(z, c, psi=0.7, cutoff=3)
        assert np.abs(ws_t - ws_o).max() < 1e-4
        for mode in ("const", "none"):
            a, b = t.synthesize(ws_t, mode), o.synthesize(ws_t, mode)
            assert a.shape == b.shape == (n, 3, 16, 16)
            assert np.abs(a - b).max() <= 1e-3
    assert o.provider == "CPUExecutionProvider"
    assert all(v["max_abs_diff"] <= 1e-3 for v in o.describe()["graphs"].values())


@pytest.mark.parametrize("radial", [False, True])
def test_stylegan3_onnx_matches_torch(radial):
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    torch.manual_seed(0)
    cfg = StyleGAN3Config(
        z_dim=16,
        c_dim=0,
        w_dim=16,
        img_resolution=16,
        img_channels=3,
        channel_base=512 * (1 + radial),
        channel_max=32 * (1 + radial),
        num_layers=6,
        conv_kernel=1 if radial else 3,
        use_radial_filters=radial,
    )
    m = _loaded(randomize_(StyleGAN3Generator(cfg)), "stylegan3", sha=f"{radial:d}" * 64)
    t, o = Engine(m, "torch"), Engine(m, "onnx")
    for n in (1, 4):
        ws = t.map(_z(n, 16), psi=0.5)
        assert np.abs(t.synthesize(ws) - o.synthesize(ws)).max() <= 1e-3


def test_biggan_onnx_matches_torch():
    from tests.models.test_biggan import randomized, tiny_config

    m = _loaded(randomized(tiny_config()), "biggan", sha="b" * 64)
    t, o = Engine(m, "torch"), Engine(m, "onnx")
    for n in (1, 4):
        z, c = _z(n, 8) * 0.4, np.random.RandomState(n).rand(n, 4).astype(np.float32)
        assert np.abs(t.biggan(z, c, 0.4) - o.biggan(z, c, 0.4)).max() <= 1e-3


def test_cyclegan_onnx_dynamic_size():
    from tests.models.test_cyclegan import tiny

    m = _loaded(tiny(n_blocks=2, directions=["AtoB", "BtoA"]), "cyclegan", sha="c" * 64)
    t, o = Engine(m, "torch"), Engine(m, "onnx")
    for shape in ((1, 3, 64, 48), (4, 3, 32, 32)):
        x = np.random.RandomState(0).rand(*shape).astype(np.float32) * 2 - 1
        for d in ("AtoB", "BtoA"):
            assert np.abs(t.translate(x, d) - o.translate(x, d)).max() <= 1e-3


def test_cache_is_reused_and_damage_rebuilt(tiny_sg2):
    m = _loaded(tiny_sg2(), "stylegan2", sha="d" * 64)
    first = Engine(m, "onnx")
    ws = first.map(_z(2, 32))
    ref = first.synthesize(ws)
    graph = first._graphs["synthesis-const"]
    assert graph.info["cached"] is False
    stamp = graph.path.stat().st_mtime_ns
    second = Engine(m, "onnx")
    second.synthesize(ws)
    assert second._graphs["synthesis-const"].info["cached"] is True
    assert graph.path.stat().st_mtime_ns == stamp  # not exported again
    graph.path.write_bytes(graph.path.read_bytes()[:1000])  # a truncated cache file
    third = Engine(m, "onnx")
    with pytest.warns(UserWarning, match="damaged"):
        out = third.synthesize(ws)
    assert np.abs(out - ref).max() <= 1e-6
    assert third._graphs["synthesis-const"].info["cached"] is False


def test_cuda_request_without_cuda_warns_and_uses_cpu(tiny_sg2):
    m = _loaded(tiny_sg2(), "stylegan2", sha="e" * 64)
    e = Engine(m, "onnx", device="cuda")
    with pytest.warns(UserWarning, match="CUDA"):
        e.map(_z(1, 32))
    assert e.provider == "CPUExecutionProvider"
    assert "CUDA" in e.describe()["warning"]
    if not torch.cuda.is_available():
        with pytest.raises(BigartError, match="CUDA"):
            Engine(m, "torch", device="cuda")


def test_random_noise_is_torch_only(tiny_sg2):
    e = Engine(_loaded(tiny_sg2(), "stylegan2", sha="f" * 64), "onnx")
    with pytest.raises(BigartError, match="random"), warnings.catch_warnings():
        e.synthesize(np.zeros((1, 6, 24), np.float32), "random")
