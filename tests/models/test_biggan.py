"""BigGAN-deep: the published state-dict layout, eval-mode spectral norm, truncation-indexed statistics, class
mixtures, and round trips through Hugging Face folders and bigart model files. Tiny random nets, built here."""

from __future__ import annotations

import json
import math

import pytest
import torch

from bigart.cli import main as cli_main
from bigart.errors import ModelLoadError
from bigart.models import detect, load_model, read_model_file
from bigart.models.biggan import (
    LAYERS_128,
    LAYERS_256,
    LAYERS_512,
    BigGANConfig,
    BigGANGenerator,
    SNConv2d,
    truncation_statistics,
)
from bigart.models.hf_biggan import config_from_tensors

# Alternating blocks (the second of each pair upsamples), as the published checkpoints: 32 px, attention at 2.
TINY_LAYERS = [[False, 16, 16], [True, 16, 8], [False, 8, 8], [True, 8, 4], [False, 4, 2], [True, 2, 1]]


def tiny_config(**kw) -> BigGANConfig:
    base = {"z_dim": 8, "class_embed_dim": 8, "channel_width": 4, "num_classes": 4, "layers": TINY_LAYERS}
    base["attention_layer_position"] = 2
    return BigGANConfig(**{**base, **kw})


def randomized(cfg: BigGANConfig, seed: int = 0) -> BigGANGenerator:
    """A generator whose every tensor matters: random statistics per truncation, affine, gamma, embeddings."""
    torch.manual_seed(seed)
    g = BigGANGenerator(cfg)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, b in g.named_buffers():
            if name.endswith("running_means"):
                b.copy_(0.3 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_vars"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
        for name, p in g.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.5)
            elif name.endswith("bias") or name == "generator.bn.weight":
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
            elif name == "embeddings.weight":
                p.copy_(torch.randn(p.shape, generator=gen))
    return g.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def tiny() -> BigGANGenerator:
    return randomized(tiny_config())


def _inputs(g: BigGANGenerator, n: int = 2, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.z_dim, generator=gen).clamp(-2, 2)
    c = torch.zeros(n, g.num_classes)
    c[torch.arange(n), torch.arange(n) % g.num_classes] = 1
    return z, c


def _expected_keys(cfg: BigGANConfig) -> list[str]:
    """The published key order, written out from the format description (not from our modules)."""
    sn = ("weight_orig", "weight_u", "weight_v")
    keys = ["embeddings.weight", "generator.gen_z.bias", *(f"generator.gen_z.{s}" for s in sn)]
    i = 0
    for b in range(len(cfg.layers)):
        if b == cfg.attention_layer_position:
            keys.append(f"generator.layers.{i}.gamma")
            for conv in ("theta", "phi", "g", "o_conv"):
                keys += [f"generator.layers.{i}.snconv1x1_{conv}.{s}" for s in sn]
            i += 1
        for k in range(4):
            p = f"generator.layers.{i}"
            keys += [f"{p}.bn_{k}.running_means", f"{p}.bn_{k}.running_vars"]
            keys += [f"{p}.bn_{k}.{part}.{s}" for part in ("scale", "offset") for s in sn]
            keys += [f"{p}.conv_{k}.bias", *(f"{p}.conv_{k}.{s}" for s in sn)]
        i += 1
    keys += [f"generator.bn.{k}" for k in ("weight", "bias", "running_means", "running_vars")]
    keys += ["generator.conv_to_rgb.bias", *(f"generator.conv_to_rgb.{s}" for s in sn)]
    return keys


# --------------------------------------------------------------------------------------------------------------
# Layout and configuration


def test_state_dict_layout_matches_published(tiny):
    cfg = tiny.config
    sd = tiny.state_dict()
    assert list(sd) == _expected_keys(cfg)
    ch, z = cfg.channel_width, cfg.z_dim
    assert sd["embeddings.weight"].shape == (z, cfg.num_classes)
    assert sd["generator.gen_z.weight_orig"].shape == (4 * 4 * 16 * ch, 2 * z)
    assert sd["generator.layers.0.bn_0.running_means"].shape == (cfg.n_stats, 16 * ch)
    assert sd["generator.layers.0.bn_0.scale.weight_orig"].shape == (16 * ch, 2 * z)
    assert sd["generator.layers.0.conv_0.weight_orig"].shape == (4 * ch, 16 * ch, 1, 1)
    assert sd["generator.layers.0.conv_1.weight_orig"].shape == (4 * ch, 4 * ch, 3, 3)
    assert sd["generator.layers.2.gamma"].shape == (1,)
    assert sd["generator.layers.2.snconv1x1_theta.weight_orig"].shape == (ch, 8 * ch, 1, 1)
    assert sd["generator.layers.3.bn_0.running_means"].shape == (cfg.n_stats, 8 * ch)  # block 2 shifted by one
    assert sd["generator.conv_to_rgb.weight_orig"].shape == (ch, ch, 3, 3)
    assert tiny.img_resolution == 32 and cfg.output_dim == 32


