"""BigGAN latents: seed -> truncated-normal z, compatible with the reference scripts, in numpy only.

``pytorch_pretrained_biggan``'s ``truncated_noise_sample(batch, dim_z, truncation, seed)`` draws
``truncation * scipy.stats.truncnorm.rvs(-2, 2, size=(batch, dim_z), random_state=RandomState(seed))`` as float32.
scipy samples that by inversion: ``q = RandomState.uniform(size)``, then the truncated normal's quantile
``ndtri_exp(logaddexp(log Phi(-2), log q + log(Phi(2) - Phi(-2))))``. We do the same steps in the same order:
the uniform draws are numpy's own, the log-sum-exp uses numpy's ufuncs as scipy does, and the inverse normal CDF
is the Cephes rational approximation (S. L. Moshier's Cephes Math Library, as in ``scipy.special.ndtri`` /
``ndtri_exp``, BSD-licensed), evaluated with the C library's ``exp``/``log`` through :mod:`math`, as scipy's
compiled code does. The result is bit-identical to scipy's float64 draws (checked on 1.5 million values against
scipy 1.17) and hence to the reference's float32 output, without depending on scipy.
"""

from __future__ import annotations

import math

import numpy as np

from bigart.latent.seeds import MAX_SEED

BIGGAN_Z_DIM = 128
TRUNCATION_BOUND = 2.0  # z is drawn from N(0, 1) truncated to [-2, 2], then scaled by the truncation

# scipy's constants for the interval [-2, 2], exactly as it computes them:
# log_ndtr(-2) and log1p(-ndtr(-2) - ndtr(-2)) (the log of the probability mass inside).
_LOG_PHI_LOW = float.fromhex("-0x1.e43f625df3b24p+1")
_LOG_MASS = float.fromhex("-0x1.7d7bfd8ad78c5p-5")

# Cephes ndtri: P0/Q0 for |p - 0.5| <= 3/8, P1/Q1 for the tail with sqrt(-2 log p) in [2, 8] (our range).
_P0 = (
    -5.99633501014107895267e1,
    9.80010754185999661536e1,
    -5.66762857469070293439e1,
    1.39312609387279679503e1,
    -1.23916583867381258016e0,
)
_Q0 = (
    1.95448858338141759834e0,
    4.67627912898881538453e0,
    8.63602421390890590575e1,
    -2.25462687854119370527e2,
    2.00260212380060660359e2,
    -8.20372256168333339912e1,
    1.59056225126211695515e1,
    -1.18331621121330003142e0,
)
_P1 = (
    4.05544892305962419923e0,
    3.15251094599893866154e1,
    5.71628192246421288162e1,
    4.40805073893200834700e1,
    1.46849561928858024014e1,
    2.18663306850790267539e0,
    -1.40256079171354495875e-1,
    -3.50424626827848203418e-2,
    -8.57456785154685413611e-4,
)
_Q1 = (
    1.57799883256466749731e1,
    4.53907635128879210584e1,
    4.13172038254672030440e1,
    1.50425385692907503408e1,
    2.50464946208309415979e0,
    -1.42182922854787788574e-1,
    -3.80806407691578277194e-2,
    -9.33259480895457427372e-4,
)
_SQRT_2PI = 2.50662827463100050242e0
_EXP_M2 = 0.13533528323661269189  # exp(-2)
_LOG_1M_EXP_M2 = math.log1p(-math.exp(-2.0))

# The C library's functions elementwise: numpy's vectorised exp/log may differ from them in the last bit.
_c_exp = np.frompyfunc(math.exp, 1, 1)
_c_log = np.frompyfunc(math.log, 1, 1)
_c_expm1 = np.frompyfunc(math.expm1, 1, 1)


def _libm(f: np.ufunc, x: np.ndarray) -> np.ndarray:
    return f(x).astype(np.float64) if x.size else x.copy()


