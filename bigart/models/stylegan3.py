"""The StyleGAN3 generator ("Alias-Free Generative Adversarial Networks", configs T and R) in plain PyTorch.

Read top-down: the configuration, the filter design (numpy, float64), the per-layer geometry derived from
the configuration, the two operations that make a layer (modulated convolution, filtered leaky ReLU), the
Fourier-feature input, one layer, the synthesis network and the whole generator.

Parameter and buffer names follow the published ``G_ema`` state-dict layout, so a flattened NVIDIA
state dict loads with ``strict=True``. FP32 only; no compiled ops; the batch size stays dynamic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigart.models.config import ConfigDict
from bigart.models.mapping import FullyConnectedLayer, StyleGenerator
from bigart.models.ops import SQRT2, demodulation

__all__ = [
    "LayerGeometry",
    "StyleGAN3Config",
    "StyleGAN3Generator",
    "SynthesisInput",
    "SynthesisLayer",
    "SynthesisNetwork",
    "bessel_j1",
    "filtered_lrelu",
    "input_transform",
    "lowpass_filter",
    "radial_lowpass_filter",
    "synthesis_geometry",
]


# ------------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class StyleGAN3Config(ConfigDict):
    label: ClassVar[str] = "StyleGAN3"

    """Hyper-parameters of a StyleGAN3 generator; the defaults are those of config T."""

    z_dim: int
    c_dim: int
    w_dim: int
    img_resolution: int
    img_channels: int
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256.0

    def __post_init__(self) -> None:
        for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_layers"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"StyleGAN3Config.{name} must not be negative, got {getattr(self, name)}")
        if self.w_dim < 1 or self.img_resolution < 1 or self.img_channels < 1 or self.mapping_layers < 1:
            raise ValueError("StyleGAN3Config needs w_dim, img_resolution, img_channels and mapping_layers >= 1")
        if not 0 <= self.num_critical < self.num_layers:
            raise ValueError(
                f"StyleGAN3Config needs 0 <= num_critical < num_layers, got {self.num_critical}, {self.num_layers}"
            )
        if self.conv_kernel < 1 or self.filter_size < 1 or self.lrelu_upsampling < 1:
            raise ValueError("StyleGAN3Config needs conv_kernel, filter_size and lrelu_upsampling >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values, one per field."""
        d = dataclasses.asdict(self)
        for f in dataclasses.fields(self):
            v = d[f.name]
            if isinstance(v, (bool, np.bool_)):
                d[f.name] = bool(v)
            elif isinstance(v, (int, np.integer)):
                d[f.name] = int(v)
            elif isinstance(v, (float, np.floating)):
                d[f.name] = float(v)
        return d

    @classmethod
    def from_nvidia_kwargs(cls, init_kwargs: Mapping[str, Any]) -> StyleGAN3Config:
        """The config of an NVIDIA ``training.networks_stylegan3.Generator`` from its recorded init kwargs.

        Synthesis and layer kwargs are flat in that dict; ``mapping_kwargs`` is nested. Options that only
        matter for training (mixed precision, moving-average rates) are ignored; anything else unknown
        raises ``ValueError``, since it may change the architecture.
        """
        kw = dict(init_kwargs)
        mapping_kwargs = dict(kw.pop("mapping_kwargs", None) or {})
        for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
            if key not in kw:
                raise ValueError(f"StyleGAN3 generator kwargs lack {key!r}")
        for key in _NVIDIA_IGNORED_KWARGS:
            kw.pop(key, None)
        mapping_kwargs.pop("w_avg_beta", None)
        unknown = sorted(set(kw) - set(_NVIDIA_KWARG_TYPES))
        unknown += sorted(f"mapping_kwargs.{k}" for k in set(mapping_kwargs) - {"num_layers", "lr_multiplier"})
        if unknown:
            raise ValueError(f"unsupported StyleGAN3 generator kwargs: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in kw.items():
            if key == "conv_clamp":
                values[key] = None if value is None else float(value)
            else:
                values[key] = _NVIDIA_KWARG_TYPES[key](value)
        if "num_layers" in mapping_kwargs:
            values["mapping_layers"] = int(mapping_kwargs["num_layers"])
        if "lr_multiplier" in mapping_kwargs:
            values["mapping_lr_multiplier"] = float(mapping_kwargs["lr_multiplier"])
        return cls(**values)


# Flat NVIDIA generator kwargs that our config holds under the same name, with their types.
_NVIDIA_KWARG_TYPES: dict[str, Any] = {
    "z_dim": int,
    "c_dim": int,
    "w_dim": int,
    "img_resolution": int,
    "img_channels": int,
    "channel_base": int,
    "channel_max": int,
    "num_layers": int,
    "num_critical": int,
    "first_cutoff": float,
    "first_stopband": float,
    "last_stopband_rel": float,
    "margin_size": int,
    "output_scale": float,
    "conv_kernel": int,
    "filter_size": int,
    "lrelu_upsampling": int,
    "use_radial_filters": bool,
    "conv_clamp": float,
}
# Training-time options with no effect on an FP32 forward pass.
_NVIDIA_IGNORED_KWARGS = ("num_fp16_res", "magnitude_ema_beta", "use_fp16", "fused_modconv_default")


# ------------------------------------------------------------------------------------------------------
# Filter design (float64 numpy, returned as float32 tensors)


def _kaiser_beta(atten_db: float) -> float:
    """Kaiser's empirical window parameter for a stopband attenuation in dB."""
    if atten_db > 50:
        return 0.1102 * (atten_db - 8.7)
    if atten_db > 21:
        return 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    return 0.0


def _kaiser_atten(numtaps: int, width: float) -> float:
    """Kaiser's estimate of the attenuation (dB) reached by ``numtaps`` taps over a transition ``width``
    given as a fraction of the Nyquist rate."""
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def bessel_j1(x: np.ndarray | float) -> np.ndarray:
    """Bessel function of the first kind, order 1, in float64 (absolute error around 1e-15 for |x| < 1e3).

    Uses Bessel's integral ``J1(x) = 1/(2 pi) * integral over one period of cos(t - x sin t) dt``; the
    trapezoidal rule on a periodic analytic integrand converges geometrically once the number of nodes
    exceeds ``|x|`` by a margin.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    if flat.size == 0:
        return x.copy()
    nodes = 2 * math.ceil(float(np.max(np.abs(flat)))) + 64
    t = 2 * np.pi * np.arange(nodes) / nodes
    out = np.empty_like(flat)
    chunk = max(1, 2**22 // nodes)
    for i in range(0, flat.size, chunk):
        xs = flat[i : i + chunk, None]
        out[i : i + chunk] = np.cos(t[None, :] - xs * np.sin(t)[None, :]).mean(axis=1)
    return out.reshape(x.shape)


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float) -> torch.Tensor | None:
    """Separable Kaiser-windowed sinc low-pass filter (1-D taps summing to 1); None for one tap.

    The same window design as ``scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)``.
    """
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, got {numtaps}")
    if numtaps == 1:
        return None
    nyquist = fs / 2
    beta = _kaiser_beta(_kaiser_atten(numtaps, width / nyquist))
    m = np.arange(numtaps) - (numtaps - 1) / 2
    c = cutoff / nyquist
    taps = c * np.sinc(c * m) * np.kaiser(numtaps, beta)
    taps /= taps.sum()
    return torch.as_tensor(taps, dtype=torch.float32)


def radial_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float) -> torch.Tensor | None:
    """Radially symmetric jinc low-pass filter (2-D ``[numtaps, numtaps]``, sum 1) with a separable Kaiser
    window; None for one tap."""
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, got {numtaps}")
    if numtaps == 1:
        return None
    pos = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(pos[None, :], pos[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        jinc = bessel_j1(2 * np.pi * cutoff * r) / (np.pi * r)
    jinc[r == 0] = cutoff  # the limit at the origin (odd tap counts only)
    beta = _kaiser_beta(_kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    taps = jinc * np.outer(window, window)
    taps /= taps.sum()
    return torch.as_tensor(taps, dtype=torch.float32)


# ------------------------------------------------------------------------------------------------------
# Geometry: sampling rates, cutoffs, sizes and channels of every layer


@dataclass(frozen=True)
class LayerGeometry:
    """Everything about one synthesis layer that follows from the config (sizes are square)."""

    name: str
    is_torgb: bool
    is_critical: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_rate: int
    out_rate: int
    tmp_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    conv_kernel: int
    up: int
    down: int
    up_taps: int
    down_taps: int
    radial: bool
    padding: tuple[int, int, int, int]  # x0, x1, y0, y1, applied to the upsampled signal


@dataclass(frozen=True)
class InputGeometry:
    channels: int
    size: int
    sampling_rate: float
    bandwidth: float


def synthesis_geometry(config: StyleGAN3Config) -> tuple[InputGeometry, list[LayerGeometry]]:
    """The Fourier input's and every layer's geometry, computed in float64 as the published design does.

    Cutoffs and minimum stopbands grow geometrically from the first layer to the last critically sampled
    ones; each sampling rate is the smallest power of two above twice the stopband (at most the image
    resolution); every layer carries ``margin_size`` extra pixels on each side except the last two.
    """
    cfg = config
    n = cfg.num_layers
    last_cutoff = cfg.img_resolution / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    progress = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** progress
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** progress
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, cfg.img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = cfg.img_resolution
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels

    inp = InputGeometry(int(channels[0]), int(sizes[0]), float(rates[0]), float(cutoffs[0]))
    layers = []
    for i in range(n + 1):
        j = max(i - 1, 0)
        is_torgb = i == n
        is_critical = i >= n - cfg.num_critical
        in_rate, out_rate = int(rates[j]), int(rates[i])
        tmp_rate = max(in_rate, out_rate) * (1 if is_torgb else cfg.lrelu_upsampling)
        up, down = round(tmp_rate / in_rate), round(tmp_rate / out_rate)
        if in_rate * up != tmp_rate or out_rate * down != tmp_rate:
            raise ValueError(f"layer {i}: sampling rates {in_rate} -> {tmp_rate} -> {out_rate} are not integer ratios")
        up_taps = cfg.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not is_torgb else 1
        kernel = 1 if is_torgb else cfg.conv_kernel
        in_size, out_size = int(sizes[j]), int(sizes[i])
        # Total padding so that the output has out_size samples; the extra half step of the low side keeps
        # sample positions centred (the symmetric interpretation of the pixel grid).
        pad_total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        pad_lo = (pad_total + up) // 2
        pad_hi = pad_total - pad_lo
        out_channels = int(channels[i])
        layers.append(
            LayerGeometry(
                name=f"L{i}_{out_size}_{out_channels}",
                is_torgb=is_torgb,
                is_critical=is_critical,
                in_channels=int(channels[j]),
                out_channels=out_channels,
                in_size=in_size,
                out_size=out_size,
                in_rate=in_rate,
                out_rate=out_rate,
                tmp_rate=tmp_rate,
                in_cutoff=float(cutoffs[j]),
                out_cutoff=float(cutoffs[i]),
                in_half_width=float(half_widths[j]),
                out_half_width=float(half_widths[i]),
                conv_kernel=kernel,
                up=up,
                down=down,
                up_taps=up_taps,
                down_taps=down_taps,
                radial=cfg.use_radial_filters and not is_critical,
                padding=(pad_lo, pad_hi, pad_lo, pad_hi),
            )
        )
    return inp, layers


# ------------------------------------------------------------------------------------------------------
# Operations


def _pad_or_crop(x: torch.Tensor, x0: int, x1: int, y0: int, y1: int) -> torch.Tensor:
    """Zero-pad the last two dimensions by positive amounts and crop by negative ones."""
    if max(x0, x1, y0, y1) > 0:
        x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    if min(x0, x1, y0, y1) < 0:
        h, w = x.shape[-2], x.shape[-1]
        x = x[..., max(-y0, 0) : h - max(-y1, 0), max(-x0, 0) : w - max(-x1, 0)]
    return x


def _upsample(x: torch.Tensor, f: torch.Tensor | None, up: int, padding: tuple[int, int, int, int]) -> torch.Tensor:
    """Zero-insertion upsampling by ``up``, padding of the upsampled signal, convolution with the
    separable filter ``f`` at gain ``up**2``; done as per-axis strided transposed convolutions."""
    x0, x1, y0, y1 = padding
    if f is None:
        if up > 1:
            n, c, h, w = x.shape
            x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
        return _pad_or_crop(x, x0, x1, y0, y1)
    c = int(x.shape[1])  # static, so the exported graph knows the depthwise kernels' shapes
    taps = int(f.shape[0])
    k = (f * up).to(x.dtype)
    x = F.conv_transpose2d(x, k.view(1, 1, 1, taps).expand(c, 1, 1, taps), stride=(1, up), groups=c)
    x = F.conv_transpose2d(x, k.view(1, 1, taps, 1).expand(c, 1, taps, 1), stride=(up, 1), groups=c)
    # The transposed convolution keeps every partial overlap; shift that window onto the requested padding.
    return _pad_or_crop(x, x0 - (taps - 1), x1 - (taps - up), y0 - (taps - 1), y1 - (taps - up))


def _downsample(x: torch.Tensor, f: torch.Tensor | None, down: int) -> torch.Tensor:
    """Convolution with ``f`` (1-D separable or 2-D), keeping every ``down``-th sample, without padding."""
    if f is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    c = int(x.shape[1])
    k = f.flip(list(range(f.ndim))).to(x.dtype)
    if f.ndim == 2:
        return F.conv2d(x, k[None, None].expand(c, 1, *k.shape), stride=down, groups=c)
    taps = int(k.shape[0])
    x = F.conv2d(x, k.view(1, 1, 1, taps).expand(c, 1, 1, taps), stride=(1, down), groups=c)
    return F.conv2d(x, k.view(1, 1, taps, 1).expand(c, 1, taps, 1), stride=(down, 1), groups=c)


def filtered_lrelu(
    x: torch.Tensor,
    up_filter: torch.Tensor | None,
    down_filter: torch.Tensor | None,
    bias: torch.Tensor,
    up: int,
    down: int,
    padding: tuple[int, int, int, int],
    gain: float = SQRT2,
    slope: float = 0.2,
    clamp: float | None = None,
) -> torch.Tensor:
    """Alias-suppressed nonlinearity: add bias, upsample (``up_filter``, gain ``up**2``, ``padding`` on the
    upsampled signal), leaky ReLU times ``gain``, clamp to ``[-clamp, clamp]``, filter with ``down_filter``
    and keep every ``down``-th sample."""
    x = x + bias.to(x.dtype)[None, :, None, None]
    x = _upsample(x, up_filter, up, padding)
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return _downsample(x, down_filter, down)


def _modulated_conv(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, input_gain: torch.Tensor, padding: int
) -> torch.Tensor:
    """Demodulated convolution with per-sample styles, in the batch-agnostic form.

    Weight (per output channel) and styles (per sample) are first brought to unit RMS; the input is scaled
    by ``styles * input_gain``, convolved once with the shared weight, and each output channel multiplied
    by ``rsqrt(sum((weight * styles)^2) + 1e-8)``, which equals convolving every sample with its own
    modulated, demodulated weight.
    """
    weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
    styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    x = x * (styles * input_gain).to(x.dtype)[:, :, None, None]
    x = F.conv2d(x, weight.to(x.dtype), padding=padding)
    return x * demodulation(styles, weight).to(x.dtype)[:, :, None, None]


# ------------------------------------------------------------------------------------------------------
# Modules


def input_transform(translate: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> torch.Tensor:
    """The ``[3, 3]`` matrix to store in ``synthesis.input.transform`` to shift the image by ``translate``
    (in image units, 1 = full width) and rotate it by ``angle`` degrees. The buffer holds the inverse of the
    image transform, as in the reference generation script."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    m = np.array([[c, s, translate[0]], [-s, c, translate[1]], [0.0, 0.0, 1.0]])
    return torch.as_tensor(np.linalg.inv(m), dtype=torch.float32)


