"""Image-set metrics, numpy only: Fréchet distance of feature sets, PSNR, SSIM and nearest-neighbour distances.

``frechet_distance`` is the FID formula (Heusel et al. 2017) on any features:
``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``. The trace of the matrix square root is computed from symmetric
products only: ``tr (S1 S2)^(1/2) = sum sqrt(eig(A S2 A))`` with ``A = S1^(1/2)``, both by ``eigh``, so nothing
complex appears and no scipy is needed. ``ssim`` is Wang et al. (2004): an 11x11 Gaussian window (sigma 1.5),
K1 = 0.01, K2 = 0.03, averaged over the region where the window fits and over channels.
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (``N - 1`` normalised, float64) of features ``[N, D]``."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need features [N >= 2, D], got {list(f.shape)}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative rounding noise clipped to 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_from_stats(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, s1)`` and ``N(mu2, s2)``."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched statistics: {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    a = _sqrt_psd(s1)
    m = a @ s2 @ a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(d, 0.0)


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets ``[N1, D]`` and ``[N2, D]``."""
    return frechet_from_stats(*gaussian_stats(f1), *gaussian_stats(f2))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two images of the same shape; ``inf`` when they are equal."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The normalised 1-D Gaussian whose outer product is SSIM's window."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable correlation of ``[H, W, C]`` with ``g`` on both spatial axes, where the window fits."""
    k = len(g)
    rows = np.lib.stride_tricks.sliding_window_view(x, k, axis=0) @ g  # [H-k+1, W, C]
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=1) @ g  # [H-k+1, W-k+1, C]


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    data_range: float = 255.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Structural similarity of two images ``[H, W]`` or ``[H, W, C]`` (1 for equal images), averaged over the
    positions where the window fits and over channels; population (not sample) statistics, as Wang et al."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if a.ndim != 3 or min(a.shape[:2]) < window:
        raise ValueError(f"SSIM needs images [H, W(, C)] of at least {window} x {window}, got {list(a.shape)}")
    g = gaussian_window(window, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a**2
    var_b = _filter_valid(b * b, g) - mu_b**2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def nearest_rms(queries: np.ndarray, pool: np.ndarray, exclude_self: bool = False, chunk: int = 64) -> np.ndarray:
    """For each query image, the RMS pixel difference (in the images' units) to its nearest image in ``pool``.

    ``queries [K, ...]`` and ``pool [N, ...]`` share their image shape. With ``exclude_self`` the queries are
    ``pool[:K]`` and each one's own entry is skipped.
    """
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    p = np.asarray(pool, np.float32).reshape(len(pool), -1)
    if q.shape[1] != p.shape[1]:
        raise ValueError(f"queries and pool differ in image size: {queries.shape[1:]} and {pool.shape[1:]}")
    p_sq = (p.astype(np.float64) ** 2).sum(1)
    out = np.empty(len(q))
    for i in range(0, len(q), chunk):
        qi = q[i : i + chunk]
        d2 = (qi.astype(np.float64) ** 2).sum(1)[:, None] + p_sq[None] - 2 * (qi @ p.T).astype(np.float64)
        if exclude_self:
            d2[np.arange(len(qi)), np.arange(i, i + len(qi))] = np.inf
        j = d2.argmin(1)
        # the expansion loses precision for near neighbours: measure the winners exactly
        exact = ((qi.astype(np.float64) - p[j].astype(np.float64)) ** 2).mean(1)
        out[i : i + len(qi)] = np.sqrt(exact)
    return out
