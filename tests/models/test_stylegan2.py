import numpy as np
import pytest
import torch

import bigart.models.stylegan2 as stylegan2_module
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels


def _z(n, dim, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).randn(n, dim).astype(np.float32))


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_published_layout(tiny_sg2, arch):
    g = tiny_sg2(arch, c_dim=3, res=16)
    keys = set(g.state_dict())
    # names of the published StyleGAN2-ADA layout
    for k in [
        "mapping.fc0.weight",
        "mapping.fc1.bias",
        "mapping.embed.weight",
        "mapping.w_avg",
        "synthesis.b4.const",
        "synthesis.b4.conv1.affine.weight",
        "synthesis.b4.conv1.noise_const",
        "synthesis.b4.conv1.noise_strength",
        "synthesis.b8.conv0.weight",
        "synthesis.b8.conv0.resample_filter",
        "synthesis.b16.conv1.bias",
        "synthesis.b16.torgb.weight",
        "synthesis.b16.resample_filter",
    ]:
        assert k in keys, k
    assert ("synthesis.b8.torgb.weight" in keys) == (arch == "skip")
    assert ("synthesis.b8.skip.weight" in keys) == (arch == "resnet")
    assert g.num_ws == 6 == g.config.num_ws
    assert g.state_dict()["synthesis.b8.conv0.weight"].shape == (32, 32, 3, 3)
    assert g.state_dict()["mapping.embed.weight"].shape == (24, 3)


def test_num_ws_at_1024_matches_the_paper():
    cfg = StyleGAN2Config(z_dim=8, c_dim=0, w_dim=8, img_resolution=1024, channels=nvidia_channels(1024, 64, 4))
    assert cfg.num_ws == 18


@pytest.mark.parametrize("arch", ["orig", "skip", "resnet"])
def test_output_shape_determinism_and_batch_independence(tiny_sg2, arch):
    g = tiny_sg2(arch, res=16)
    z = _z(3, 32)
    with torch.no_grad():
        a = g(z, psi=0.7)
        b = g(z, psi=0.7)
        singles = torch.cat([g(z[i : i + 1], psi=0.7) for i in range(3)])
    assert a.shape == (3, 3, 16, 16) and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert (a - singles).abs().max() < 1e-5
    assert (a[0] - a[1]).abs().max() > 1e-2  # different z, different image


def test_psi_zero_gives_the_average_image(tiny_sg2):
    g = tiny_sg2()
    with torch.no_grad():
        img = g(_z(2, 32), psi=0.0)
    assert (img[0] - img[1]).abs().max() < 1e-5


def test_cutoff_limits_truncation_to_first_layers(tiny_sg2):
    g = tiny_sg2()
    z = _z(1, 32)
    with torch.no_grad():
        ws_full = g.mapping(z)
        ws_cut = g.mapping(z, psi=0.0, cutoff=2)
    torch.testing.assert_close(ws_cut[:, :2], g.mapping.w_avg.expand(1, 2, -1))
    torch.testing.assert_close(ws_cut[:, 2:], ws_full[:, 2:])


def test_noise_modes(tiny_sg2):
    g = tiny_sg2()
    z = _z(1, 32)
    with torch.no_grad():
        const1, const2 = g(z, noise_mode="const"), g(z, noise_mode="const")
        none = g(z, noise_mode="none")
        torch.manual_seed(1)
        rand1 = g(z, noise_mode="random")
        torch.manual_seed(2)
        rand2 = g(z, noise_mode="random")
    assert torch.equal(const1, const2)
    assert (const1 - none).abs().max() > 1e-3
    assert (rand1 - rand2).abs().max() > 1e-3
    with pytest.raises(ValueError, match="noise_mode"):
        g(z, noise_mode="loud")


def test_conditional_mapping_needs_a_class(tiny_sg2):
    g = tiny_sg2(c_dim=4)
    z = _z(2, 32)
    with pytest.raises(ValueError, match="class-conditional"):
        g(z)
    c = torch.eye(4)[[0, 3]]
    with torch.no_grad():
        a = g(z, c)
        b = g(z, torch.eye(4)[[1, 3]])
    assert (a[0] - b[0]).abs().max() > 1e-3  # the class changes the image
    torch.testing.assert_close(a[1], b[1])


def test_conv_clamp_bounds_activations(tiny_sg2):
    g = tiny_sg2("orig", conv_clamp=0.25)
    with torch.no_grad():
        img = g(_z(2, 32))
    # orig: the image is one ToRGB output, clamped at conv_clamp
    assert img.abs().max() <= 0.25 + 1e-6
    assert img.abs().max() > 0.2


