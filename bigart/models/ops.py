"""Pure-PyTorch building blocks shared by the StyleGAN families.

FIR filtering with up/down-sampling (upfirdn2d), bias + activation with clamping, and the modulated
convolution written as scale -> shared-weight conv -> demodulate, so the batch size stays dynamic
(also under ONNX export). Semantics follow the StyleGAN2/3 papers and the published formats'
forward passes; no compiled ops, no CUDA assumption.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)


def parse_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """``padding`` as ``(x0, x1, y0, y1)`` from an int, ``(x, y)`` or ``(x0, x1, y0, y1)``."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    p = [int(v) for v in padding]
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    if len(p) == 4:
        return p[0], p[1], p[2], p[3]
    raise ValueError(f"padding must have 1, 2 or 4 values, got {padding!r}")


def setup_filter(
    f: Sequence[float] | np.ndarray | torch.Tensor | None,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1.0,
    separable: bool | None = None,
) -> torch.Tensor:
    """A float32 FIR filter: 1-D taps stay separable from 8 taps up, shorter ones become their 2-D outer product."""
    f = torch.as_tensor(1.0 if f is None else f, dtype=torch.float32).clone()
    if f.ndim == 0:
        f = f[None]
    if f.ndim not in (1, 2) or f.numel() == 0:
        raise ValueError(f"a filter must be 1-D or 2-D and not empty, got shape {tuple(f.shape)}")
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    return f * (gain ** (f.ndim / 2))


