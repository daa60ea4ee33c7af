"""SeFa and PCA directions from real generators: the closed form recomputed here from a checkpoint's tensors, the
w index of every style layer checked against the forward pass, and the image change along a direction measured."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bigart.latent import Directions, pca_directions, sefa
from bigart.models import load_model
from bigart.models.biggan import BigGANConfig, BigGANGenerator
from bigart.models.directions import (
    biggan_z_weights,
    sample_biggan_features,
    sample_w,
    sefa_directions,
    style_affine_weights,
    stylegan_affine_layers,
)
from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle

W_DIM = 24  # the tiny_sg2 default


def _through_pickle(tmp_path, g):
    path = tmp_path / "network-snapshot.pkl"
    write_nvidia_pickle(path, g, sg2_kwargs(g))
    m = load_model(path)
    assert (m.family, m.source_format) == ("stylegan2", "nvidia-pickle")
    return m


# The style affines a 16-px StyleGAN2 reads, by w index, written out by hand from the published layout
# (FORMATS.md 1.5): b4 reads ws[0] (conv1) and ws[1] (torgb); block k >= 1 reads ws[2k-1], ws[2k], ws[2k+1].
def _keys_16px(arch: str) -> dict[str, int]:
    keys = {"b4.conv1": 0, "b8.conv0": 1, "b8.conv1": 2, "b16.conv0": 3, "b16.conv1": 4, "b16.torgb": 5}
    if arch == "skip":
        keys.update({"b4.torgb": 1, "b8.torgb": 3})
    return keys


def _closed_form(sd, keys, normalize=True):
    """Eigenvectors (rows, largest first) and eigenvalues of A^T A, A the affine weights times their gain."""
    gain = 1 / np.sqrt(W_DIM)  # FullyConnectedLayer: lr_multiplier / sqrt(in_features), lr_multiplier 1
    a = torch.cat([sd[f"synthesis.{k}.affine.weight"].double() * gain for k in keys])
    if normalize:
        a = a / a.norm(dim=1, keepdim=True)
    values, vectors = torch.linalg.eigh(a.T @ a)
    return vectors.flip(1).T.numpy(), values.flip(0).numpy()


def _assert_same_up_to_sign(got, expected, atol=1e-5):
    signs = np.sign(np.sum(got * expected, axis=1, keepdims=True))
    np.testing.assert_allclose(got * signs, expected, atol=atol)


@pytest.mark.parametrize("arch", ["skip", "orig", "resnet"])
def test_sefa_of_an_nvidia_pickle_matches_the_closed_form(tmp_path, tiny_sg2, arch):
    g = tiny_sg2(arch)
    sd = {k: v.clone() for k, v in g.state_dict().items()}
    m = _through_pickle(tmp_path, g)
    keys = _keys_16px(arch)

    # the default: every w index, ToRGB only where no convolution reads the index (the last one), as SeFa does
    sefa_keys = [k for k in keys if not k.endswith("torgb") or keys[k] == 5]
    d = sefa_directions(m, k=6)
    assert d.kind == "sefa" and d.space == "w" and d.layers is None and d.model_sha256 == m.sha256
    vectors, values = _closed_form(sd, sefa_keys)
    assert np.all(np.diff(values[:7]) < -1e-6)  # distinct eigenvalues: directions unique up to sign
    _assert_same_up_to_sign(d.vectors, vectors[:6])
    np.testing.assert_allclose(d.meta["eigenvalues"], values[:6], rtol=1e-9)

    # without normalisation the gain matters: the plain eigenvectors of A^T A of the effective weights
    d_raw = sefa_directions(m, k=4, normalize=False)
    vectors, values = _closed_form(sd, sefa_keys, normalize=False)
    _assert_same_up_to_sign(d_raw.vectors, vectors[:4])
    np.testing.assert_allclose(d_raw.meta["eigenvalues"], values[:4], rtol=1e-9)

    # a layer range: the coarse layers 0-1, with and without the ToRGB that shares index 1 with b8.conv0
    for torgb, chosen in (("sefa", ["b4.conv1", "b8.conv0"]), ("all", [k for k in keys if keys[k] < 2])):
        d_lo = sefa_directions(m, k=3, layers=range(0, 2), torgb=torgb)
        assert d_lo.layers == range(0, 2)
        vectors, _ = _closed_form(sd, chosen)
        _assert_same_up_to_sign(d_lo.vectors, vectors[:3])
    assert len(style_affine_weights(m, range(0, 2), torgb="none")) == 2


def _reading_layers(synthesis, affines, ws, index):
    """Names of the affine layers whose input changes when only ws[:, index] changes (found by running it)."""
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = [
        fc.register_forward_hook(lambda mod, inp, out, name=name: seen.setdefault(name, []).append(inp[0].clone()))
        for name, fc in affines.items()
    ]
    try:
        with torch.no_grad():
            synthesis(ws)
            moved = ws.clone()
            moved[:, index] += 1.0
            synthesis(moved)
    finally:
        for h in hooks:
            h.remove()
    return {name for name, (a, b) in seen.items() if not torch.equal(a, b)}


def _tiny_sg3():
    torch.manual_seed(0)
    cfg = StyleGAN3Config(
        z_dim=8,
        c_dim=0,
        w_dim=12,
        img_resolution=16,
        img_channels=3,
        channel_base=512,
        channel_max=32,
        num_layers=4,
        num_critical=1,
        margin_size=2,
    )
    return StyleGAN3Generator(cfg).eval().requires_grad_(False)


@pytest.mark.parametrize("family", ["skip", "orig", "resnet", "stylegan3"])
def test_each_style_layer_reads_the_w_index_we_assign(tiny_sg2, family):
    g = _tiny_sg3() if family == "stylegan3" else tiny_sg2(family)
    entries = stylegan_affine_layers(g)
    affines = {name: fc for name, _, _, fc in entries}
    ws = torch.randn(1, g.num_ws, g.w_dim, generator=torch.Generator().manual_seed(0))
    for i in range(g.num_ws):
        expected = {name for name, idx, _, _ in entries if idx == i}
        assert _reading_layers(g.synthesis, affines, ws, i) == expected, f"ws[{i}]"
    if family == "stylegan3":  # ws[0] drives only the Fourier input, which is no style layer
        with pytest.raises(ValueError, match="no style layers"):
            style_affine_weights(g, [0])
        assert len(style_affine_weights(g)) == g.num_ws - 1
        weights = style_affine_weights(g, range(1, 3))
        np.testing.assert_allclose(weights[0], g.synthesis.L0_20_32.affine.weight.double().numpy() / np.sqrt(12))


def _anisotropic(g, seed=0, decay=0.7):
    """Give every style affine the same dominant w directions, as trained generators have (that shared structure
    is what SeFa finds): W <- W Q diag(decay^j) Q^T. Returns Q (its first column is the dominant direction)."""
    q, _ = torch.linalg.qr(torch.randn(g.w_dim, g.w_dim, generator=torch.Generator().manual_seed(seed)))
    s = decay ** torch.arange(g.w_dim, dtype=torch.float32)
    with torch.no_grad():
        for _, _, _, fc in stylegan_affine_layers(g):
            fc.weight.copy_(fc.weight @ q @ torch.diag(s) @ q.T * 3)
    return q.numpy()


def _image_change(g, direction, step=1.0, seeds=range(8)):
    """Mean absolute pixel change when every w+ layer of each seed's w moves by +-step along ``direction``."""
    z = torch.from_numpy(np.stack([np.random.RandomState(s).randn(g.z_dim) for s in seeds]).astype(np.float32))
    v = torch.tensor(np.asarray(direction, np.float32))
    with torch.no_grad():
        ws = g.mapping(z)
        base = g.synthesis(ws)
        return float(np.mean([(g.synthesis(ws + sign * step * v) - base).abs().mean() for sign in (1, -1)]))


