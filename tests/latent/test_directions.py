"""SeFa and PCA directions in numpy, and direction files: closed forms, invariances, round trips, bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigart.latent import Directions, DirectionsFileError, pca_directions, sefa
from bigart.latent import directions as directions_module

FAST = settings(max_examples=30, deadline=None)


def _align(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``got`` with each row's sign flipped to match ``expected`` (eigenvectors have no sign of their own)."""
    return got * np.sign(np.sum(got * expected, axis=1, keepdims=True))


@st.composite
def weight_sets(draw):
    dim = draw(st.integers(2, 8))
    n = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    return [rng.randn(draw(st.integers(1, 12)), dim) * rng.uniform(0.1, 10) for _ in range(n)]


# ---------------------------------------------------------------------------------------------------------------
# SeFa


@FAST
@given(weight_sets())
def test_sefa_is_the_eigenbasis_of_the_row_normalised_stack(weights):
    dirs, values = sefa(weights)
    dim = weights[0].shape[1]
    assert dirs.shape == (dim, dim) and values.shape == (dim,)
    np.testing.assert_allclose(dirs @ dirs.T, np.eye(dim), atol=1e-9)  # orthonormal rows
    assert np.all(np.diff(values) <= 1e-9)  # largest first
    # independent closed form: singular values / right singular vectors of the stack of unit rows
    a = np.concatenate([w / np.linalg.norm(w, axis=1, keepdims=True) for w in weights])
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(values[: len(s)], s**2, rtol=1e-7, atol=1e-9)
    gram = a.T @ a
    np.testing.assert_allclose(gram @ dirs.T, dirs.T * values, atol=1e-8 * (1 + values.max()))
    # sign convention: each row's largest-magnitude entry is positive
    assert np.all(dirs[np.arange(dim), np.abs(dirs).argmax(axis=1)] > 0)


@FAST
@given(weight_sets(), st.integers(0, 2**16))
def test_sefa_ignores_row_scales_and_row_order(weights, seed):
    rng = np.random.RandomState(seed)
    scaled = [w * rng.uniform(0.01, 100, size=(len(w), 1)) for w in weights]
    shuffled = [w[rng.permutation(len(w))] for w in reversed(scaled)]
    (d1, v1), (d2, v2) = sefa(weights), sefa(shuffled)
    np.testing.assert_allclose(v1, v2, rtol=1e-8, atol=1e-10)
    gap = np.min(np.abs(np.diff(v1))) if len(v1) > 1 else 1.0
    if gap > 1e-3:  # well-separated eigenvalues: unique directions
        np.testing.assert_allclose(d1, d2, atol=1e-6)


def test_sefa_without_normalisation_is_the_plain_svd():
    rng = np.random.RandomState(0)
    weights = [rng.randn(7, 5) * 3, rng.randn(4, 5)]
    dirs, values = sefa(weights, k=3, normalize=False)
    _, s, vt = np.linalg.svd(np.concatenate(weights), full_matrices=False)
    np.testing.assert_allclose(values, s[:3] ** 2, rtol=1e-10)
    np.testing.assert_allclose(_align(dirs, vt[:3]), vt[:3], atol=1e-10)


def test_sefa_degenerate_inputs():
    with pytest.raises(ValueError):
        sefa([])
    with pytest.raises(ValueError):
        sefa([np.ones((3, 4)), np.ones((3, 5))])
    with pytest.raises(ValueError):
        sefa([np.ones((3, 4))], k=5)
    with pytest.raises(ValueError):
        sefa([np.full((3, 4), np.nan)])
    dirs, values = sefa([np.zeros((3, 4)), np.eye(4)[:1]], k=2)  # zero rows stay zero, no NaN
    assert np.all(np.isfinite(dirs)) and values[0] == pytest.approx(1.0)
    np.testing.assert_allclose(dirs[0], [1, 0, 0, 0])


# ---------------------------------------------------------------------------------------------------------------
# PCA


