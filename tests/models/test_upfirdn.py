"""upfirdn2d against a direct numpy evaluation of its definition: every padding form (the symmetric one runs as a
padded convolution, the others through an explicit pad or crop), separable and 2-D filters, flipped or not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bigart.models.ops import setup_filter, upfirdn2d


def reference(x: np.ndarray, f: np.ndarray, up: int, down: int, pad: tuple, flip: bool, gain: float) -> np.ndarray:
    n, c, h, w = x.shape
    if f.ndim == 1:
        f = np.outer(f, f)
    f = f * gain
    u = np.zeros([n, c, h * up, w * up])
    u[:, :, ::up, ::up] = x
    px0, px1, py0, py1 = pad
    u = np.pad(u, [(0, 0), (0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))])
    u = u[:, :, max(-py0, 0) : u.shape[2] - max(-py1, 0), max(-px0, 0) : u.shape[3] - max(-px1, 0)]
    k = f if flip else f[::-1, ::-1]  # correlation with the flipped filter is convolution
    kh, kw = k.shape
    out = np.zeros([n, c, u.shape[2] - kh + 1, u.shape[3] - kw + 1])
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * u[:, :, i : i + out.shape[2], j : j + out.shape[3]]
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize("pad", [(1, 1, 1, 1), (2, 2, 0, 0), (0, 0, 0, 0), (2, 1, 2, 1), (-1, -1, 1, 1), (1, 2, 3, 0)])
@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("flip", [False, True])
def test_upfirdn2d_matches_its_definition(pad, separable, flip):
    rng = np.random.RandomState(0)
    x = rng.randn(2, 3, 9, 11)
    taps = np.array([1.0, 3.0, 2.0, 1.0])  # asymmetric, so a flip shows
    f = taps / taps.sum() if separable else np.outer(taps, taps[::-1]) / 49.0
    got = upfirdn2d(torch.from_numpy(x).float(), torch.from_numpy(f).float(), padding=pad, flip_filter=flip, gain=2.0)
    want = reference(x, f, 1, 1, pad, flip, 2.0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


@pytest.mark.parametrize("up,down", [(2, 1), (1, 2)])
def test_upfirdn2d_resampling_matches_its_definition(up, down):
    x = np.random.RandomState(1).randn(1, 2, 8, 8)
    f = setup_filter([1, 3, 3, 1]).numpy().astype(np.float64)
    got = upfirdn2d(torch.from_numpy(x).float(), setup_filter([1, 3, 3, 1]), up=up, down=down, padding=(2, 1, 2, 1))
    np.testing.assert_allclose(got.numpy(), reference(x, f, up, down, (2, 1, 2, 1), False, 1.0), atol=1e-5)


@pytest.mark.parametrize(
    ("k", "h", "w", "pad", "separable"),
    [(3, 8, 8, 1, False), (3, 5, 7, 1, True), (4, 6, 6, 1, False), (3, 6, 6, 2, True), (2, 4, 5, 1, False)],
)
def test_polyphase_upsampling_equals_the_transposed_convolution(k, h, w, pad, separable):
    """The CPU export form of the upsampling convolution (four phase convolutions, DepthToSpace, the filter) gives
    what ``conv2d_resample(up=2)`` gives: odd and even kernels, odd sizes, 2-D and separable filters."""
    from bigart.models.ops import conv2d_resample, upsample_conv2d_polyphase

    torch.manual_seed(k * 100 + h)
    x, wt = torch.randn(2, 5, h, w), torch.randn(4, 5, k, k)
    f = setup_filter([1, 3, 3, 1], separable=separable)
    want = conv2d_resample(x, wt, f=f, up=2, padding=pad)
    got = upsample_conv2d_polyphase(x, wt, f, pad)
    assert got is not None and got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_polyphase_upsampling_declines_what_it_cannot_do():
    from bigart.models.ops import upsample_conv2d_polyphase

    x, f = torch.randn(1, 2, 4, 4), setup_filter([1, 3, 3, 1])
    assert upsample_conv2d_polyphase(x, torch.randn(3, 2, 1, 1), f, 0) is None  # 1x1: one phase has no taps
    assert upsample_conv2d_polyphase(x, torch.randn(3, 2, 3, 3), f, 0) is None  # the filter would crop
    assert upsample_conv2d_polyphase(x, torch.randn(3, 2, 3, 3), None, 1) is None
