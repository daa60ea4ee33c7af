"""The seed plane: a continuous 2-D position over the integer seeds, as the StyleGAN3 visualizer's latent widget has.

Integer points of the plane are seeds: the point ``(i, j)`` is seed ``(i + j * step_y) mod 2**32``, with
``step_y = 100`` as in the visualizer (so moving one step along y adds 100 to the seed, and negative points wrap
around to the top of the 32-bit seed range). A fractional position ``(x, y)`` blends the w of the four
surrounding integer points with bilinear weights ``(1 - |x - i|) * (1 - |y - j|)`` for ``i`` in
``{floor(x), floor(x) + 1}`` and ``j`` in ``{floor(y), floor(y) + 1}``; points of weight 0 are left out, so an
integer position is exactly its own seed. The weights sum to 1, so the blend is an affine combination of w
(and so it does not matter whether ``w_avg`` is subtracted before blending and added back after, as the
visualizer does).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from bigart.latent.seeds import MAX_SEED

STEP_Y = 100  # the visualizer's seeds per row of the plane


def seed_at(i: int, j: int, step_y: int = STEP_Y) -> int:
    """The seed at the integer point ``(i, j)``: ``(i + j * step_y) mod 2**32``."""
    return (int(i) + int(j) * int(step_y)) & MAX_SEED


def seed_plane_weights(x: float, y: float, step_y: int = STEP_Y) -> list[tuple[int, float]]:
    """``[(seed, weight), ...]`` of the (up to four) integer points around ``(x, y)`` with a non-zero weight,
    in the order (0, 0), (1, 0), (0, 1), (1, 1) of offsets from ``(floor(x), floor(y))``. Weights sum to 1."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"seed-plane position must be finite, got ({x}, {y})")
    x0, y0 = math.floor(x), math.floor(y)
    out = []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        i, j = x0 + dx, y0 + dy
        weight = (1 - abs(x - i)) * (1 - abs(y - j))
        if weight > 0:
            out.append((seed_at(i, j, step_y), weight))
    return out


def seed_plane_w(x: float, y: float, w_of_seed: Callable[[int], np.ndarray], step_y: int = STEP_Y) -> np.ndarray:
    """The blended w at ``(x, y)``: ``sum(weight * w_of_seed(seed))`` over :func:`seed_plane_weights`.

    ``w_of_seed`` maps a seed to its w (any shape, e.g. ``[w_dim]`` or ``[num_ws, w_dim]``; truncation already
    applied if wanted) and is called once per neighbour with a non-zero weight. Returns float32, or float64
    when ``w_of_seed`` gives float64.
    """
    total = None
    dtype = np.float32
    for seed, weight in seed_plane_weights(x, y, step_y):
        w = np.asarray(w_of_seed(seed))
        dtype = np.result_type(dtype, w.dtype) if np.issubdtype(w.dtype, np.floating) else np.float64
        term = weight * w.astype(np.float64)
        total = term if total is None else total + term
    return total.astype(dtype)