class SynthesisInput(nn.Module):
    """Fourier features: ``channels`` sinusoids of fixed frequencies (``freqs [C, 2]``, ``phases [C]``)
    sampled on a ``size``-pixel grid, rotated and translated by ``affine(w)`` and by the user ``transform``,
    faded out where a transform pushes them past the band limit, then mixed by ``weight``."""

    def __init__(self, w_dim: int, geometry: InputGeometry) -> None:
        super().__init__()
        c = geometry.channels
        self.w_dim = w_dim
        self.channels = c
        self.size = geometry.size
        self.sampling_rate = geometry.sampling_rate
        self.bandwidth = geometry.bandwidth

        self.weight = nn.Parameter(torch.randn([c, c]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        # Frequencies drawn with a radially decaying density inside the band; phases uniform.
        g = torch.randn([c, 2])
        r = g.norm(dim=1, keepdim=True)
        freqs = g / (r * torch.exp(r.square() / 4)) * self.bandwidth
        self.register_buffer("transform", torch.eye(3))  # inverse transform of the image, set by the user
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([c]) - 0.5)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        cos, sin, tx, ty = t.unbind(1)
        # Rows of (inverse rotation) @ (inverse translation), then composed with the user transform.
        rows = torch.stack(
            [
                torch.stack([cos, -sin, sin * ty - cos * tx], dim=1),
                torch.stack([sin, cos, -sin * tx - cos * ty], dim=1),
            ],
            dim=1,
        )
        m = rows @ self.transform.to(rows.dtype)  # [N, 2, 3]
        freqs = self.freqs @ m[:, :, :2]  # [N, C, 2]
        phases = self.phases + (self.freqs @ m[:, :, 2:]).squeeze(2)  # [N, C]
        amplitude = 1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        amplitude = amplitude.clamp(0, 1)

        # Pixel centres in units of the sampling period, centred on the image.
        pos = (torch.arange(self.size, device=w.device, dtype=torch.float64) + 0.5 - self.size / 2) / (
            self.sampling_rate
        )
        pos = pos.to(t.dtype)
        fx, fy = freqs[:, None, None, :, 0], freqs[:, None, None, :, 1]
        x = pos[None, None, :, None] * fx + pos[None, :, None, None] * fy + phases[:, None, None, :]
        x = torch.sin(x * (2 * math.pi)) * amplitude[:, None, None, :]  # [N, H, W, C]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return (
            f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
            f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}"
        )