@pytest.mark.parametrize(("layers", "res"), [(LAYERS_128, 128), (LAYERS_256, 256), (LAYERS_512, 512)])
def test_published_configs_and_inference_from_tensors(layers, res):
    hf = {
        "output_dim": res,
        "z_dim": 128,
        "class_embed_dim": 128,
        "channel_width": 4,
        "num_classes": 10,
        "layers": [[bool(u), a, b] for u, a, b in layers],
        "attention_layer_position": 8,
        "eps": 1e-4,
        "n_stats": 51,
    }
    cfg = BigGANConfig.from_hf_config(json.loads(json.dumps(hf)))
    assert cfg.img_resolution == res and cfg.has_attention
    sd = {k: torch.empty(v.shape) for k, v in BigGANGenerator(cfg).state_dict().items()}
    assert config_from_tensors(sd) == cfg  # the published structures follow the alternation rule
    family, detected = detect(sd)
    assert family == "biggan" and detected == cfg


def test_config_dict_round_trip_and_validation():
    cfg = tiny_config(eps=1e-3, n_stats=11)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert BigGANConfig.from_dict(d) == cfg
    assert BigGANConfig.from_hf_config({**d, "some_future_key": 1}) == cfg
    with pytest.raises(ValueError, match="unknown BigGAN config keys"):
        BigGANConfig.from_dict({**d, "bogus": 1})
    with pytest.raises(ValueError, match="halves"):
        tiny_config(layers=[[False, 16, 16], [True, 16, 4], [True, 4, 1]])
    with pytest.raises(ValueError, match="layer must be"):
        tiny_config(layers=[[False, 16], [True, 16, 1]])
    with pytest.raises(ValueError, match="last block"):
        tiny_config(layers=[[False, 16, 16], [True, 16, 8]])
    assert not tiny_config(attention_layer_position=99).has_attention


# --------------------------------------------------------------------------------------------------------------
# Spectral norm, statistics, classes


def test_spectral_norm_uses_stored_vectors_without_iterating():
    torch.manual_seed(0)
    conv = SNConv2d(6, 5, 3)
    w = conv.weight_orig.detach().reshape(5, -1)
    u_true, _, vh = torch.linalg.svd(w.double(), full_matrices=False)
    with torch.no_grad():
        conv.weight_u.copy_(u_true[:, 0].float())
        conv.weight_v.copy_(vh[0].float())
    sigma = torch.linalg.svdvals(w.double())[0]
    torch.testing.assert_close(conv.weight.double(), conv.weight_orig.double() / sigma, rtol=1e-5, atol=0)
    # arbitrary (non-converged) vectors: sigma is u . (W v), as torch's spectral_norm in eval mode
    gen = torch.Generator().manual_seed(3)
    u, v = torch.randn(5, generator=gen), torch.randn(54, generator=gen)
    with torch.no_grad():
        conv.weight_u.copy_(u)
        conv.weight_v.copy_(v)
        before = (conv.weight_u.clone(), conv.weight_v.clone())
        conv(torch.randn(1, 6, 4, 4))
    torch.testing.assert_close(conv.weight, conv.weight_orig / torch.dot(u, w @ v))
    assert torch.equal(conv.weight_u, before[0]) and torch.equal(conv.weight_v, before[1])


def test_truncation_statistics_rows_and_reversed_weights():
    means = torch.arange(51, dtype=torch.float32)[:, None].repeat(1, 3)
    variances = means + 100
    m, v = truncation_statistics(means, variances, 0.4)  # 0.4 / 0.02 == 20.0 exactly: row 20, no blend
    assert torch.equal(m, means[20]) and torch.equal(v, variances[20])
    m, _ = truncation_statistics(means, variances, 1.0)
    assert torch.equal(m, means[50])
    coef, whole = math.modf(0.705 / (1 / 50))
    assert whole == 35 and abs(coef - 0.25) < 1e-9
    m, _ = truncation_statistics(means, variances, 0.705)
    assert torch.equal(m, means[35] * coef + means[36] * (1 - coef))  # weights reversed, as the reference
    assert abs(m[0].item() - 35.75) < 1e-5


@pytest.mark.parametrize(("truncation", "row"), [(0.4, 20), (1.0, 50)])
def test_generator_reads_only_the_selected_row(truncation, row):
    g = randomized(tiny_config())
    z, c = _inputs(g)
    with torch.no_grad():
        for name, b in g.named_buffers():
            if name.endswith(("running_means", "running_vars")):
                keep = b[row].clone()
                b.fill_(float("nan"))
                b[row] = keep
        out = g(z, c, truncation)
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


