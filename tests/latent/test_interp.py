"""lerp, slerp and keyframe paths: endpoints, norms, loop closure and the degenerate inputs, as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bigart.latent import keyframes, keyframes_at, lerp, slerp
from bigart.latent.interp import ease

FINITE = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=64)
T = st.floats(0, 1, allow_nan=False)
DIMS = st.integers(2, 12)
FAST = settings(max_examples=40, deadline=None)  # the whole latent suite stays well under ten seconds


def vectors(dim: int, n: int = 1):
    return arrays(np.float64, (n, dim) if n > 1 else (dim,), elements=FINITE)


@st.composite
def pairs(draw, n=1):
    dim = draw(DIMS)
    return draw(vectors(dim, n)), draw(vectors(dim, n))


@st.composite
def unit_pairs(draw):
    """Two directions of one norm, including equal and opposite ones."""
    dim = draw(DIMS)
    a = draw(vectors(dim))
    assume(np.linalg.norm(a) > 1e-3)
    kind = draw(st.sampled_from(["random", "equal", "opposite", "near-opposite"]))
    if kind == "equal":
        b = a.copy()
    elif kind == "opposite":
        b = -a
    elif kind == "near-opposite":
        b = -a + draw(vectors(dim)) * 1e-12
    else:
        b = draw(vectors(dim))
        assume(np.linalg.norm(b) > 1e-3)
        b = b / np.linalg.norm(b) * np.linalg.norm(a)
    return a, b


# ---------------------------------------------------------------------------------------------------------------
# lerp and slerp


@FAST
@given(pairs(), T)
def test_lerp_endpoints_exact_and_linear(ab, t):
    a, b = ab
    assert np.array_equal(lerp(a, b, 0.0), a)
    assert np.array_equal(lerp(a, b, 1.0), b)
    np.testing.assert_allclose(lerp(a, b, t), a + t * (b - a), rtol=1e-12, atol=1e-9)


@FAST
@given(pairs(), T)
def test_slerp_endpoints_exact_never_nan(ab, t):
    a, b = ab
    assert np.array_equal(slerp(a, b, 0.0), a)
    assert np.array_equal(slerp(a, b, 1.0), b)
    assert np.all(np.isfinite(slerp(a, b, t)))


@FAST
@given(unit_pairs(), T)
def test_slerp_keeps_equal_norms_and_moves_at_constant_angle(ab, t):
    a, b = ab
    # the length goes linearly from |a| to |b| (equal for most pairs; near-opposite ones differ by ~1e-12)
    r = (1 - t) * np.linalg.norm(a) + t * np.linalg.norm(b)
    out = slerp(a, b, t)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out), r, rtol=1e-9)
    # The angle from a grows linearly in t: angle(a, out) = t * angle(a, b).
    omega = np.arctan2(_sin(a, b), a @ b)
    got = np.arctan2(_sin(a, out), a @ out)
    np.testing.assert_allclose(got, t * omega, atol=1e-6)


def _sin(a, b):
    ua, ub = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return np.linalg.norm(ub - (ua @ ub) * ua) * np.linalg.norm(a) * np.linalg.norm(b)


@FAST
@given(pairs(), st.lists(T, min_size=2, max_size=8))
def test_slerp_angle_from_a_is_monotone_in_t(ab, ts):
    a, b = ab
    assume(np.linalg.norm(a) > 1e-3 and np.linalg.norm(b) > 1e-3)
    ts = np.sort(ts)
    path = slerp(a, b, ts)
    ua = a / np.linalg.norm(a)
    cos = path @ ua / np.maximum(np.linalg.norm(path, axis=1), 1e-300)
    assert np.all(np.diff(cos) <= 1e-9)


@FAST
@given(pairs(), T)
def test_slerp_norm_is_linear_in_t(ab, t):
    a, b = ab
    expected = (1 - t) * np.linalg.norm(a) + t * np.linalg.norm(b)
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, t)), expected, rtol=1e-9, atol=1e-9)


@FAST
@given(vectors(6), T)
def test_slerp_equal_vectors_give_a(a, t):
    np.testing.assert_allclose(slerp(a, a, t), a, rtol=1e-12, atol=1e-12)


def test_slerp_opposite_vectors_turn_through_a_fixed_orthogonal_direction():
    a = np.array([3.0, 0.0, 4.0])
    mid = slerp(a, -a, 0.5)
    assert np.all(np.isfinite(mid))
    np.testing.assert_allclose(np.linalg.norm(mid), 5.0)
    assert abs(mid @ a) < 1e-9  # half-way round is orthogonal to a
    np.testing.assert_allclose(mid, [0.0, 5.0, 0.0], atol=1e-12)  # the axis where a is smallest
    np.testing.assert_array_equal(slerp(a, -a, 0.5), mid)  # the same every time
    # float32 opposite vectors too
    a32 = np.random.RandomState(0).randn(512).astype(np.float32)
    path = slerp(a32, -a32, np.linspace(0, 1, 9))
    assert path.dtype == np.float32 and np.all(np.isfinite(path))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a32), rtol=1e-5)


@FAST
@given(vectors(5), T)
def test_slerp_with_a_zero_vector_is_lerp(b, t):
    z = np.zeros_like(b)
    np.testing.assert_allclose(slerp(z, b, t), lerp(z, b, t), atol=1e-12)
    np.testing.assert_allclose(slerp(b, z, t), lerp(b, z, t), atol=1e-12)
    np.testing.assert_array_equal(slerp(z, z, t), z)


def test_one_dimensional_latents_are_lerped():
    np.testing.assert_allclose(slerp(np.array([2.0]), np.array([-2.0]), 0.25), [1.0])


def test_vectorised_over_leading_dims_and_t():
    rng = np.random.RandomState(1)
    a, b = rng.randn(4, 3, 16), rng.randn(4, 3, 16)
    ts = np.array([0.0, 0.3, 1.0])
    for f in (lerp, slerp):
        out = f(a, b, ts)
        assert out.shape == (3, 4, 3, 16)
        np.testing.assert_allclose(out[1, 2, 1], f(a[2, 1], b[2, 1], 0.3), rtol=1e-12)
        assert f(a, b[0, 0], 0.5).shape == (4, 3, 16)  # broadcast of the inputs
        assert f(a.astype(np.float32), b.astype(np.float32), 0.5).dtype == np.float32


# ---------------------------------------------------------------------------------------------------------------
# keyframes


MODES = ["linear", "slerp", "cubic"]


@st.composite
def key_sets(draw):
    k = draw(st.integers(1, 5))
    dim = draw(DIMS)
    keys = draw(arrays(np.float64, (k, dim), elements=FINITE))
    return keys


@FAST
@given(key_sets(), st.sampled_from(MODES), st.integers(1, 6), st.sampled_from([None, "ease-in-out"]))
def test_keyframes_pass_through_every_key(keys, mode, per_segment, easing):
    k = len(keys)
    n = per_segment * max(k - 1, 1) + 1
    frames = keyframes(keys, n, mode=mode, easing=easing)
    assert frames.shape == (n, *keys.shape[1:])
    if k > 1:
        np.testing.assert_array_equal(frames[::per_segment], keys)
    np.testing.assert_array_equal(frames[0], keys[0])
    np.testing.assert_array_equal(frames[-1], keys[-1])  # the last frame is the last key
    assert np.all(np.isfinite(frames))


@FAST
@given(key_sets(), st.sampled_from(MODES), st.integers(1, 6), st.sampled_from([None, "ease-in-out"]))
def test_looping_keyframes_close_perfectly(keys, mode, per_segment, easing):
    k = len(keys)
    n = per_segment * k
    frames = keyframes(keys, n, mode=mode, loop=True, easing=easing)
    np.testing.assert_array_equal(frames[::per_segment], keys)
    # frame n (one past the end) is frame 0 again
    after = keyframes_at(keys, np.array([n * k / n]), mode=mode, loop=True, easing=easing)[0]
    np.testing.assert_array_equal(after, frames[0])
    # the position wraps: the path is periodic
    u = np.linspace(0, k, 7)
    np.testing.assert_allclose(
        keyframes_at(keys, u + k, mode, loop=True), keyframes_at(keys, u, mode, loop=True), atol=1e-9
    )


@FAST
@given(key_sets())
def test_cubic_loop_has_a_continuous_tangent_where_it_closes(keys):
    assume(len(keys) >= 2)
    k, h = len(keys), 1e-5
    before = (keyframes_at(keys, [k], "cubic", loop=True) - keyframes_at(keys, [k - h], "cubic", loop=True)) / h
    after = (keyframes_at(keys, [h], "cubic", loop=True) - keyframes_at(keys, [0.0], "cubic", loop=True)) / h
    scale = 1 + np.abs(keys).max()
    np.testing.assert_allclose(before, after, atol=1e-3 * scale)
    # and it is the Catmull-Rom tangent (next - previous) / 2
    np.testing.assert_allclose(after[0], (keys[1 % k] - keys[-1]) / 2, atol=1e-3 * scale)


@FAST
@given(key_sets())
def test_cubic_tangent_is_continuous_at_inner_keys(keys):
    assume(len(keys) >= 3)
    h = 1e-5
    left = (keyframes_at(keys, [1.0], "cubic") - keyframes_at(keys, [1 - h], "cubic")) / h
    right = (keyframes_at(keys, [1 + h], "cubic") - keyframes_at(keys, [1.0], "cubic")) / h
    np.testing.assert_allclose(left, right, atol=1e-3 * (1 + np.abs(keys).max()))


@FAST
@given(key_sets(), st.integers(2, 30))
def test_loop_has_no_jump_at_the_seam(keys, n):
    assume(len(keys) >= 2)
    frames = keyframes(keys, n * len(keys), mode="linear", loop=True)
    seam = np.linalg.norm(frames[0] - frames[-1])
    steps = np.linalg.norm(np.diff(frames, axis=0), axis=-1)
    assert seam <= steps.max() + 1e-9


@FAST
@given(unit_pairs(), st.integers(2, 20))
def test_slerp_keyframes_keep_equal_norms(ab, n):
    keys = np.stack(ab)
    frames = keyframes(keys, n, mode="slerp", loop=True)
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), np.linalg.norm(keys[0]), rtol=1e-9)


@FAST
@given(st.lists(T, min_size=2, max_size=10))
def test_ease_in_out_is_monotone_with_fixed_ends(ts):
    ts = np.sort(ts)
    e = ease(ts, "ease-in-out")
    assert np.all(np.diff(e) >= -1e-15)
    assert ease(np.array(0.0), "ease-in-out") == 0 and ease(np.array(1.0), "ease-in-out") == 1


def test_keyframe_degenerate_inputs():
    keys = np.arange(12.0).reshape(3, 4)
    assert keyframes(keys, 0).shape == (0, 4)
    np.testing.assert_array_equal(keyframes(keys, 1), keys[:1])
    np.testing.assert_array_equal(keyframes(keys[:1], 5, mode="cubic", loop=True), np.repeat(keys[:1], 5, 0))
    wp = np.random.RandomState(0).randn(2, 18, 8).astype(np.float32)  # w+ keyframes
    out = keyframes(wp, 5, mode="slerp")
    assert out.shape == (5, 18, 8) and out.dtype == np.float32
    with pytest.raises(ValueError):
        keyframes(keys, 4, mode="bezier")
    with pytest.raises(ValueError):
        keyframes(keys, 4, easing="bounce")
    with pytest.raises(ValueError):
        keyframes(np.zeros((0, 4)), 4)
    with pytest.raises(ValueError):
        keyframes(keys, -1)