def test_first_sefa_direction_changes_the_image_more_than_random_ones(tmp_path, tiny_sg2):
    rng = np.random.RandomState(123)
    random_dirs = rng.randn(16, W_DIM)
    random_dirs /= np.linalg.norm(random_dirs, axis=1, keepdims=True)
    results = {}
    for name in ("random init", "anisotropic affines"):
        g = tiny_sg2("skip")
        q = _anisotropic(g) if name == "anisotropic affines" else None
        m = _through_pickle(tmp_path, g)
        d = sefa_directions(m, k=1)
        first = _image_change(m.generator, d.vectors[0])
        others = [_image_change(m.generator, r) for r in random_dirs]
        ratio = first / np.mean(others)
        results[name] = ratio
        print(
            f"{name}: |dx| along SeFa 0 = {first:.4f}, along 16 random unit directions mean {np.mean(others):.4f} "
            f"(max {np.max(others):.4f}); ratio {ratio:.2f}"
        )
        if q is not None:
            assert abs(d.vectors[0] @ q[:, 0]) > 0.95  # SeFa finds the shared dominant direction
            assert first > np.max(others)
    assert results["random init"] > 1.1  # measured 1.21: little structure in random weights, still ahead
    assert results["anisotropic affines"] > 2.0  # measured 2.77