class SynthesisLayer(nn.Module):
    """Modulated convolution followed by the filtered leaky ReLU; the last layer (ToRGB) is a modulated
    1x1 convolution without demodulation and with a linear activation."""

    def __init__(self, w_dim: int, geometry: LayerGeometry, conv_clamp: float | None) -> None:
        super().__init__()
        g = geometry
        self.geometry = g
        self.w_dim = w_dim
        self.in_channels, self.out_channels = g.in_channels, g.out_channels
        self.conv_clamp = conv_clamp

        self.weight = nn.Parameter(torch.randn([g.out_channels, g.in_channels, g.conv_kernel, g.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([g.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        up_filter = lowpass_filter(g.up_taps, g.in_cutoff, g.in_half_width * 2, g.tmp_rate)
        design = radial_lowpass_filter if g.radial else lowpass_filter
        down_filter = design(g.down_taps, g.out_cutoff, g.out_half_width * 2, g.tmp_rate)
        self.register_buffer("up_filter", up_filter)  # None (so absent from the state dict) for one tap
        self.register_buffer("down_filter", down_filter)
        self.affine = FullyConnectedLayer(w_dim, g.in_channels, bias_init=1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        g = self.geometry
        styles = self.affine(w)
        input_gain = self.magnitude_ema.rsqrt()
        if g.is_torgb:
            styles = styles * (1 / math.sqrt(g.in_channels * g.conv_kernel**2))
            x = x * (styles * input_gain).to(x.dtype)[:, :, None, None]
            x = F.conv2d(x, self.weight.to(x.dtype), padding=g.conv_kernel - 1)
        else:
            x = _modulated_conv(x, self.weight, styles, input_gain, padding=g.conv_kernel - 1)
        return filtered_lrelu(
            x,
            self.up_filter,
            self.down_filter,
            self.bias,
            up=g.up,
            down=g.down,
            padding=g.padding,
            gain=1.0 if g.is_torgb else SQRT2,
            slope=1.0 if g.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )

    def extra_repr(self) -> str:
        g = self.geometry
        return (
            f"in={g.in_channels}x{g.in_size}@{g.in_rate}, out={g.out_channels}x{g.out_size}@{g.out_rate}, "
            f"up={g.up}, down={g.down}, cutoff={g.in_cutoff:g}->{g.out_cutoff:g}, torgb={g.is_torgb}, "
            f"radial={g.radial}"
        )


class SynthesisNetwork(nn.Module):
    """ws ``[N, num_ws, w_dim]`` -> image ``[N, img_channels, img_resolution, img_resolution]``.

    ``ws[:, 0]`` drives the Fourier input, ``ws[:, i + 1]`` layer ``i``; the result is scaled by
    ``output_scale``.
    """

    def __init__(self, config: StyleGAN3Config) -> None:
        super().__init__()
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.num_ws = config.num_layers + 2
        self.output_scale = config.output_scale
        input_geometry, layer_geometry = synthesis_geometry(config)
        self.input = SynthesisInput(config.w_dim, input_geometry)
        self.layer_names: list[str] = []
        for g in layer_geometry:
            setattr(self, g.name, SynthesisLayer(config.w_dim, g, config.conv_clamp))
            self.layer_names.append(g.name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        """``noise_mode`` is accepted for interface parity with StyleGAN2 and has no effect: StyleGAN3 has
        no noise inputs."""
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x = self.input(ws[:, 0])
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x, ws[:, i + 1])
        if self.output_scale != 1:
            x = x * self.output_scale
        return x

    def extra_repr(self) -> str:
        return f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}"


class StyleGAN3Generator(StyleGenerator):
    """z (and class c) -> w via :class:`MappingNetwork`, then ws -> image via :class:`SynthesisNetwork`."""

    family = "stylegan3"

    def __init__(self, config: StyleGAN3Config) -> None:
        super().__init__(config, SynthesisNetwork(config))
