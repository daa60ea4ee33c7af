"""Latents files: z (+ c), w, w+ and the StyleGAN projector's projected_w.npz, with shapes checked."""

from __future__ import annotations

import numpy as np
import pytest

from bigart.latent.files import Latents, LatentsFileError, load_latents


def test_projector_output_and_single_latents(tmp_path):
    w = np.random.RandomState(0).randn(1, 6, 24).astype(np.float32)
    np.savez(tmp_path / "projected_w.npz", w=w)  # what the StyleGAN projector writes
    lat = load_latents(tmp_path / "projected_w.npz", z_dim=32, w_dim=24, num_ws=6)
    assert lat.space == "w" and np.array_equal(lat.ws, w) and len(lat) == 1
    np.savez(tmp_path / "one_wplus.npz", w=w[0])
    assert load_latents(tmp_path / "one_wplus.npz", w_dim=24, num_ws=6).ws.shape == (1, 6, 24)
    np.savez(tmp_path / "one_w.npz", ws=w[0, 0])
    assert load_latents(tmp_path / "one_w.npz", w_dim=24, num_ws=6).ws.shape == (1, 24)


def test_round_trip_z_with_classes(tmp_path):
    z = np.random.RandomState(1).randn(3, 8).astype(np.float32)
    c = np.eye(3, 4, dtype=np.float32)
    Latents(z=z, c=c).save(tmp_path / "z.npz")
    lat = load_latents(tmp_path / "z.npz", z_dim=8, c_dim=4)
    assert np.array_equal(lat.z, z) and np.array_equal(lat.c, c) and lat.space == "z"


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"z": np.zeros((2, 5))}, r"'z' must be \[N, 8\]"),
        ({"z": np.zeros((2, 8)), "c": np.zeros((3, 4))}, r"'c' must be \[2, 4\]"),
        ({"w": np.zeros((2, 5, 24))}, r"'w' must be"),
        ({"w": np.full((1, 24), np.nan)}, "finite"),
        ({"other": np.zeros(3)}, "expected an array named 'z', 'w' or 'ws'"),
    ],
)
def test_bad_latents_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(LatentsFileError, match=message):
        load_latents(tmp_path / "bad.npz", z_dim=8, w_dim=24, num_ws=6, c_dim=4)


def test_pickles_and_garbage_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    for name in ("obj.npy", "junk.npz", "missing.npz"):
        with pytest.raises(LatentsFileError):
            load_latents(tmp_path / name)
