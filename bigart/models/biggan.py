"""BigGAN-deep generator (Brock et al. 2019), in pure PyTorch.

Parameter and buffer names follow the state-dict layout of Hugging Face's ``pytorch_pretrained_biggan``
(``embeddings.weight``, ``generator.gen_z.weight_orig``, ``generator.layers.3.bn_1.running_means`` ...), so the
published ``pytorch_model.bin`` files load into it unchanged. The module reads from the smallest piece to the whole:
spectrally normalised layers, the truncation-indexed batch norms, the residual block, self-attention, the network.

Inference semantics are those of the reference model in ``eval()`` mode: spectral normalisation divides each
weight by ``u · (W v)`` computed from the stored vectors, without a power iteration and without changing ``u`` or
``v``. The reference's ``BigGAN.from_pretrained`` does not call ``eval()``, so its default (train-mode) behaviour
runs one power iteration per call and mutates ``u``/``v``; that drifts from call to call and is not reproduced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from bigart.models.config import ConfigDict

Tensor = torch.Tensor

# [upsample?, in_mult, out_mult] per residual block, as in the published 128/256/512 px checkpoints.
LAYERS_128 = [
    [False, 16, 16],
    [True, 16, 16],
    [False, 16, 16],
    [True, 16, 8],
    [False, 8, 8],
    [True, 8, 4],
    [False, 4, 4],
    [True, 4, 2],
    [False, 2, 2],
    [True, 2, 1],
]
LAYERS_256 = [*LAYERS_128[:5], [True, 8, 8], [False, 8, 8], [True, 8, 4], *LAYERS_128[6:]]
LAYERS_512 = [*LAYERS_256, [False, 1, 1], [True, 1, 1]]
PUBLISHED_LAYERS = {128: LAYERS_128, 256: LAYERS_256, 512: LAYERS_512}


def _layer(spec: Any) -> list:
    """One ``[up, in_mult, out_mult]`` entry, normalised to ``[bool, int, int]`` (JSON gives lists)."""
    bad = ValueError(f"a BigGAN layer must be [upsample, in_mult, out_mult] (bool, int, int), got {spec!r}")
    if not isinstance(spec, list | tuple) or len(spec) != 3:
        raise bad
    up, cin, cout = spec
    if not isinstance(up, bool | int) or not all(isinstance(c, int | float) and int(c) == c > 0 for c in (cin, cout)):
        raise bad
    return [bool(up), int(cin), int(cout)]


@dataclass
class BigGANConfig(ConfigDict):
    label: ClassVar[str] = "BigGAN"

    """Hyper-parameters of a BigGAN-deep generator, field for field the published ``config.json``.

    ``layers`` lists ``[upsample, in_mult, out_mult]`` per residual block (channels are multiples of
    ``channel_width``). Self-attention sits before block ``attention_layer_position``; a position outside
    ``0..len(layers)-1`` means no attention. ``class_embed_dim`` and ``output_dim`` are recorded but not used by
    the network (the class embedding is ``num_classes -> z_dim``; the resolution follows from ``layers``).
    """

    z_dim: int = 128
    class_embed_dim: int = 128
    channel_width: int = 128
    num_classes: int = 1000
    layers: list[list] = field(default_factory=lambda: [list(x) for x in LAYERS_128])
    attention_layer_position: int = 8
    eps: float = 1e-4
    n_stats: int = 51
    output_dim: int | None = None

    def __post_init__(self) -> None:
        self.layers = [_layer(x) for x in self.layers]
        for name in ("z_dim", "class_embed_dim", "channel_width", "num_classes", "n_stats", "attention_layer_position"):
            setattr(self, name, int(getattr(self, name)))
        self.eps = float(self.eps)
        if self.output_dim is None:
            self.output_dim = self.img_resolution
        self.output_dim = int(self.output_dim)
        ch = self.channel_width
        if min(self.z_dim, self.num_classes, ch) < 1:
            raise ValueError("z_dim, num_classes and channel_width must be positive")
        if self.n_stats < 2:
            raise ValueError(f"n_stats must be at least 2 (statistics for truncation 0 and 1), got {self.n_stats}")
        if not self.layers:
            raise ValueError("a BigGAN generator needs at least one residual block")
        if self.layers[0][1] != 16:
            raise ValueError(f"the first block must take 16 * channel_width channels, got in_mult {self.layers[0][1]}")
        if self.layers[-1][2] != 1:
            raise ValueError(f"the last block must give channel_width channels, got out_mult {self.layers[-1][2]}")
        if ch < 3:
            raise ValueError(f"channel_width must be at least 3 (RGB is taken from it), got {ch}")
        for i, (_, cin, cout) in enumerate(self.layers):
            if i and cin != self.layers[i - 1][2]:
                raise ValueError(f"block {i} takes in_mult {cin} but block {i - 1} gives {self.layers[i - 1][2]}")
            c_in, c_out = ch * cin, ch * cout
            if c_in < 4 or (c_out != c_in and c_out != c_in // 2):
                raise ValueError(
                    f"block {i}: {c_in} -> {c_out} channels; a block keeps or halves its channels (at least 4 in)"
                )
        if self.has_attention and ch * self.layers[self.attention_layer_position][1] < 8:
            raise ValueError("self-attention needs at least 8 channels where it sits")

    @property
    def img_resolution(self) -> int:
        """4 px doubled by every upsampling block."""
        return 4 * 2 ** sum(1 for up, _, _ in self.layers if up)

    @property
    def has_attention(self) -> bool:
        return 0 <= self.attention_layer_position < len(self.layers)

    @classmethod
    def from_hf_config(cls, d: dict[str, Any]) -> BigGANConfig:
        """From a ``pytorch_pretrained_biggan`` ``config.json`` dict.

        As the reference does, missing keys take the 128 px defaults; keys this model does not use are ignored.
        """
        if not isinstance(d, dict):
            raise ValueError(f"a BigGAN config.json must hold an object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_hf_config(self) -> dict[str, Any]:
        """The dict the reference writes as ``config.json`` (sorted keys when dumped)."""
        return self.to_dict()


# --------------------------------------------------------------------------------------------------------------
# Spectrally normalised layers (eval semantics)


def spectral_normalized(weight_orig: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``weight_orig / sigma`` with ``sigma = u · (W v)``, ``W`` the weight flattened to ``[out, -1]``.

    This is ``torch.nn.utils.spectral_norm`` in eval mode: the stored ``u``, ``v`` are used as they are.
    """
    sigma = torch.dot(u, torch.mv(weight_orig.reshape(weight_orig.shape[0], -1), v))
    return weight_orig / sigma