def test_pca_recovers_the_axes_of_an_anisotropic_cloud():
    rng = np.random.RandomState(0)
    basis = np.linalg.qr(rng.randn(6, 6))[0]
    stds = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    mean = rng.randn(6)
    samples = (rng.randn(20000, 6) * stds) @ basis.T + mean
    comps, got_stds, got_mean = pca_directions(samples, 3)
    assert comps.shape == (3, 6)
    np.testing.assert_allclose(comps @ comps.T, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(got_mean, samples.mean(axis=0))
    np.testing.assert_allclose(got_stds, stds[:3], rtol=0.03)
    np.testing.assert_allclose(np.abs(np.sum(comps * basis.T[:3], axis=1)), 1, atol=1e-3)
    # the same as the SVD of the centred samples
    _, s, vt = np.linalg.svd(samples - samples.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(got_stds, s[:3] / np.sqrt(len(samples) - 1), rtol=1e-9)
    np.testing.assert_allclose(_align(comps, vt[:3]), vt[:3], atol=1e-9)


def test_pca_of_wide_samples_uses_a_randomised_but_exact_enough_solver(monkeypatch):
    monkeypatch.setattr(directions_module, "_EXACT_PCA_MAX_DIM", 16)  # so 40 features take the wide-data path
    rng = np.random.RandomState(1)
    d = 40
    signal = rng.randn(30, 3) * [10.0, 6.0, 3.0]
    samples = signal @ np.linalg.qr(rng.randn(d, 3))[0].T + 0.01 * rng.randn(30, d)
    comps, stds, _ = pca_directions(samples, 3)
    _, s, vt = np.linalg.svd(samples - samples.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(stds, s[:3] / np.sqrt(29), rtol=1e-6)
    np.testing.assert_allclose(_align(comps, vt[:3]), vt[:3], atol=1e-5)
    np.testing.assert_array_equal(pca_directions(samples, 3)[0], comps)  # deterministic


def test_pca_transfers_feature_components_to_the_latent_by_regression():
    # features linear in the latent: their principal axes come from the left singular vectors of the map
    rng = np.random.RandomState(2)
    u = np.linalg.qr(rng.randn(5, 5))[0]
    v = np.linalg.qr(rng.randn(12, 5))[0]
    m = u @ np.diag([8.0, 4.0, 2.0, 1.0, 0.5]) @ v.T  # [L=5, F=12]
    z = rng.randn(40000, 5)
    dirs, stds, z_mean = pca_directions(z @ m, 2, latents=z)
    assert dirs.shape == (2, 5)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1)
    np.testing.assert_allclose(np.abs(np.sum(dirs * u.T[:2], axis=1)), 1, atol=2e-3)
    np.testing.assert_allclose(stds, 1, atol=0.03)  # z has unit variance along any direction
    np.testing.assert_allclose(z_mean, z.mean(axis=0))
    with pytest.raises(ValueError):
        pca_directions(z @ m, 2, latents=z[:10])


def test_pca_degenerate_inputs():
    with pytest.raises(ValueError):
        pca_directions(np.ones((1, 4)), 1)
    with pytest.raises(ValueError):
        pca_directions(np.ones((5, 4)), 5)
    with pytest.raises(ValueError):
        pca_directions(np.array([[np.nan, 1.0], [1.0, 2.0], [3.0, 4.0]]), 1)
    comps, stds, _ = pca_directions(np.ones((5, 4)), 2)  # no variance at all: zero stds, still unit axes
    np.testing.assert_allclose(stds, 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(comps, axis=1), 1)


# ---------------------------------------------------------------------------------------------------------------
# Directions values and files


def _example(kind="sefa", layers=range(0, 4)) -> Directions:
    rng = np.random.RandomState(0)
    return Directions(
        rng.randn(3, 8),
        ("pose", "smile", "Ähnlichkeit ✓"),
        kind=kind,
        space="w",
        layers=layers,
        model_sha256="ab" * 32,
        scales=[1.0, 2.0, 0.5],
        meta={"eigenvalues": [3.0, 2.0, 1.0], "note": "from tests"},
    )


def _same(a: Directions, b: Directions) -> None:
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.scales, b.scales)
    assert (a.names, a.kind, a.space, a.layers, a.model_sha256, a.meta) == (
        b.names,
        b.kind,
        b.space,
        b.layers,
        b.model_sha256,
        b.meta,
    )


def test_save_load_round_trip(tmp_path):
    d = _example()
    path = tmp_path / "my directions.npz"
    d.save(path)
    loaded = Directions.load(path)
    _same(loaded, d)
    # the file is a plain npz: no pickles, header as JSON text
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["header", "scales", "vectors"]
        header = json.loads(str(f["header"]))
    assert header["format"] == "bigart-directions" and header["names"][2] == "Ähnlichkeit ✓"
    # the name is kept as given (np.savez would append .npz to a bare name)
    d.save(tmp_path / "shared.dirs")
    _same(Directions.load(tmp_path / "shared.dirs"), d)


@FAST
@given(
    st.integers(1, 4),
    st.integers(1, 6),
    st.lists(st.text(max_size=12), min_size=4, max_size=4),
    st.sampled_from(["sefa", "pca", "user"]),
    st.one_of(st.none(), st.builds(lambda a, n: range(a, a + n), st.integers(0, 10), st.integers(1, 8))),
)
def test_save_load_round_trip_property(tmp_path_factory, k, dim, names, kind, layers):
    d = Directions(np.random.RandomState(k).randn(k, dim), tuple(names[:k]), kind=kind, layers=layers)
    path = tmp_path_factory.mktemp("dirs") / "d.npz"
    d.save(path)
    _same(Directions.load(path), d)


def test_bad_files_raise_one_error_type(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(DirectionsFileError, match="no such"):
        Directions.load(missing)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(DirectionsFileError):
        Directions.load(garbage)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(DirectionsFileError, match="not a bigart directions file"):
        Directions.load(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, vectors=np.ones((1, 2)), scales=np.ones(1), header=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(DirectionsFileError):
        Directions.load(pickled)  # an object array needs pickle: refused
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, vectors=np.ones((2, 3)), scales=np.ones(2), header=np.array(json.dumps({"format": "x"})))
    with pytest.raises(DirectionsFileError, match="damaged"):
        Directions.load(wrong)
    bad_names = tmp_path / "bad_names.npz"
    header = dict(_example().header(), names=["only one"])
    np.savez(bad_names, vectors=np.ones((2, 3)), scales=np.ones(2), header=np.array(json.dumps(header)))
    with pytest.raises(DirectionsFileError, match="names"):
        Directions.load(bad_names)
    truncated = tmp_path / "truncated.npz"
    _example().save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(DirectionsFileError):
        Directions.load(truncated)
    assert zipfile.is_zipfile(tmp_path / "other.npz")


def test_apply_adds_the_weighted_sum_on_the_chosen_layers():
    d = _example()
    rng = np.random.RandomState(1)
    w = rng.randn(2, 6, 8).astype(np.float32)
    out = d.apply(w, [1.0, -2.0])  # shorter than k: the rest are 0
    delta = (1.0 * d.vectors[0].astype(np.float64) - 2.0 * d.vectors[1]).astype(np.float32)
    assert out.dtype == np.float32 and out.shape == w.shape
    np.testing.assert_allclose(out[:, :4], w[:, :4] + delta, rtol=1e-6, atol=1e-6)  # the directions' own layers
    np.testing.assert_array_equal(out[:, 4:], w[:, 4:])
    np.testing.assert_allclose(d.apply(w, [1.0, -2.0], layers="all"), w + delta, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d.apply(w, {"smile": -2.0, 0: 1.0}), out)  # by name or position
    only5 = d.apply(w, [0, 0, 3.0], layers=[5])
    np.testing.assert_allclose(only5[:, 5], w[:, 5] + 3 * d.vectors[2], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(only5[:, :5], w[:, :5])
    assert np.array_equal(d.apply(w, [0.0]), w) and d.apply(w, [0.0]) is not w
    for bad in ([1, 2, 3, 4], [np.nan]):
        with pytest.raises(ValueError):
            d.apply(w, bad)
    with pytest.raises(ValueError):
        d.apply(w[..., :7], [1.0])  # wrong w_dim
    with pytest.raises(ValueError):
        d.apply(w[0, 0], [1.0])  # layers chosen but no layer axis
    with pytest.raises(ValueError):
        d.apply(w[:, :3], [1.0])  # layers 0-3 do not exist in 3 layers
    with pytest.raises(KeyError):
        d.apply(w, {"frown": 1.0})


def test_z_space_directions_and_user_directions():
    rng = np.random.RandomState(2)
    a, b = rng.randn(16), rng.randn(16)
    d = Directions.between(a, b, "a to b", space="z")
    assert d.kind == "user" and d.names == ("a to b",)
    np.testing.assert_allclose(d.apply(a, [d.scales[0]]), b, rtol=1e-5, atol=1e-5)  # one scale step goes a -> b
    z = rng.randn(5, 16)
    np.testing.assert_allclose(d.apply(z, [1.0]), z + d.vectors[0], rtol=1e-6)
    with pytest.raises(ValueError):
        Directions.between(a, a, "nothing")
    with pytest.raises(ValueError):
        Directions(np.ones((1, 4)), space="z", layers=range(2))


def test_directions_are_validated_frozen_values():
    d = _example()
    with pytest.raises(AttributeError):
        d.kind = "pca"  # type: ignore[misc]
    with pytest.raises(ValueError):
        d.vectors[0, 0] = 1  # read-only
    assert Directions(np.ones((2, 3)), kind="pca").names == ("pca 0", "pca 1")
    renamed = d.renamed("smile", "grin")
    assert renamed.names == ("pose", "grin", "Ähnlichkeit ✓") and d.names[1] == "smile"
    sub = d.select(["Ähnlichkeit ✓", 0])
    assert sub.names == ("Ähnlichkeit ✓", "pose") and sub.meta["eigenvalues"] == [1.0, 3.0]
    np.testing.assert_array_equal(sub.scales, [0.5, 1.0])
    assert Directions(np.ones((1, 3)), layers=[3, 2, 4]).layers == range(2, 5)
    for bad in (
        dict(vectors=np.ones(3)),
        dict(vectors=np.ones((2, 3)), names=("one",)),
        dict(vectors=np.ones((2, 3)), kind="magic"),
        dict(vectors=np.ones((2, 3)), space="x"),
        dict(vectors=np.ones((2, 3)), layers=[0, 2]),
        dict(vectors=np.ones((2, 3)), scales=[1.0]),
        dict(vectors=np.full((2, 3), np.inf)),
        dict(vectors=np.ones((2, 3)), meta={"x": object()}),
    ):
        with pytest.raises(ValueError):
            Directions(**bad)


def test_from_sefa_and_from_pca():
    rng = np.random.RandomState(3)
    weights = [rng.randn(10, 6), rng.randn(4, 6)]
    d = Directions.from_sefa(weights, k=4, layers=range(2, 6), model_sha256="00" * 32)
    dirs, values = sefa(weights, k=4)
    np.testing.assert_allclose(d.vectors, dirs, rtol=1e-6)
    assert d.kind == "sefa" and d.layers == range(2, 6) and d.names[0] == "SeFa 0"
    np.testing.assert_allclose(d.meta["eigenvalues"], values)
    samples = rng.randn(500, 6) * [3, 2, 1, 1, 1, 1]
    p = Directions.from_pca(samples, 2)
    comps, stds, _ = pca_directions(samples, 2)
    np.testing.assert_allclose(p.vectors, comps, rtol=1e-6)
    np.testing.assert_allclose(p.scales, stds, rtol=1e-6)
    assert p.kind == "pca" and p.meta["samples"] == 500