def test_class_mixture_is_the_mixed_embedding(tiny):
    z, _ = _inputs(tiny)
    mix = torch.tensor([[0.7, 0.0, 0.3, 0.0], [0.2, 0.2, 0.5, 0.1]])
    with torch.no_grad():
        out = tiny(z, mix, 0.5)
        embedded = mix @ tiny.embeddings.weight.t()
        direct = tiny.generator(torch.cat([z, embedded], 1), 0.5)
        one_hot = tiny(z, torch.eye(4)[[0, 2]], 0.5)
    torch.testing.assert_close(out, direct, rtol=0, atol=1e-6)
    assert (out - one_hot).abs().max() > 1e-3  # the class does change the image


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2, float("nan")])
def test_truncation_out_of_range(tiny, bad):
    z, c = _inputs(tiny)
    with pytest.raises(ValueError, match=r"truncation must be in \(0, 1\]"):
        tiny(z, c, bad)


def test_bad_shapes(tiny):
    z, c = _inputs(tiny)
    with pytest.raises(ValueError, match="class_vector must be"):
        tiny(z, torch.zeros(2, 5), 0.5)
    with pytest.raises(ValueError, match="z must be"):
        tiny(torch.zeros(2, 9), c, 0.5)


# --------------------------------------------------------------------------------------------------------------
# Files


def _write_hf(folder, g, prefix="", legacy=False, config=True):
    folder.mkdir(parents=True, exist_ok=True)
    sd = g.state_dict()
    sd._metadata = {"": {"version": 1}, "generator.gen_z": {"spectral_norm": {"weight.version": 1}}}
    torch.save(sd, folder / f"{prefix}pytorch_model.bin", _use_new_zipfile_serialization=not legacy)
    if config:
        (folder / f"{prefix}config.json").write_text(json.dumps(g.config.to_dict(), indent=2, sort_keys=True))
    return folder


def _same_pixels(a, b, truncations=(0.4, 0.73, 1.0)):
    z, c = _inputs(a)
    with torch.no_grad():
        for t in truncations:
            torch.testing.assert_close(a(z, c, t), b(z, c, t), rtol=0, atol=0)


@pytest.mark.parametrize("legacy", [False, True])
def test_hf_folder_and_file_round_trip(tmp_path, tiny, legacy):
    folder = _write_hf(tmp_path / "biggan", tiny, legacy=legacy)
    m = load_model(folder)
    assert (m.family, m.source_format) == ("biggan", "hf-biggan")
    assert m.config == tiny.config
    _same_pixels(tiny, m.generator)
    f = load_model(folder / "pytorch_model.bin")  # the weights file alone finds its config.json
    assert f.family == "biggan" and f.config == tiny.config
    _same_pixels(tiny, f.generator)


def test_prefixed_published_names(tmp_path, tiny):
    folder = _write_hf(tmp_path / "cache", tiny, prefix="biggan-deep-tiny-")
    assert load_model(folder / "biggan-deep-tiny-pytorch_model.bin").config == tiny.config
    assert load_model(folder).config == tiny.config


def test_folder_without_config_infers_it(tmp_path, tiny):
    folder = _write_hf(tmp_path / "weights-only", tiny, config=False)
    m = load_model(folder)
    assert m.config.layers == tiny.config.layers
    assert m.config.attention_layer_position == 2
    _same_pixels(tiny, m.generator)


def test_bad_config_json(tmp_path, tiny):
    folder = _write_hf(tmp_path / "bad", tiny)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="JSON object"):
        load_model(folder / "pytorch_model.bin")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        load_model(folder)


def test_config_json_that_does_not_fit_the_weights(tmp_path, tiny):
    folder = _write_hf(tmp_path / "mismatch", tiny)
    (folder / "config.json").write_text(json.dumps({**tiny.config.to_dict(), "channel_width": 8}))
    with pytest.raises(ModelLoadError, match="shape"):
        load_model(folder)


def test_convert_and_inspect(tmp_path, tiny, capsys):
    folder = _write_hf(tmp_path / "hf", tiny)
    out = tmp_path / "tiny.safetensors"
    assert cli_main(["convert", str(folder), str(out)]) == 0
    tensors, header = read_model_file(out)
    assert header["family"] == "biggan" and header["config"] == tiny.config.to_dict()
    assert set(tensors) == set(tiny.state_dict())
    m = load_model(out)
    assert (m.family, m.source_format, m.config) == ("biggan", "bigart", tiny.config)
    _same_pixels(tiny, m.generator)
    capsys.readouterr()
    assert cli_main(["inspect", "--json", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "biggan" and info["resolution"] == 32 and info["num_classes"] == 4
    assert info["attention_layer_position"] == 2 and info["config"]["layers"] == TINY_LAYERS
