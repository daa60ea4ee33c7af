"""StyleGAN3 generator: published state-dict layout, geometry, filter design and forward-pass properties.

Parity with the reference implementation is checked outside the test run (it needs NVIDIA's code); the
expected names, shapes, paddings and filter taps below were computed with it.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from bigart.models.ops import upfirdn2d
from bigart.models.stylegan3 import (
    StyleGAN3Config,
    StyleGAN3Generator,
    bessel_j1,
    filtered_lrelu,
    input_transform,
    lowpass_filter,
    radial_lowpass_filter,
    synthesis_geometry,
)

TINY = dict(
    z_dim=8,
    c_dim=3,
    w_dim=12,
    img_resolution=16,
    img_channels=3,
    channel_base=512,
    channel_max=32,
    num_layers=4,
    num_critical=1,
    margin_size=2,
)
TINY_R = dict(TINY, conv_kernel=1, use_radial_filters=True)
TINY_NAMES = ["L0_20_32", "L1_20_32", "L2_20_32", "L3_16_32", "L4_16_3"]


@pytest.fixture(scope="module")
def gen_t() -> StyleGAN3Generator:
    torch.manual_seed(0)
    return StyleGAN3Generator(StyleGAN3Config(**TINY)).eval()


def _randomise(g: StyleGAN3Generator, seed: int = 1) -> StyleGAN3Generator:
    """Non-trivial magnitudes, biases and input transform, as a trained network has."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in g.state_dict().items():
            if name.endswith("magnitude_ema"):
                t.copy_(torch.rand([], generator=gen) * 2 + 0.3)
            elif name.endswith(".bias") and name.startswith("synthesis.L"):
                t.add_(torch.randn(t.shape, generator=gen) * 0.2)
        g.synthesis.input.transform.copy_(input_transform((0.1, -0.05), 20.0))
        g.mapping.w_avg.normal_(generator=gen)
    return g


# ------------------------------------------------------------------------------------------------------
# Layout


def _expected_keys(names: list[str], c_dim: int, mapping_layers: int, filters: dict[str, tuple]) -> set[str]:
    keys = {"mapping.w_avg"} | {f"mapping.fc{i}.{p}" for i in range(mapping_layers) for p in ("weight", "bias")}
    if c_dim:
        keys |= {"mapping.embed.weight", "mapping.embed.bias"}
    keys |= {f"synthesis.input.{k}" for k in ("weight", "affine.weight", "affine.bias", "transform", "freqs", "phases")}
    for n in names:
        keys |= {f"synthesis.{n}.{k}" for k in ("weight", "bias", "magnitude_ema", "affine.weight", "affine.bias")}
    return keys | {f"synthesis.{k}" for k in filters}


@pytest.mark.parametrize("radial", [False, True])
def test_state_dict_layout_matches_published(radial: bool) -> None:
    cfg = StyleGAN3Config(**(TINY_R if radial else TINY))
    g = StyleGAN3Generator(cfg)
    sd = g.state_dict()
    down = (12, 12) if radial else (12,)
    filters = {f"{n}.up_filter": (12,) for n in TINY_NAMES[:4]}
    filters |= {f"{n}.down_filter": down for n in TINY_NAMES[:3]}
    filters["L3_16_32.down_filter"] = (12,)  # critically sampled: never radial
    assert set(sd) == _expected_keys(TINY_NAMES, cfg.c_dim, cfg.mapping_layers, filters)
    assert len(sd) == 46
    assert g.synthesis.layer_names == TINY_NAMES
    assert all(re.fullmatch(r"L\d+_\d+_\d+", n) for n in g.synthesis.layer_names)
    for key, shape in filters.items():
        assert tuple(sd[f"synthesis.{key}"].shape) == shape
    k = 1 if radial else 3
    assert sd["synthesis.L0_20_32.weight"].shape == (32, 32, k, k)
    assert sd["synthesis.L4_16_3.weight"].shape == (3, 32, 1, 1)
    assert sd["synthesis.L4_16_3.affine.weight"].shape == (32, 12)
    assert sd["synthesis.input.weight"].shape == (32, 32)
    assert sd["synthesis.input.affine.weight"].shape == (4, 12)
    assert sd["synthesis.input.transform"].shape == (3, 3)
    assert sd["synthesis.input.freqs"].shape == (32, 2)
    assert sd["synthesis.input.phases"].shape == (32,)
    assert sd["synthesis.L2_20_32.magnitude_ema"].shape == ()
    assert sd["mapping.embed.weight"].shape == (12, 3)
    assert sd["mapping.fc0.weight"].shape == (12, 8 + 12)
    pads = [layer.geometry.padding for layer in (getattr(g.synthesis, n) for n in TINY_NAMES)]
    assert pads == ([(11, 10, 11, 10)] * 3 + [(7, 6, 7, 6)] if radial else [(9, 8, 9, 8)] * 3 + [(5, 4, 5, 4)]) + [
        (0, 0, 0, 0)
    ]