# ---------------------------------------------------------------------------------------------------------------
# BigGAN and sampling


def _tiny_biggan():
    torch.manual_seed(0)
    layers = [[False, 16, 16], [True, 16, 8], [False, 8, 8], [True, 8, 4], [False, 4, 2], [True, 2, 1]]
    cfg = BigGANConfig(z_dim=8, class_embed_dim=8, channel_width=4, num_classes=4, layers=layers)
    return BigGANGenerator(cfg).eval().requires_grad_(False)


def test_biggan_sefa_reads_the_z_columns():
    g = _tiny_biggan()
    first = biggan_z_weights(g, [0])
    assert len(first) == 1 and first[0].shape == (4 * 4 * 16 * 4, 8)
    np.testing.assert_allclose(first[0], g.generator.gen_z.weight[:, :8].double().numpy(), rtol=1e-6)
    assert len(biggan_z_weights(g)) == 1 + 6 * 8  # gen_z, then 4 norms x (gain, offset) per block
    d = sefa_directions(g, k=3)
    assert d.space == "z" and d.layers is None and d.vectors.shape == (3, 8)
    with pytest.raises(ValueError):
        biggan_z_weights(g, [7])


def test_biggan_pca_of_the_first_layer_regressed_to_z_agrees_with_sefa_of_that_layer():
    # For one class the first layer is linear in z, so its features' principal axes, taken back to z by regression,
    # are the top right singular vectors of its z columns: SeFa of that layer without row normalisation.
    g = _tiny_biggan()
    lin = g.generator.gen_z
    with torch.no_grad():  # distinct singular values, as trained weights have (random ones are nearly flat)
        q, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(1)))
        lin.weight_orig[:, :8] = lin.weight_orig[:, :8] @ q @ torch.diag(0.6 ** torch.arange(8.0)) @ q.T
        u, _, vh = torch.linalg.svd(lin.weight_orig)
        lin.weight_u.copy_(u[:, 0])
        lin.weight_v.copy_(vh[0])
    z, feats = sample_biggan_features(g, 2000, seed=0, class_vector=np.eye(4)[1])
    assert z.shape == (2000, 8) and feats.shape == (2000, 1024)
    dirs, stds, _ = pca_directions(feats[:, :64], 2, latents=z)  # any 64 features: still linear in z
    expected, _ = sefa([biggan_z_weights(g, [0])[0][:64]], k=2, normalize=False)
    cos = np.abs(np.sum(dirs * expected, axis=1))
    print(f"BigGAN: |cos| between PCA-regressed and SeFa directions: {np.round(cos, 4)}")
    assert np.all(cos > 0.98)
    np.testing.assert_allclose(stds, 1, atol=0.1)  # z is standard normal along any direction


def test_sample_w_is_the_mapping_of_seeded_z(tiny_sg2):
    g = tiny_sg2("skip", c_dim=3)
    w = sample_w(g, 10, seed=5, batch_size=4)
    assert w.shape == (10, W_DIM) and w.dtype == np.float32
    np.testing.assert_array_equal(w, sample_w(g, 10, seed=5, batch_size=4))
    np.testing.assert_allclose(w, sample_w(g, 10, seed=5), rtol=1e-5, atol=1e-6)  # batching changes only rounding
    rnd = np.random.RandomState(5)
    c = np.eye(3, dtype=np.float32)[rnd.randint(3, size=10)]
    z = rnd.randn(10, 32).astype(np.float32)
    with torch.no_grad():
        expected = g.mapping(torch.from_numpy(z), torch.from_numpy(c))[:, 0].numpy()
    np.testing.assert_allclose(w, expected, rtol=1e-6, atol=1e-6)
    p = Directions.from_pca(sample_w(g, 500, seed=0), 4, model_sha256=None)
    assert p.kind == "pca" and p.vectors.shape == (4, W_DIM) and np.all(np.diff(p.scales) <= 0)
    with pytest.raises(TypeError):
        sample_w(_tiny_biggan(), 4)
