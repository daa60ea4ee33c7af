"""Fréchet distance, PSNR, SSIM and nearest-neighbour distances against closed forms and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bigart.training.metrics import (
    frechet_distance,
    frechet_from_stats,
    gaussian_stats,
    gaussian_window,
    nearest_rms,
    psnr,
    ssim,
)


def _rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# --- Fréchet distance ---------------------------------------------------------------------------------------------


def test_frechet_of_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(300, 16)) @ np.random.default_rng(1).normal(size=(16, 16))
    assert frechet_distance(f, f) == pytest.approx(0, abs=1e-8)
    assert frechet_distance(f, f[::-1]) == pytest.approx(0, abs=1e-8)  # order does not matter


def test_frechet_closed_forms():
    # commuting (diagonal) covariances: |dmu|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    assert frechet_from_stats(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(5 + 1 + 0 + 4)
    # non-commuting: S1 = 4 I, S2 = R diag(1, 9) R^T; tr sqrt(S1 S2) = 2 (1 + 3) = 8, so FD = |dmu|^2 + 8 + 10 - 16
    s2 = _rotation(0.7) @ np.diag([1.0, 9.0]) @ _rotation(0.7).T
    assert frechet_from_stats([0, 0], 4 * np.eye(2), [3, 4], s2) == pytest.approx(25 + 2, abs=1e-9)
    # symmetric in its arguments
    s1 = _rotation(-0.3) @ np.diag([2.0, 0.5]) @ _rotation(-0.3).T
    assert frechet_from_stats([0, 0], s1, [1, 0], s2) == pytest.approx(frechet_from_stats([1, 0], s2, [0, 0], s1))
    # 1-D: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    assert frechet_from_stats([1.0], [[4.0]], [-1.0], [[0.25]]) == pytest.approx(4 + 1.5**2)


def test_frechet_against_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T, b @ b.T
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.real(linalg.sqrtm(s1 @ s2)))
    assert frechet_from_stats(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)


def test_frechet_of_samples_approaches_the_gaussians():
    rng = np.random.default_rng(0)
    s2 = _rotation(0.7) @ np.diag([1.0, 9.0]) @ _rotation(0.7).T
    x = rng.normal(size=(200_000, 2)) * 2
    y = rng.multivariate_normal([3, 4], s2, size=200_000)
    assert frechet_distance(x, y) == pytest.approx(27, rel=0.01)
    mu, cov = gaussian_stats(y)
    assert np.allclose(mu, [3, 4], atol=0.03) and np.allclose(cov, s2, atol=0.1)


def test_frechet_with_fewer_samples_than_dimensions_stays_finite():
    rng = np.random.default_rng(0)
    d = frechet_distance(rng.normal(size=(5, 32)), rng.normal(size=(7, 32)))  # singular covariances
    assert np.isfinite(d) and d > 0


# --- PSNR and SSIM ------------------------------------------------------------------------------------------------


def test_psnr_hand_values():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a, a) == float("inf")
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255), abs=1e-12)  # MSE 1: 48.13 dB
    b = a.copy()
    b[0, 0, 0] = 110  # MSE = 100 / 192
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 * 192 / 100))


def test_ssim_identical_is_one():
    a = np.random.default_rng(0).integers(0, 256, (20, 24, 3)).astype(np.uint8)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a[..., 0], a[..., 0]) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    c1 = (0.01 * 255) ** 2
    a, b = np.full((16, 16), 100.0), np.full((16, 16), 150.0)
    assert ssim(a, b) == pytest.approx((2 * 100 * 150 + c1) / (100**2 + 150**2 + c1), abs=1e-12)


def test_ssim_of_a_shifted_ramp_by_hand():
    """A horizontal ramp a[i, j] = s j and b = a + d: inside every window the variances and the covariance are equal
    (so the contrast-structure term is 1) and the local means are s c and s c + d at window centre column c."""
    s, d, w = 7.0, 30.0, 24
    a = np.tile(np.arange(w) * s, (16, 1))
    b = a + d
    c1 = (0.01 * 255) ** 2
    mu = s * np.arange(5, w - 5)  # valid centre columns
    expected = np.mean((2 * mu * (mu + d) + c1) / (mu**2 + (mu + d) ** 2 + c1))
    assert ssim(a, b) == pytest.approx(expected, abs=1e-12)
    # b = k a (no offset): means k mu, variances k^2 v, covariance k v with v = s^2 sum g_i (i - 5)^2
    k, c2 = 0.5, (0.03 * 255) ** 2
    g = gaussian_window()
    v = s**2 * (g * (np.arange(11) - 5) ** 2).sum()
    lum = (2 * mu * k * mu + c1) / (mu**2 + (k * mu) ** 2 + c1)
    cs = (2 * k * v + c2) / (v + k**2 * v + c2)
    assert ssim(a, k * a) == pytest.approx(np.mean(lum * cs), abs=1e-9)


def test_ssim_against_skimage():
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 40, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    ref = metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1
    )
    assert ssim(a, b) == pytest.approx(ref, abs=1e-9)


def test_ssim_window_and_errors():
    g = gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1) and g.argmax() == 5
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(np.zeros((16, 16)), np.zeros((16, 17)))


# --- nearest neighbours -------------------------------------------------------------------------------------------


def test_nearest_rms():
    pool = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 10, 100, 200)])
    q = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (12, 200, 140)])
    assert nearest_rms(q, pool).tolist() == [2.0, 0.0, 40.0]
    assert nearest_rms(pool[:3], pool, exclude_self=True).tolist() == [10.0, 10.0, 90.0]