def test_layers_without_filters_and_cropping_paddings() -> None:
    cfg = StyleGAN3Config(
        z_dim=8,
        c_dim=0,
        w_dim=8,
        img_resolution=32,
        img_channels=3,
        channel_base=256,
        channel_max=16,
        num_layers=6,
        num_critical=2,
        margin_size=3,
        lrelu_upsampling=1,
        filter_size=4,
        use_radial_filters=True,
    )
    g = StyleGAN3Generator(cfg)
    sd = g.state_dict()
    assert g.synthesis.layer_names == ["L0_22_16", "L1_22_16", "L2_38_16", "L3_38_13", "L4_38_8", "L5_32_8", "L6_32_3"]
    assert [k for k in sd if "filter" in k] == ["synthesis.L2_38_16.up_filter"]
    assert sd["synthesis.L2_38_16.up_filter"].shape == (8,)
    assert len(sd) == 47
    pads = [getattr(g.synthesis, n).geometry.padding for n in g.synthesis.layer_names]
    assert pads == [(-1, -1, -1, -1)] * 2 + [(-1, -2, -1, -2)] + [(-1, -1, -1, -1)] * 2 + [(-4, -4, -4, -4), (0,) * 4]
    out = g(torch.randn(2, 8))
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("radial", "expected"),
    [
        (False, "L0_36_512 L1_36_512 L2_52_512 L3_52_512 L4_84_512 L5_148_512 L6_148_512 L7_276_323 L8_276_203"),
        (True, "L0_36_1024 L1_36_1024 L2_52_1024 L3_52_1024 L4_84_1024 L5_148_1024 L6_148_1024 L7_276_645"),
    ],
)
def test_geometry_of_published_1024_configs(radial: bool, expected: str) -> None:
    kwargs = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    if radial:
        kwargs.update(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)
    inp, layers = synthesis_geometry(StyleGAN3Config(**kwargs))
    names = [g.name for g in layers]
    assert names[: len(expected.split())] == expected.split()
    ch = 2 if radial else 1
    assert names[-6:] == [
        f"L9_532_{128 * ch}",
        f"L10_1044_{81 * ch - (1 if radial else 0)}",
        f"L11_1044_{51 * ch}",
        f"L12_1044_{32 * ch}",
        f"L13_1024_{32 * ch}",
        "L14_1024_3",
    ]
    assert (inp.size, inp.sampling_rate, inp.bandwidth, inp.channels) == (36, 16.0, 2.0, 512 * ch)
    assert [g.radial for g in layers] == [radial] * 12 + [False] * 3
    # Layers that double the sampling rate upsample by 4 around the nonlinearity, the others by 2.
    assert [g.up for g in layers] == [2, 2, 4, 2, 4, 4, 2, 4, 2, 4, 4, 2, 2, 2, 1]
    assert [g.down_taps for g in layers] == [12] * 14 + [1]
    assert [g.up_taps for g in layers] == [6 * g.up for g in layers[:-1]] + [1]


# ------------------------------------------------------------------------------------------------------
# Config


