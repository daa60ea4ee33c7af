"""BigGAN latents: seed -> truncated normal z, equal to the reference's ``truncated_noise_sample``."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from bigart.latent.biggan import _ndtri, _ndtri_exp, truncated_z, truncated_z_from_seeds

# truncated_noise_sample(batch, 128, truncation, seed) from pytorch_pretrained_biggan with scipy 1.17.1
REFERENCE = [
    (
        (0, 1, 1.0),
        (0, slice(0, 6)),
        ["0.117056794", "0.5399905", "0.24840021", "0.107593656", "-0.18368949", "0.35647053"],
    ),
    ((0, 2, 0.4), (1, slice(0, 4)), ["0.15724912", "-0.21018699", "0.114488535", "-0.06850392"]),
    ((123, 1, 0.5), (0, slice(125, 128)), ["0.8849347", "-0.3085658", "0.07729876"]),
]


@pytest.mark.parametrize(("args", "where", "values"), REFERENCE)
def test_known_values(args, where, values):
    seed, batch, truncation = args
    z = truncated_z(seed, 128, truncation, batch)
    np.testing.assert_array_equal(z[where], np.array(values, np.float32))


@pytest.mark.parametrize("truncation", [0.05, 0.4, 1.0])
def test_shape_dtype_bounds(truncation):
    z = truncated_z(7, 128, truncation, batch=64)
    assert z.shape == (64, 128) and z.dtype == np.float32
    assert np.abs(z).max() <= 2 * truncation
    assert abs(float(z.mean())) < 0.05 * truncation
    # N(0, 1) truncated to [-2, 2] has standard deviation 0.8796
    assert abs(float(z.std()) / truncation - 0.8796) < 0.02


def test_scaling_and_batches_share_one_stream():
    full = truncated_z(5, 16, 1.0, batch=4)
    np.testing.assert_array_equal(truncated_z(5, 16, 1.0, batch=1)[0], full[0])
    np.testing.assert_array_equal(truncated_z(5, 16, 0.5), np.float32(0.5) * full[:1])
    rows = truncated_z_from_seeds([3, 9], 16, 0.7)
    np.testing.assert_array_equal(rows, np.concatenate([truncated_z(3, 16, 0.7), truncated_z(9, 16, 0.7)]))
    assert truncated_z_from_seeds([], 16).shape == (0, 16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"truncation": 0.0}, "truncation"), ({"truncation": 1.5}, "truncation"), ({"seed": -1}, "seed")],
)
def test_bad_arguments(kwargs, message):
    args = {"seed": 0, "dim": 8, "truncation": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        truncated_z(**args)


def test_inverse_normal_cdf_is_accurate():
    """An independent check of the quantile: the standard library's inverse CDF (Wichura's AS241)."""
    p = np.concatenate([np.linspace(0.02, 0.98, 501), [0.0228, 0.1353, 0.1354, 0.8646, 0.8647, 0.9772]])
    expected = np.array([NormalDist().inv_cdf(v) for v in p])
    np.testing.assert_allclose(_ndtri(p), expected, rtol=1e-14, atol=1e-15)
    y = np.log(p)  # covers all three cases of ndtri_exp: y < -2, the middle, y > log(1 - exp(-2))
    np.testing.assert_allclose(_ndtri_exp(y), expected, rtol=1e-14, atol=1e-15)