class _SpectralNormed(nn.Module):
    """Holds ``bias`` (optional), ``weight_orig`` and the buffers ``weight_u``, ``weight_v``, in that order
    (the order ``torch.nn.utils.spectral_norm`` leaves them in a state dict)."""

    def __init__(self, shape: tuple[int, ...], bias: bool) -> None:
        super().__init__()
        fan_in = math.prod(shape[1:])
        bound = 1 / math.sqrt(fan_in)
        if bias:
            self.bias = nn.Parameter(torch.empty(shape[0]).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)
        self.weight_orig = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        u, v = _power_vectors(self.weight_orig.detach().reshape(shape[0], -1))
        self.register_buffer("weight_u", u)
        self.register_buffer("weight_v", v)

    @property
    def weight(self) -> Tensor:
        return spectral_normalized(self.weight_orig, self.weight_u, self.weight_v)


def _power_vectors(w: Tensor, steps: int = 10) -> tuple[Tensor, Tensor]:
    """Approximate leading singular vectors of a fresh weight, so a random-initialised net has sane scales."""
    v = F.normalize(torch.randn(w.shape[1]), dim=0)
    u = F.normalize(w @ v, dim=0)
    for _ in range(steps):
        v = F.normalize(w.t() @ u, dim=0)
        u = F.normalize(w @ v, dim=0)
    return u, v


class SNLinear(_SpectralNormed):
    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__((out_features, in_features), bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


class SNConv2d(_SpectralNormed):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        super().__init__((out_channels, in_channels, kernel_size, kernel_size), bias)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, padding=self.padding)


# --------------------------------------------------------------------------------------------------------------
# Batch norms with statistics per truncation


def check_truncation(truncation: float) -> float:
    """The truncation as a float in (0, 1], or ValueError: BigGAN keeps batch-norm statistics only for that range."""
    t = float(truncation)
    if not (0.0 < t <= 1.0):  # also rejects NaN
        raise ValueError(f"BigGAN truncation must be in (0, 1], got {truncation}")
    return t