def test_num_ws_and_attributes(gen_t: StyleGAN3Generator) -> None:
    assert gen_t.family == "stylegan3"
    assert gen_t.num_ws == gen_t.synthesis.num_ws == gen_t.mapping.num_ws == 4 + 2
    assert (gen_t.z_dim, gen_t.c_dim, gen_t.w_dim, gen_t.img_resolution, gen_t.img_channels) == (8, 3, 12, 16, 3)
    assert StyleGAN3Generator(StyleGAN3Config(4, 0, 4, 16, 3, channel_base=64, channel_max=8)).num_ws == 16


def test_config_round_trip_through_json() -> None:
    cfg = StyleGAN3Config(**TINY_R, conv_clamp=None)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert StyleGAN3Config.from_dict(d) == cfg
    assert StyleGAN3Config.from_dict(StyleGAN3Config(**TINY).to_dict()) == StyleGAN3Config(**TINY)
    with pytest.raises(ValueError, match="bogus"):
        StyleGAN3Config.from_dict({**d, "bogus": 1})
    with pytest.raises(ValueError, match="z_dim"):
        StyleGAN3Config.from_dict({k: v for k, v in d.items() if k != "z_dim"})


def test_from_nvidia_kwargs_published_shapes() -> None:
    t_kwargs = {
        "z_dim": 512,
        "w_dim": 512,
        "mapping_kwargs": {"num_layers": 2},
        "channel_base": 32768,
        "channel_max": 512,
        "magnitude_ema_beta": 0.9988915792636801,
        "num_fp16_res": 4,
        "conv_clamp": 256,
        "c_dim": 0,
        "img_resolution": 1024,
        "img_channels": 3,
    }
    t = StyleGAN3Config.from_nvidia_kwargs(t_kwargs)
    assert t == StyleGAN3Config(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
    assert isinstance(t.conv_clamp, float)

    r_kwargs = dict(
        t_kwargs,
        channel_base=65536,
        channel_max=1024,
        conv_kernel=1,
        use_radial_filters=True,
        img_resolution=256,
        mapping_kwargs={"num_layers": 2, "lr_multiplier": 0.01, "w_avg_beta": 0.998},
        conv_clamp=None,
    )
    r = StyleGAN3Config.from_nvidia_kwargs(r_kwargs)
    assert (r.channel_base, r.channel_max, r.conv_kernel, r.use_radial_filters) == (65536, 1024, 1, True)
    assert (r.img_resolution, r.mapping_layers, r.mapping_lr_multiplier, r.conv_clamp) == (256, 2, 0.01, None)
    json.dumps(r.to_dict())

    with pytest.raises(ValueError, match="mystery"):
        StyleGAN3Config.from_nvidia_kwargs({**t_kwargs, "mystery": 3})
    with pytest.raises(ValueError, match="img_resolution"):
        StyleGAN3Config.from_nvidia_kwargs({k: v for k, v in t_kwargs.items() if k != "img_resolution"})


# ------------------------------------------------------------------------------------------------------
# Filters


def test_bessel_j1_known_values() -> None:
    got = bessel_j1(np.array([0.0, 1.0, 10.0, 37.5, -1.0]))
    want = [0.0, 0.44005058574493355, 0.04347274616886141, -0.1078233440192769, -0.44005058574493355]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_lowpass_filter_matches_kaiser_firwin() -> None:
    want = [-0.009915441886966915, -0.009877626889052077, 0.019569768329042215, 0.088043897956168]
    want += [0.1751695336730485, 0.23700986881776023]
    want += want[::-1]
    f = lowpass_filter(12, 2.0, 3.0, 16)
    np.testing.assert_allclose(f.numpy(), np.array(want, dtype=np.float32), rtol=0, atol=1e-8)
    assert lowpass_filter(1, 2.0, 3.0, 16) is None


def test_radial_filter_known_values() -> None:
    f = radial_lowpass_filter(12, 5.0, 6.0, 32).numpy()
    assert f.shape == (12, 12)
    np.testing.assert_allclose(f, f.T, atol=0)
    want = [0.00011784788639631312, -0.001792890860796252, 0.0007981256137345931, 0.06959110880935664]
    np.testing.assert_allclose([f[0, 0], f[0, 5], f[2, 7], f[5, 5]], want, rtol=1e-6, atol=1e-9)
    assert abs(f.sum() - 1) < 1e-6
    odd = radial_lowpass_filter(5, 5.0, 6.0, 32).numpy()
    assert np.isfinite(odd).all() and abs(odd.sum() - 1) < 1e-6


@pytest.mark.parametrize(
    ("up", "down", "padding", "radial"),
    [
        (2, 2, (9, 8, 9, 8), False),
        (2, 2, (11, 10, 11, 10), True),
        (2, 1, (-1, -2, -1, -2), False),
        (1, 1, (-4,) * 4, False),
    ],
)
def test_filtered_lrelu_equals_plain_upfirdn2d(up: int, down: int, padding: tuple, radial: bool) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 20, 20)
    b = torch.randn(3)
    fu = lowpass_filter(6 * up if up > 1 else 1, 3.0, 4.0, 16 * up)
    design = radial_lowpass_filter if radial else lowpass_filter
    fd = design(6 * down if down > 1 else 1, 3.0, 4.0, 16 * up)
    got = filtered_lrelu(x, fu, fd, b, up, down, padding, clamp=1.5)
    y = upfirdn2d(x + b[None, :, None, None], fu, up=up, padding=padding, gain=up**2)
    y = (torch.nn.functional.leaky_relu(y, 0.2) * 2**0.5).clamp(-1.5, 1.5)
    want = upfirdn2d(y, fd, down=down)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------------------------
