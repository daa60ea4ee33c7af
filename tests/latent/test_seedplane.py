"""The seed plane of the StyleGAN3 visualizer: which seeds surround a position, and their bilinear weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigart.latent import seed_plane_w, seed_plane_weights
from bigart.latent.seedplane import seed_at

FAST = settings(max_examples=40, deadline=None)
POS = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


def _w(seed: int) -> np.ndarray:
    return np.random.RandomState(seed).randn(6).astype(np.float32)


def test_seed_assignment():
    assert seed_at(0, 0) == 0 and seed_at(7, 0) == 7 and seed_at(3, 2) == 203  # seed = x + 100 y
    assert seed_at(-1, 0) == 2**32 - 1  # negative points wrap to the top of the seed range
    assert seed_at(5, 1, step_y=10) == 15


def test_integer_positions_are_their_own_seed():
    assert seed_plane_weights(3, 2) == [(203, 1.0)]
    np.testing.assert_array_equal(seed_plane_w(3.0, 2.0, _w), _w(203))


def test_fractional_position_blends_four_neighbours():
    pairs = dict(seed_plane_weights(0.25, 1.5))
    assert pairs == pytest.approx({100: 0.375, 101: 0.125, 200: 0.375, 201: 0.125})
    expected = sum(w * _w(s).astype(np.float64) for s, w in pairs.items())
    np.testing.assert_allclose(seed_plane_w(0.25, 1.5, _w), expected, rtol=1e-6)
    # along one axis only two seeds take part
    assert dict(seed_plane_weights(4.5, 0.0)) == pytest.approx({4: 0.5, 5: 0.5})


@FAST
@given(POS, POS)
def test_weights_are_bilinear_and_sum_to_one(x, y):
    pairs = seed_plane_weights(x, y)
    assert 1 <= len(pairs) <= 4
    assert math.isclose(sum(w for _, w in pairs), 1.0, rel_tol=1e-9)
    assert all(0 < w <= 1 for _, w in pairs)
    # the seeds are the surrounding integer points, and their weights reproduce the position (bilinear weights)
    x0, y0 = math.floor(x), math.floor(y)
    points = {seed_at(x0 + dx, y0 + dy): (x0 + dx, y0 + dy) for dx in (0, 1) for dy in (0, 1)}
    assert all(s in points for s, _ in pairs)
    assert math.isclose(sum(w * points[s][0] for s, w in pairs), x, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(sum(w * points[s][1] for s, w in pairs), y, rel_tol=1e-9, abs_tol=1e-9)


@FAST
@given(st.integers(-50, 50), st.integers(-50, 50), st.floats(0, 1, exclude_max=True))
def test_blend_is_continuous_across_cell_edges(i, j, f):
    # approaching the integer line x = i + 1 from the left gives that line's blend
    eps = 1e-9
    left = seed_plane_w(i + 1 - eps, j + f, _w).astype(np.float64)
    on = seed_plane_w(i + 1, j + f, _w).astype(np.float64)
    np.testing.assert_allclose(left, on, atol=1e-6)


def test_any_w_shape_and_only_needed_seeds_are_mapped():
    calls = []

    def w_plus(seed: int) -> np.ndarray:
        calls.append(seed)
        return np.full((4, 3), float(seed))

    out = seed_plane_w(10.5, 0, w_plus)
    assert out.shape == (4, 3) and np.allclose(out, 10.5)
    assert calls == [10, 11]
    with pytest.raises(ValueError):
        seed_plane_weights(float("nan"), 0)
