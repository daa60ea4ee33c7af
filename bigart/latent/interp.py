"""Interpolation between latents: lerp, slerp, and paths through several keyframes (optionally looping).

Vectors lie along the last axis. Both ``lerp`` and ``slerp`` broadcast their two inputs against each other and
take ``t`` as a scalar or an array: an array ``t`` of shape ``S`` gives a result of shape ``S + shape(a, b)``,
one interpolated latent per value of ``t``. Values of ``t`` outside [0, 1] extrapolate.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Mode = Literal["linear", "slerp", "cubic"]
MODES = ("linear", "slerp", "cubic")
EASINGS = (None, "ease-in-out")

# Unit vectors whose rejection (the part of one orthogonal to the other) is shorter than this are treated as
# parallel or anti-parallel: the plane they span is numerically undefined, so a fixed one is chosen.
_PARALLEL = 1e-7
# Vectors shorter than this have no direction; slerp falls back to lerp.
_TINY = 1e-30


def _result_dtype(*arrays: np.ndarray) -> np.dtype:
    dt = np.result_type(*arrays)
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def _prepare(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a and b broadcast to one shape; t shaped ``S + (1,) * a.ndim`` so it broadcasts over whole latents."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    t = np.asarray(t, dtype=np.float64)
    return a, b, t.reshape(t.shape + (1,) * a.ndim)


def lerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Linear interpolation ``a + t * (b - a)``; exactly ``a`` at t = 0 and exactly ``b`` at t = 1."""
    dtype = _result_dtype(np.asarray(a), np.asarray(b))
    a, b, tt = _prepare(a, b, t)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    out = a64 + tt * (b64 - a64)
    out = np.where(tt == 1, b64, out)  # a + (b - a) can differ from b in the last bit
    return out.astype(dtype)