# Forward pass


def test_output_shape_finite_and_deterministic(gen_t: StyleGAN3Generator) -> None:
    g = _randomise(gen_t)
    z = torch.randn(2, 8)
    c = torch.eye(3)[:2]
    with torch.no_grad():
        a = g(z, c, psi=0.7)
        b = g(z, c, psi=0.7)
        ws = g.mapping(z, c, psi=0.7)
        s = g.synthesis(ws, noise_mode="random")
    assert a.shape == (2, 3, 16, 16) and a.dtype == torch.float32
    assert torch.isfinite(a).all()
    assert torch.equal(a, b)
    torch.testing.assert_close(a, s, rtol=0, atol=0)
    with pytest.raises(ValueError):
        g.synthesis(ws[:, :-1])


def test_batch_independence(gen_t: StyleGAN3Generator) -> None:
    g = _randomise(gen_t, seed=2)
    z = torch.randn(3, 8)
    c = torch.eye(3)
    with torch.no_grad():
        batch = g(z, c, psi=0.8)
        singles = torch.cat([g(z[i : i + 1], c[i : i + 1], psi=0.8) for i in range(3)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)


def test_psi_zero_gives_the_same_image_for_every_z(gen_t: StyleGAN3Generator) -> None:
    g = _randomise(gen_t, seed=3)
    c = torch.tensor([[0.0, 1.0, 0.0]]).repeat(3, 1)
    with torch.no_grad():
        out = g(torch.randn(3, 8), c, psi=0.0)
        cut = g(torch.randn(3, 8), c, psi=0.0, cutoff=2)
    torch.testing.assert_close(out[1:], out[:1].expand(2, -1, -1, -1), rtol=0, atol=1e-6)
    assert not torch.allclose(cut[0], cut[1])


def test_state_dict_loads_strict_into_a_fresh_generator(gen_t: StyleGAN3Generator) -> None:
    g = _randomise(gen_t, seed=4)
    torch.manual_seed(123)
    other = StyleGAN3Generator(StyleGAN3Config(**TINY)).eval()
    other.load_state_dict(g.state_dict(), strict=True)
    z, c = torch.randn(1, 8), torch.eye(3)[:1]
    with torch.no_grad():
        assert torch.equal(other(z, c), g(z, c))


def test_input_transform_is_the_inverse_image_transform() -> None:
    assert torch.equal(input_transform(), torch.eye(3))
    m = input_transform((0.25, 0.0), 90.0).double()
    np.testing.assert_allclose(torch.linalg.inv(m).numpy(), [[0, 1, 0.25], [-1, 0, 0], [0, 0, 1]], atol=1e-7)