def _horner(x: np.ndarray, coefs: tuple[float, ...], monic: bool = False) -> np.ndarray:
    """``c0 x^n + ... + cn`` (with a leading 1 when ``monic``), evaluated in Cephes' order."""
    acc = x + coefs[0] if monic else np.full_like(x, coefs[0])
    for c in coefs[1:]:
        acc = acc * x + c
    return acc


def _tail(x: np.ndarray) -> np.ndarray:
    """``-ndtri(p)`` for small ``p`` given ``x = sqrt(-2 log p)`` (2 <= x < 8)."""
    z = 1.0 / x
    return (x - _libm(_c_log, x) / x) - z * _horner(z, _P1) / _horner(z, _Q1, monic=True)


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF for ``p`` in (exp(-32), 1 - exp(-32))."""
    upper = p > 1.0 - _EXP_M2
    y = np.where(upper, 1.0 - p, p)
    out = np.empty_like(p)
    central = y > _EXP_M2
    w = y[central] - 0.5
    w2 = w * w
    out[central] = (w + w * (w2 * _horner(w2, _P0) / _horner(w2, _Q0, monic=True))) * _SQRT_2PI
    tail = ~central
    t = _tail(np.sqrt(-2.0 * _libm(_c_log, y[tail])))
    out[tail] = np.where(upper[tail], t, -t)
    return out


def _ndtri_exp(y: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF of ``exp(y)``, by scipy's three cases."""
    out = np.empty_like(y)
    small = y < -2.0
    large = y > _LOG_1M_EXP_M2
    middle = ~(small | large)
    out[small] = -_tail(np.sqrt(-2.0 * y[small]))
    out[large] = -_ndtri(-_libm(_c_expm1, y[large]))
    out[middle] = _ndtri(_libm(_c_exp, y[middle]))
    return out


def truncated_normal(random_state: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
    """float64 draws from N(0, 1) truncated to [-2, 2], as ``scipy.stats.truncnorm.rvs(-2, 2, ...)`` makes them."""
    q = random_state.uniform(size=shape)
    with np.errstate(divide="ignore"):  # q == 0 gives log 0 = -inf, then exactly the lower bound's quantile
        b = np.log(q) + _LOG_MASS
    hi = np.maximum(_LOG_PHI_LOW, b)
    lo = np.minimum(_LOG_PHI_LOW, b)
    y = np.log1p(np.exp(lo - hi)) + 0.0 + hi  # scipy.special.logsumexp of two terms, same operations
    return _ndtri_exp(y)


def truncated_z(seed: int, dim: int = BIGGAN_Z_DIM, truncation: float = 1.0, batch: int = 1) -> np.ndarray:
    """``[batch, dim]`` float32: the reference's ``truncated_noise_sample(batch, dim, truncation, seed)``, exactly.

    All rows come from one generator seeded with ``seed`` (so seed N with batch 1 is row 0 of seed N with batch 4).
    Values lie in ``[-2 * truncation, 2 * truncation]``.
    """
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed {seed} out of range 0..{MAX_SEED}")
    t = float(truncation)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"BigGAN truncation must be in (0, 1], got {truncation}")
    if dim < 1 or batch < 0:
        raise ValueError(f"need dim >= 1 and batch >= 0, got dim={dim}, batch={batch}")
    values = truncated_normal(np.random.RandomState(int(seed)), (int(batch), int(dim))).astype(np.float32)
    return np.float32(t) * values


def truncated_z_from_seeds(
    seeds: list[int] | tuple[int, ...], dim: int = BIGGAN_Z_DIM, truncation: float = 1.0
) -> np.ndarray:
    """One row per seed, each ``truncated_z(seed, dim, truncation)``: ``[len(seeds), dim]`` float32."""
    if len(seeds) == 0:
        return np.zeros((0, dim), np.float32)
    return np.concatenate([truncated_z(s, dim, truncation) for s in seeds])