def _orthogonal_unit(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to each unit vector ``u`` (last axis), chosen deterministically: the coordinate axis
    along which ``u`` is smallest (the first such axis on ties), with its component along ``u`` removed."""
    k = np.argmin(np.abs(u), axis=-1)[..., None]
    e = np.zeros_like(u)
    np.put_along_axis(e, k, 1.0, axis=-1)
    p = e - np.take_along_axis(u, k, axis=-1) * u
    return p / np.linalg.norm(p, axis=-1, keepdims=True)


def _slerp_core(a: np.ndarray, b: np.ndarray, tt: np.ndarray) -> np.ndarray:
    """slerp in float64 where ``tt`` already broadcasts against ``a`` and ``b``."""
    if a.ndim == 0 or a.shape[-1] < 2:
        return np.where(tt == 1, b, a + tt * (b - a))
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    has_direction = (na > _TINY) & (nb > _TINY)
    ua = a / np.where(has_direction, na, 1.0)
    ub = b / np.where(has_direction, nb, 1.0)
    c = np.sum(ua * ub, axis=-1, keepdims=True)
    rejection = ub - c * ua  # the part of ub orthogonal to ua: it spans the great circle's plane with ua
    s = np.linalg.norm(rejection, axis=-1, keepdims=True)
    omega = np.arctan2(s, c)  # the angle, accurate everywhere (arccos is not, near 0 and pi)
    parallel = s <= _PARALLEL
    p = np.where(parallel, _orthogonal_unit(ua), rejection / np.where(parallel, 1.0, s))
    direction = np.cos(tt * omega) * ua + np.sin(tt * omega) * p
    out = np.where(has_direction, direction * (na + tt * (nb - na)), a + tt * (b - a))
    return np.where(tt == 0, a, np.where(tt == 1, b, out))


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation: the direction moves along the great circle from ``a`` to ``b`` at constant angular
    speed, while the length goes linearly from ``|a|`` to ``|b|`` (so two latents of equal norm give a path of that
    norm, and the result is a lerp of the lengths on a slerp of the directions).

    Degenerate inputs never give NaN: equal directions stay on that direction (equal vectors give ``a`` for every
    t); opposite directions have no unique great circle, so the path turns through a fixed direction orthogonal to
    ``a`` (the coordinate axis where ``a`` is smallest, made orthogonal), the same every time; a zero vector has no
    direction, and then the result is ``lerp(a, b, t)``; 1-D latents are always lerped. The ends are exact: ``a``
    at t = 0, ``b`` at t = 1.
    """
    dtype = _result_dtype(np.asarray(a), np.asarray(b))
    a, b, tt = _prepare(a, b, t)
    return _slerp_core(a.astype(np.float64), b.astype(np.float64), tt).astype(dtype)


def ease(t: np.ndarray, easing: str | None) -> np.ndarray:
    """Reshape the time within a segment: None keeps it linear; ``'ease-in-out'`` is ``(1 - cos(pi t)) / 2``,
    which starts and stops with zero speed (so the path pauses briefly at each keyframe). Maps 0 -> 0, 1 -> 1."""
    if easing is None:
        return t
    if easing == "ease-in-out":
        return 0.5 - 0.5 * np.cos(np.pi * t)
    raise ValueError(f"easing must be one of {EASINGS}, got {easing!r}")


def keyframes_at(
    latents: np.ndarray,
    positions: float | np.ndarray,
    mode: Mode = "linear",
    loop: bool = False,
    easing: str | None = None,
) -> np.ndarray:
    """The path through ``latents [K, ...]`` evaluated at ``positions`` (shape ``S``) given in keyframe units:
    position ``i`` is keyframe ``i``, ``i + 0.5`` half-way to the next. Returns ``S + latents.shape[1:]``.

    Without ``loop`` the path runs from keyframe 0 to keyframe ``K - 1`` (positions are clamped to that range);
    with ``loop`` it goes on from the last keyframe back to the first, and positions wrap modulo ``K``.

    Modes: ``'linear'`` (lerp per segment), ``'slerp'`` (slerp per segment), ``'cubic'`` (uniform Catmull-Rom: it
    passes through every keyframe with a continuous tangent ``(next - previous) / 2`` there; without a loop the
    end keyframes repeat as their own outer neighbours; with a loop the neighbours wrap around, so the tangent is
    continuous where the loop closes too). ``easing`` reshapes the time within each segment (see :func:`ease`).
    """
    keys = np.asarray(latents)
    if keys.ndim < 1 or keys.shape[0] == 0:
        raise ValueError("keyframes need at least one latent: expected latents of shape [K, ...] with K >= 1")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    ease(np.zeros(()), easing)  # validates the name
    dtype = _result_dtype(keys)
    k = keys.shape[0]
    u = np.asarray(positions, dtype=np.float64)
    if k == 1:
        return np.broadcast_to(keys[0], u.shape + keys.shape[1:]).astype(dtype)
    n_segments = k if loop else k - 1
    u = np.mod(u, k) if loop else np.clip(u, 0, k - 1)
    seg = np.minimum(np.floor(u).astype(np.int64), n_segments - 1)
    local = ease(u - seg, easing)
    i1 = seg
    i2 = (seg + 1) % k if loop else seg + 1
    p1, p2 = keys[i1].astype(np.float64), keys[i2].astype(np.float64)
    tt = local.reshape(local.shape + (1,) * (keys.ndim - 1))
    if mode == "linear":
        out = p1 + tt * (p2 - p1)
        out = np.where(tt == 1, p2, out)
    elif mode == "slerp":
        out = _slerp_core(p1, p2, tt)
    else:
        if loop:
            i0, i3 = (seg - 1) % k, (seg + 2) % k
        else:
            i0, i3 = np.maximum(seg - 1, 0), np.minimum(seg + 2, k - 1)
        p0, p3 = keys[i0].astype(np.float64), keys[i3].astype(np.float64)
        t2, t3 = tt * tt, tt * tt * tt
        # Hermite form of Catmull-Rom: the basis is exactly (1, 0) at t = 0 and (0, 1) at t = 1.
        h00, h10, h01, h11 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + tt, -2 * t3 + 3 * t2, t3 - t2
        out = h00 * p1 + h10 * (0.5 * (p2 - p0)) + h01 * p2 + h11 * (0.5 * (p3 - p1))
        out = np.where(tt == 0, p1, np.where(tt == 1, p2, out))
    return out.astype(dtype)


def keyframes(
    latents: np.ndarray,
    n_frames: int,
    mode: Mode = "linear",
    loop: bool = False,
    easing: str | None = None,
) -> np.ndarray:
    """``n_frames`` evenly spaced frames ``[n_frames, ...]`` of the path through ``latents [K, ...]``.

    Without ``loop`` the first frame is keyframe 0 and the last frame is keyframe ``K - 1``; keyframe ``i`` sits
    at frame ``i * (n_frames - 1) / (K - 1)``. With ``loop`` the frames cover the closed path once, keyframe ``i``
    at frame ``i * n_frames / K``, and frame ``n_frames`` (not returned) would be frame 0 again, so playing the
    frames on repeat has no seam. A keyframe whose frame number is an integer is hit exactly.
    See :func:`keyframes_at` for the modes and ``easing``.
    """
    keys = np.asarray(latents)
    n = int(n_frames)
    if n < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    k = keys.shape[0] if keys.ndim else 0
    frames = np.arange(n, dtype=np.float64)
    span = k if loop else k - 1  # keyframe units covered
    steps = n if loop else n - 1  # frame intervals covering them
    positions = frames * span / steps if steps > 0 else np.zeros(n)
    return keyframes_at(keys, positions, mode=mode, loop=loop, easing=easing)