def truncation_statistics(means: Tensor, variances: Tensor, truncation: float) -> tuple[Tensor, Tensor]:
    """Mean and variance ``[C]`` for ``truncation`` from the per-truncation tables ``[n_stats, C]``.

    As the reference computes it: ``coef, i = modf(truncation / step)``, ``step = 1 / (n_stats - 1)``; when
    ``coef`` is 0 the row ``i`` is used as is, otherwise ``row[i] * coef + row[i + 1] * (1 - coef)`` — note the
    weights are the reverse of linear interpolation, and a truncation such as 0.7 whose quotient is not exactly
    whole in floating point lands almost entirely on row ``i + 1``. Reproduced bit for bit, quirks included.
    (Where ``i + 1`` would run past the table, which the published 51 rows never do, the last row stands in.)
    """
    step = 1.0 / (means.shape[0] - 1)
    coef, whole = math.modf(truncation / step)
    i = int(whole)
    if coef == 0.0:
        return means[i], variances[i]
    j = min(i + 1, means.shape[0] - 1)
    return means[i] * coef + means[j] * (1 - coef), variances[i] * coef + variances[j] * (1 - coef)


def _statistics(norm: nn.Module, x: Tensor, truncation: float) -> tuple[Tensor, Tensor]:
    """The batch's own mean and (biased) variance per channel while training (``batch_stats``), else the stored
    statistics for ``truncation``."""
    if norm.batch_stats:
        return x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    return truncation_statistics(norm.running_means, norm.running_vars, truncation)


class ConditionalNorm(nn.Module):
    """Batch norm with fixed statistics chosen by truncation and a class/noise-conditional gain and bias:
    ``(x - mean) / sqrt(var + eps) * (1 + scale(cond)) + offset(cond)``.

    ``batch_stats = True`` (set by the trainer) normalises with each batch's statistics instead, as in training;
    the per-truncation tables are then filled afterwards ("standing statistics")."""

    batch_stats = False

    def __init__(self, channels: int, cond_dim: int, n_stats: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        self.scale = SNLinear(cond_dim, channels, bias=False)
        self.offset = SNLinear(cond_dim, channels, bias=False)

    def forward(self, x: Tensor, cond: Tensor, truncation: float) -> Tensor:
        mean, var = _statistics(self, x, truncation)
        gain = 1 + self.scale(cond)[:, :, None, None]
        bias = self.offset(cond)[:, :, None, None]
        return (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps) * gain + bias


class OutputNorm(nn.Module):
    """The last batch norm: statistics chosen by truncation, a learned per-channel affine, no conditioning
    (``batch_stats`` as for :class:`ConditionalNorm`)."""

    batch_stats = False

    def __init__(self, channels: int, n_stats: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))

    def forward(self, x: Tensor, truncation: float) -> Tensor:
        if self.batch_stats:
            mean, var = _statistics(self, x, truncation)
            x = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps)
            return x * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        mean, var = truncation_statistics(self.running_means, self.running_vars, truncation)
        return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)


# --------------------------------------------------------------------------------------------------------------
# Blocks