def filter_size(f: torch.Tensor | None) -> tuple[int, int]:
    """``(width, height)`` of a 1-D or 2-D filter (1x1 for None)."""
    if f is None:
        return 1, 1
    if f.ndim == 1:
        return f.shape[0], f.shape[0]
    return f.shape[-1], f.shape[-2]


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int | Sequence[int] = 1,
    down: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample by zero insertion, pad (negative pads crop), FIR filter, downsample by striding.

    ``x`` is ``[N, C, H, W]``; ``f`` is a 1-D (separable) or 2-D filter, or None for identity.
    Convolution (not correlation) unless ``flip_filter``.
    """
    upx, upy = (up, up) if isinstance(up, int) else (int(up[0]), int(up[1]))
    downx, downy = (down, down) if isinstance(down, int) else (int(down[0]), int(down[1]))
    px0, px1, py0, py1 = parse_padding(padding)
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    n, c, h, w = x.shape
    c = int(c)  # a plain int even while tracing: ONNX needs the depthwise kernel's shape

    conv_pad = [0, 0]  # (y, x) zero padding done by the convolution itself
    if upx == upy == 1 and min(px0, px1, py0, py1) >= 0 and px0 == px1 and py0 == py1:
        # symmetric padding without upsampling: one pass over the tensor fewer (ONNX Runtime runs a separate Pad)
        conv_pad = [py0, px0]
    else:
        if upx > 1 or upy > 1:
            x = x.reshape(n, c, h, 1, w, 1)
            x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
            x = x.reshape(n, c, h * upy, w * upx)
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
        if min(px0, px1, py0, py1) < 0:
            x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]

    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c, padding=conv_pad)
    else:
        k = f[None, None].repeat(c, 1, 1)
        x = F.conv2d(x, k.unsqueeze(2), groups=c, padding=[0, conv_pad[1]])
        x = F.conv2d(x, k.unsqueeze(3), groups=c, padding=[conv_pad[0], 0])

    if downx > 1 or downy > 1:
        x = x[:, :, ::downy, ::downx]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding: int = 0, gain: float = 1.0) -> torch.Tensor:
    """Upsample by ``up`` with FIR filter ``f``, keeping the signal's magnitude (gain ``up**2``)."""
    fw, fh = filter_size(f)
    p = parse_padding(padding)
    pad = [
        p[0] + (fw + up - 1) // 2,
        p[1] + (fw - up) // 2,
        p[2] + (fh + up - 1) // 2,
        p[3] + (fh - up) // 2,
    ]
    return upfirdn2d(x, f, up=up, padding=pad, gain=gain * up * up)


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    act: str = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
    alpha: float = 0.2,
    dim: int = 1,
) -> torch.Tensor:
    """Add bias along ``dim``, apply the activation, multiply by ``gain``, clamp to ``[-clamp, clamp]``."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, alpha)
    elif act == "relu":
        x = F.relu(x)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """2-D convolution with ``w`` (``[O, I, kh, kw]``, one group) plus FIR up/down-sampling.

    ``padding`` is given with respect to the upsampled image. Without upsampling this is a cross-correlation
    (``F.conv2d``); upsampling is a stride-``up`` transposed convolution with ``w`` as stored, followed by
    the filter, as the StyleGAN2 formats define it. Downsampling filters first, then convolves with a stride.
    """
    _, _, kh, kw = w.shape
    fw, fh = filter_size(f)
    px0, px1, py0, py1 = parse_padding(padding)
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2

    if up > 1:
        # Transposed conv with the kernel as stored: what StyleGAN2 checkpoints' upsampling layers expect.
        wt = w.transpose(0, 1)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = F.conv_transpose2d(x, wt, stride=up, padding=[pyt, pxt])
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up * up)
        if down > 1:
            x = upfirdn2d(x, f, down=down)
        return x
    if down > 1:
        if kw == 1 and kh == 1:
            x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1])
            return F.conv2d(x, w)
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1])
        return F.conv2d(x, w, stride=down)
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return F.conv2d(x, w, padding=[py0, px0])
    x = upfirdn2d(x, None, padding=[px0, px1, py0, py1])
    return F.conv2d(x, w)


# --------------------------------------------------------------------------------------------------------------
# Export forms for ONNX Runtime's CPU kernels

_CPU_FORMS = contextvars.ContextVar("bigart_onnx_cpu_forms", default=False)
POLYPHASE_MIN_SIZE = 32  # inputs this wide and wider upsample by polyphase convolutions in CPU graphs (measured on
# paper256 widths, ONNX Runtime, 1 thread: 1.11x / 1.15x / 1.20x faster than ConvTranspose + filter at 32 / 64 / 128 px
# inputs, 1.02x at 16, 0.84x at 8)


@contextlib.contextmanager
def onnx_cpu_forms(on: bool = True) -> Iterator[None]:
    """While exporting in this context, layers take the forms that run fastest on ONNX Runtime's CPU kernels
    (asymmetric convolution pads, DepthToSpace), not those meant for every provider (cuDNN wants symmetric pads)."""
    token = _CPU_FORMS.set(on)
    try:
        yield
    finally:
        _CPU_FORMS.reset(token)


def exporting_for_cpu() -> bool:
    return _CPU_FORMS.get() and torch.onnx.is_in_onnx_export()


class _PaddedConv(torch.autograd.Function):
    """``conv2d`` after zero padding (top, left, bottom, right), exported as one ONNX ``Conv`` with asymmetric
    pads (torch's exporter writes a separate ``Pad`` node, which ONNX Runtime leaves as an extra pass)."""

    @staticmethod
    def forward(ctx, x, w, top: int, left: int, bottom: int, right: int, groups: int):
        return F.conv2d(F.pad(x, [left, right, top, bottom]), w, groups=groups)

    @staticmethod
    def symbolic(g, x, w, top, left, bottom, right, groups):
        return g.op("Conv", x, w, pads_i=[top, left, bottom, right], group_i=groups, strides_i=[1, 1])


class _DepthToSpace2(torch.autograd.Function):
    """``[N, 4C, H, W]`` with channel ``(2a + b) C + c`` -> ``[N, C, 2H, 2W]`` with pixel ``(2y + a, 2x + b)``;
    exported as ``DepthToSpace`` (DCR), one op where the traced reshape-permute-reshape is a slower transpose."""

    @staticmethod
    def forward(ctx, x):
        n, c4, h, w = x.shape
        return x.reshape(n, 2, 2, c4 // 4, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c4 // 4, 2 * h, 2 * w)

    @staticmethod
    def symbolic(g, x):
        return g.op("DepthToSpace", x, blocksize_i=2, mode_s="DCR")


def _phase_taps(k: int, size: int) -> tuple[list[list[int]], list[tuple[int, int]], int]:
    """Along one axis of a stride-2 transposed convolution with a ``k``-tap kernel over ``size`` inputs: for each
    output phase the kernel taps as a correlation, its (before, after) padding, and the zeros the interleaved
    phases hold past the transposed convolution's ``2 size + k - 2`` outputs."""
    length = 2 * size + k - 2
    m = (length + 1) // 2
    taps = [list(range(a, k, 2))[::-1] for a in (0, 1)]
    return taps, [(len(t) - 1, m - size) for t in taps], 2 * m - length


def upsample_conv2d_polyphase(
    x: torch.Tensor, w: torch.Tensor, f: torch.Tensor | None, padding: int | Sequence[int] = 0
) -> torch.Tensor | None:
    """``conv2d_resample(x, w, f, up=2, padding)`` without a transposed convolution, or None where this form does
    not apply (kernels under 2 taps, filters that crop).

    The stride-2 transposed convolution splits into four phase convolutions on the input (the kernel taps that
    reach even or odd rows and columns: 2x2, 2x1, 1x2 and 1x1 for a 3x3 kernel, the same multiply-adds), whose
    outputs interleave by ``DepthToSpace``; the FIR filter follows as one depthwise convolution. On ONNX Runtime's
    CPU kernels these are direct NCHWc convolutions, where ConvTranspose is a GEMM plus a slow col2im.
    """
    kh, kw = int(w.shape[2]), int(w.shape[3])  # plain ints while tracing: the pads become node attributes
    if f is None or kh < 2 or kw < 2:
        return None
    fw, fh = (int(v) for v in filter_size(f))
    px0, px1, py0, py1 = parse_padding(padding)
    px0, px1 = px0 + (fw + 1) // 2 - (kw - 1), px1 + (fw - 2) // 2 - (kw - 2)
    py0, py1 = py0 + (fh + 1) // 2 - (kh - 1), py1 + (fh - 2) // 2 - (kh - 2)
    h, wd = int(x.shape[2]), int(x.shape[3])
    rows, row_pads, extra_y = _phase_taps(kh, h)
    cols, col_pads, extra_x = _phase_taps(kw, wd)
    if min(px0, py0, px1 - extra_x, py1 - extra_y) < 0:
        return None
    phases = [
        _PaddedConv.apply(
            x, w[:, :, rows[a]][:, :, :, cols[b]], row_pads[a][0], col_pads[b][0], row_pads[a][1], col_pads[b][1], 1
        )
        for a in (0, 1)
        for b in (0, 1)
    ]
    u = _DepthToSpace2.apply(torch.cat(phases, 1))
    k = (f if f.ndim == 2 else f[:, None] * f[None, :]) * 4  # the filter with the upsampling gain, as upfirdn2d
    c = int(w.shape[0])
    k = k.flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1)
    return _PaddedConv.apply(u, k, py0, px0, py1 - extra_y, px1 - extra_x, c)


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each vector to unit root-mean-square."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def demodulation(styles: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``[N, O]`` coefficients ``rsqrt(sum_{i,k} (weight[o, i, k] * styles[n, i])^2 + 1e-8)`` that give each output
    channel of the modulated convolution unit expected variance (StyleGAN2's demodulation)."""
    # sum_{i,k} (w[o,i,k] * s[n,i])^2 = sum_i s[n,i]^2 * sum_k w[o,i,k]^2
    return (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
) -> torch.Tensor:
    """StyleGAN2's modulated convolution in its batch-agnostic form.

    Scales the input channels by ``styles`` (``[N, I]``), convolves with the shared ``weight``
    (``[O, I, k, k]``), then multiplies each output channel by its demodulation coefficient
    ``rsqrt(sum((weight * style)^2) + 1e-8)``. Mathematically equal to convolving each sample with its own
    modulated weight, but exportable with a dynamic batch. ``noise`` is added after demodulation.
    """
    x = x * styles.to(x.dtype)[:, :, None, None]
    x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, down=down, padding=padding)
    if demodulate:
        x = x * demodulation(styles, weight).to(x.dtype)[:, :, None, None]
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x