def test_bad_latent_shapes(tiny_sg2):
    g = tiny_sg2()
    with pytest.raises(ValueError, match=r"z must be \[N, 32\]"):
        g(torch.zeros(1, 31))
    with pytest.raises(ValueError, match="ws must be"):
        g.synthesis(torch.zeros(1, 5, 24))


def test_config_round_trip_and_nvidia_kwargs():
    nested = {
        "z_dim": 512,
        "c_dim": 10,
        "w_dim": 512,
        "img_resolution": 32,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2},
        "synthesis_kwargs": {
            "channel_base": 16384,
            "channel_max": 512,
            "num_fp16_res": 4,
            "conv_clamp": 256,
            "architecture": "resnet",
        },
    }
    cfg = StyleGAN2Config.from_nvidia_kwargs(nested)
    assert cfg.channels == {4: 512, 8: 512, 16: 512, 32: 512}
    assert (cfg.architecture, cfg.mapping_layers, cfg.conv_clamp, cfg.c_dim) == ("resnet", 2, 256.0, 10)
    # The StyleGAN3 repository's StyleGAN2 passes synthesis options flat.
    flat = {k: v for k, v in nested.items() if k != "synthesis_kwargs"} | nested["synthesis_kwargs"]
    assert StyleGAN2Config.from_nvidia_kwargs(flat) == cfg
    assert StyleGAN2Config.from_dict(cfg.to_dict()) == cfg
    import json

    assert StyleGAN2Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown"):
        StyleGAN2Config.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN2Config(z_dim=8, c_dim=0, w_dim=8, img_resolution=48, channels={})


def test_generator_has_no_nvidia_cuda_assumption(tiny_sg2):
    g = tiny_sg2()
    assert all(p.device.type == "cpu" for p in g.parameters())
    assert isinstance(g, StyleGAN2Generator)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("clamp", [None, 0.5])
@pytest.mark.parametrize("noise_mode", ["const", "none"])
def test_the_layer_form_exported_to_onnx_equals_the_layer(up, clamp, noise_mode):
    from bigart.models.stylegan2 import SynthesisLayer

    torch.manual_seed(0)
    layer = SynthesisLayer(16, 32, w_dim=8, resolution=16, up=up, conv_clamp=clamp).eval()
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x, w = torch.randn(3, 16, 16 // up, 16 // up), torch.randn(3, 8)
    with torch.no_grad():
        want = layer(x, w, noise_mode)
        got = layer._forward_for_onnx(x, layer.affine(w), noise_mode)
    assert got.shape == want.shape == (3, 32, 16, 16)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)
    if clamp is not None:
        assert float(want.abs().max()) == pytest.approx(clamp)  # the clamp was reached, so it was tested


def test_the_upsampling_layer_exported_for_the_cpu_equals_the_layer(monkeypatch):
    from bigart.models.ops import onnx_cpu_forms
    from bigart.models.stylegan2 import SynthesisLayer

    torch.manual_seed(0)
    layer = SynthesisLayer(16, 8, w_dim=8, resolution=64, up=2).eval()
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x, w = torch.randn(2, 16, 32, 32), torch.randn(2, 8)
    calls = []
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    monkeypatch.setattr(stylegan2_module, "upsample_conv2d_polyphase", _spy(stylegan2_module, calls))
    with torch.no_grad(), onnx_cpu_forms():
        got = layer(x, w)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: False)
    with torch.no_grad():
        want = layer(x, w)
    assert len(calls) == 1 and got.shape == want.shape == (2, 8, 64, 64)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)


def _spy(module, calls):
    real = module.upsample_conv2d_polyphase

    def spy(*args, **kw):
        calls.append(args[0].shape)
        return real(*args, **kw)

    return spy


def test_the_torgb_form_exported_to_onnx_equals_the_layer(monkeypatch):
    from bigart.models.stylegan2 import ToRGBLayer

    torch.manual_seed(0)
    layer = ToRGBLayer(16, 3, w_dim=8, conv_clamp=2.0).eval()
    with torch.no_grad():
        layer.bias.normal_()
    x, w = torch.randn(3, 16, 8, 8) * 3, torch.randn(3, 8)
    with torch.no_grad():
        want = layer(x, w)
        monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
        got = layer(x, w)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)
    assert float(want.abs().max()) == pytest.approx(2.0)