class DeepResBlock(nn.Module):
    """BigGAN-deep residual block: a 1x1 bottleneck to a quarter of the channels, two 3x3 convolutions (the first
    after an optional nearest x2 upsampling), a 1x1 back out; every convolution preceded by conditional norm and
    ReLU. The skip path keeps the first ``out`` channels and upsamples the same way."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, up: bool, n_stats: int, eps: float) -> None:
        super().__init__()
        mid = c_in // 4
        self.up = up
        self.c_out = c_out
        # registration order = the published state-dict order
        self.bn_0 = ConditionalNorm(c_in, cond_dim, n_stats, eps)
        self.conv_0 = SNConv2d(c_in, mid, 1)
        self.bn_1 = ConditionalNorm(mid, cond_dim, n_stats, eps)
        self.conv_1 = SNConv2d(mid, mid, 3)
        self.bn_2 = ConditionalNorm(mid, cond_dim, n_stats, eps)
        self.conv_2 = SNConv2d(mid, mid, 3)
        self.bn_3 = ConditionalNorm(mid, cond_dim, n_stats, eps)
        self.conv_3 = SNConv2d(mid, c_out, 1)

    def forward(self, x: Tensor, cond: Tensor, truncation: float) -> Tensor:
        h = self.conv_0(F.relu(self.bn_0(x, cond, truncation)))
        h = F.relu(self.bn_1(h, cond, truncation))
        if self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv_1(h)
        h = self.conv_2(F.relu(self.bn_2(h, cond, truncation)))
        h = self.conv_3(F.relu(self.bn_3(h, cond, truncation)))
        skip = x[:, : self.c_out] if self.c_out != x.shape[1] else x
        if self.up:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return h + skip


class SelfAttention(nn.Module):
    """SAGAN self-attention: queries at full resolution, keys and values max-pooled x2, added back with ``gamma``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.snconv1x1_theta = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_phi = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_g = SNConv2d(channels, channels // 2, 1, bias=False)
        self.snconv1x1_o_conv = SNConv2d(channels // 2, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        query = self.snconv1x1_theta(x).reshape(n, c // 8, h * w)
        key = F.max_pool2d(self.snconv1x1_phi(x), 2).reshape(n, c // 8, h * w // 4)
        value = F.max_pool2d(self.snconv1x1_g(x), 2).reshape(n, c // 2, h * w // 4)
        attention = torch.softmax(torch.bmm(query.transpose(1, 2), key), dim=-1)  # [n, hw, hw/4]
        out = torch.bmm(value, attention.transpose(1, 2)).reshape(n, c // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(out)


class Synthesis(nn.Module):
    """From the condition vector ``[z, class embedding]`` to RGB: a 4x4 start, the blocks, norm, ReLU, 3x3 conv,
    the first three channels, tanh. Named ``generator`` in the published state dict."""

    def __init__(self, cfg: BigGANConfig) -> None:
        super().__init__()
        ch = cfg.channel_width
        cond_dim = 2 * cfg.z_dim
        self.channel_width = ch
        self.gen_z = SNLinear(cond_dim, 4 * 4 * 16 * ch)
        layers: list[nn.Module] = []
        for i, (up, cin, cout) in enumerate(cfg.layers):
            if i == cfg.attention_layer_position:
                layers.append(SelfAttention(ch * cin))
            layers.append(DeepResBlock(ch * cin, ch * cout, cond_dim, up, cfg.n_stats, cfg.eps))
        self.layers = nn.ModuleList(layers)
        self.bn = OutputNorm(ch, cfg.n_stats, cfg.eps)
        self.conv_to_rgb = SNConv2d(ch, ch, 3)

    def forward(self, cond: Tensor, truncation: float) -> Tensor:
        # the dense layer's output is laid out [4, 4, C] (TensorFlow's NHWC), hence the permute
        x = self.gen_z(cond).reshape(-1, 4, 4, 16 * self.channel_width).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, cond, truncation) if isinstance(layer, DeepResBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])


class BigGANGenerator(nn.Module):
    """BigGAN-deep: ``forward(z [N, z_dim], class_vector [N, num_classes], truncation) -> [N, 3, R, R]`` in [-1, 1].

    ``class_vector`` is dense: one-hot for a class, any weights for a mixture (the embedding is linear in it).
    ``truncation`` in (0, 1] picks the batch-norm statistics; draw ``z`` from the matching truncated normal
    (``bigart.latent.biggan.truncated_z``). Matches the reference ``BigGAN`` in ``eval()`` mode.
    """

    family = "biggan"

    def __init__(self, config: BigGANConfig) -> None:
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.num_classes = config.num_classes
        self.img_resolution = config.img_resolution
        self.img_channels = 3
        self.embeddings = nn.Linear(config.num_classes, config.z_dim, bias=False)
        self.generator = Synthesis(config)

    def info(self) -> dict[str, Any]:
        """What ``bigart inspect`` shows about this generator."""
        cfg = self.config
        return {
            "resolution": self.img_resolution,
            "img_channels": self.img_channels,
            "z_dim": self.z_dim,
            "num_classes": self.num_classes,
            "channel_width": cfg.channel_width,
            "n_layers": len(cfg.layers),
            "attention_layer_position": cfg.attention_layer_position if cfg.has_attention else None,
            "n_stats": cfg.n_stats,
        }

    def forward(self, z: Tensor, class_vector: Tensor, truncation: float) -> Tensor:
        truncation = check_truncation(truncation)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must be [N, {self.z_dim}], got {list(z.shape)}")
        if class_vector.ndim != 2 or tuple(class_vector.shape) != (z.shape[0], self.num_classes):
            raise ValueError(
                f"class_vector must be [{z.shape[0]}, {self.num_classes}] (dense class weights), "
                f"got {list(class_vector.shape)}"
            )
        dtype = self.embeddings.weight.dtype
        cond = torch.cat((z.to(dtype), self.embeddings(class_vector.to(dtype))), dim=1)
        return self.generator(cond, truncation)
