"""StyleGAN2 generator (Karras et al. 2020, with the ADA paper's layout), in pure PyTorch.

Parameter and buffer names follow the published StyleGAN2-ADA state-dict layout (``mapping.fc0.weight``,
``synthesis.b64.conv0.affine.weight`` ...), so NVIDIA pickles load into it directly and rosinality
checkpoints after renaming. The three synthesis architectures of the paper are supported: ``orig``
(RGB from the last block only), ``skip`` (RGB summed across resolutions) and ``resnet`` (residual blocks).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigart.models.config import ConfigDict
from bigart.models.mapping import FullyConnectedLayer, StyleGenerator
from bigart.models.ops import (
    POLYPHASE_MIN_SIZE,
    SQRT2,
    bias_act,
    conv2d_resample,
    demodulation,
    exporting_for_cpu,
    modulated_conv2d,
    setup_filter,
    upsample2d,
    upsample_conv2d_polyphase,
)

ARCHITECTURES = ("orig", "skip", "resnet")
NOISE_MODES = ("const", "random", "none")


def block_resolutions(img_resolution: int) -> list[int]:
    """4, 8, ..., img_resolution."""
    return [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]


def nvidia_channels(img_resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Channels per resolution the way the NVIDIA configs define them: ``min(channel_base // res, channel_max)``."""
    return {res: min(channel_base // res, channel_max) for res in block_resolutions(img_resolution)}


@dataclass
class StyleGAN2Config(ConfigDict):
    label: ClassVar[str] = "StyleGAN2"

    """Everything needed to build a StyleGAN2 generator. ``channels`` maps each block resolution to its width."""

    z_dim: int
    c_dim: int
    w_dim: int
    img_resolution: int
    channels: dict[int, int]
    img_channels: int = 3
    architecture: str = "skip"
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    mapping_embed_features: int | None = None
    mapping_layer_features: int | None = None
    conv_clamp: float | None = None
    use_noise: bool = True
    kernel_size: int = 3
    resample_filter: list[float] = field(default_factory=lambda: [1.0, 3.0, 3.0, 1.0])

    def __post_init__(self) -> None:
        self.channels = {int(k): int(v) for k, v in self.channels.items()}
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {res}")
        missing = [r for r in block_resolutions(res) if r not in self.channels]
        if missing:
            raise ValueError(f"channels missing for resolutions {missing}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.img_resolution)) - 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        return d

    @classmethod
    def from_nvidia_kwargs(cls, kw: dict[str, Any]) -> StyleGAN2Config:
        """From a ``Generator``'s init kwargs as stored in an NVIDIA pickle.

        StyleGAN2-ADA nests synthesis options in ``synthesis_kwargs``; the StyleGAN3 repository's StyleGAN2
        passes them flat. Training-only options (fp16, channels-last, EMA betas) do not change the image in fp32.
        """
        mapping = dict(kw.get("mapping_kwargs") or {})
        syn = dict(kw.get("synthesis_kwargs") or {})
        flat_keys = {k: v for k, v in kw.items() if k not in ("mapping_kwargs", "synthesis_kwargs")}
        syn.update(
            {
                k: v
                for k, v in flat_keys.items()
                if k not in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
            }
        )
        res = int(kw["img_resolution"])
        activation = syn.get("activation", "lrelu")
        if activation != "lrelu" or mapping.get("activation", "lrelu") != "lrelu":
            raise ValueError(f"only leaky-ReLU StyleGAN2 generators are supported, got {activation!r}")
        return cls(
            z_dim=int(kw["z_dim"]),
            c_dim=int(kw["c_dim"]),
            w_dim=int(kw["w_dim"]),
            img_resolution=res,
            img_channels=int(kw.get("img_channels", 3)),
            channels=nvidia_channels(res, int(syn.get("channel_base", 32768)), int(syn.get("channel_max", 512))),
            architecture=str(syn.get("architecture", "skip")),
            mapping_layers=int(mapping.get("num_layers", 8)),
            mapping_lr_multiplier=float(mapping.get("lr_multiplier", 0.01)),
            mapping_embed_features=mapping.get("embed_features"),
            mapping_layer_features=mapping.get("layer_features"),
            conv_clamp=None if syn.get("conv_clamp") is None else float(syn["conv_clamp"]),
            use_noise=bool(syn.get("use_noise", True)),
            kernel_size=int(syn.get("kernel_size", 3)),
            resample_filter=[float(v) for v in syn.get("resample_filter", [1, 3, 3, 1])],
        )


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally upsampling x2), per-pixel noise, bias, leaky ReLU, clamp."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        resample_filter: list[float] | None = None,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.resolution, self.up, self.use_noise, self.conv_clamp = resolution, up, use_noise, conv_clamp
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", setup_filter(resample_filter or [1, 3, 3, 1]))
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        styles = self.affine(w)
        if noise_mode != "random" and torch.onnx.is_in_onnx_export():
            return self._forward_for_onnx(x, styles, noise_mode)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = (
                torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device) * self.noise_strength
            )
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise=noise,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
        )
        return bias_act(x, self.bias, act="lrelu", gain=SQRT2, clamp=self.conv_clamp)

    def _forward_for_onnx(self, x: torch.Tensor, styles: torch.Tensor, noise_mode: str) -> torch.Tensor:
        """The same layer in fewer passes over the activations, for ONNX Runtime's CPU kernels.

        The activation gain moves in front of the leaky ReLU (``lrelu(a)*g == lrelu(g*a)`` for ``g > 0``), and
        demodulation, gain and bias become one per-channel affine map, written as a BatchNormalization over the
        ``N*C`` channels of the batch seen as one image (mean 0, variance 1). Equal to :meth:`forward` up to float
        rounding; the batch size stays dynamic.
        """
        x = x * styles.to(x.dtype)[:, :, None, None]
        weight, y = self.weight.to(x.dtype), None
        if self.up == 2 and exporting_for_cpu() and int(x.shape[-1]) >= POLYPHASE_MIN_SIZE:
            y = upsample_conv2d_polyphase(x, weight, self.resample_filter, self.padding)
        x = conv2d_resample(x, weight, f=self.resample_filter, up=self.up, padding=self.padding) if y is None else y
        demod = demodulation(styles, self.weight)
        n, c, h, w = x.shape
        nc = n * c
        x = F.batch_norm(
            x.reshape(1, nc, h, w),
            torch.zeros(1, dtype=x.dtype).expand(nc),
            torch.ones(1, dtype=x.dtype).expand(nc),
            (demod * SQRT2).reshape(nc),
            (self.bias * SQRT2).repeat(n),
            training=False,
            eps=0.0,
        ).reshape(n, c, h, w)
        if self.use_noise and noise_mode == "const":
            x = x + self.noise_const * (self.noise_strength * SQRT2)
        x = F.leaky_relu(x, 0.2)
        if self.conv_clamp is not None and self.conv_clamp >= 0:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to RGB without demodulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        if torch.onnx.is_in_onnx_export():
            # per-sample modulated weights [N, 3, C] times the pixels [N, C, H*W]: one batched matrix product
            # instead of a pass scaling the widest activations and a layout change for a 3-channel convolution
            n, c, h, w_ = x.shape
            wmod = self.weight[:, :, 0, 0].to(x.dtype)[None] * styles.to(x.dtype)[:, None, :]
            x = torch.matmul(wmod, x.reshape(n, c, h * w_)).reshape(n, -1, h, w_)
            return bias_act(x, self.bias, clamp=self.conv_clamp)
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SkipLayer(nn.Module):
    """The resnet architecture's shortcut: 1x1 convolution with x2 FIR upsampling, no bias."""

    def __init__(self, in_channels: int, out_channels: int, resample_filter: list[float] | None = None) -> None:
        super().__init__()
        self.register_buffer("resample_filter", setup_filter(resample_filter or [1, 3, 3, 1]))
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.weight_gain = 1 / np.sqrt(in_channels)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight.to(x.dtype) * (self.weight_gain * gain)
        return conv2d_resample(x, w, f=self.resample_filter, up=2)


class SynthesisBlock(nn.Module):
    """One resolution: (const | upsampling conv0) -> conv1 -> optional ToRGB, with the skip/resnet wiring."""

    def __init__(self, cfg: StyleGAN2Config, in_channels: int, out_channels: int, resolution: int) -> None:
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        self.architecture = cfg.architecture
        is_last = resolution == cfg.img_resolution
        layer = dict(
            w_dim=cfg.w_dim,
            resolution=resolution,
            kernel_size=cfg.kernel_size,
            use_noise=cfg.use_noise,
            resample_filter=cfg.resample_filter,
            conv_clamp=cfg.conv_clamp,
        )
        self.register_buffer("resample_filter", setup_filter(cfg.resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer)
        self.num_conv += 1
        if is_last or cfg.architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, cfg.img_channels, cfg.w_dim, conv_clamp=cfg.conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and cfg.architecture == "resnet":
            self.skip = SkipLayer(in_channels, out_channels, cfg.resample_filter)

    def forward(
        self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "const"
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        w = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, next(w), noise_mode)
        elif self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w), noise_mode)
            x = self.conv1(x, next(w), noise_mode)
            x = y + x * math.sqrt(0.5)  # the block output is scaled by sqrt(0.5), clamp included
        else:
            x = self.conv0(x, next(w), noise_mode)
            x = self.conv1(x, next(w), noise_mode)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, next(w))
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """w+ ``[N, num_ws, w_dim]`` -> image ``[N, C, H, W]``, one block per resolution ``b4`` ... ``b{res}``."""

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.resolutions = block_resolutions(cfg.img_resolution)
        self.num_ws = 0
        for res in self.resolutions:
            in_ch = cfg.channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(cfg, in_ch, cfg.channels[res], res)
            self.num_ws += block.num_conv
            if res == cfg.img_resolution:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.cfg.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.cfg.w_dim}], got {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws[:, w_idx : w_idx + block.num_conv + block.num_torgb], noise_mode)
            w_idx += block.num_conv
        return img


class StyleGAN2Generator(StyleGenerator):
    """z (+ class c) -> mapping -> w+ -> synthesis -> image in [-1, 1] (nominally)."""

    family = "stylegan2"

    def __init__(self, config: StyleGAN2Config) -> None:
        super().__init__(
            config,
            SynthesisNetwork(config),
            embed_features=config.mapping_embed_features,
            layer_features=config.mapping_layer_features,
        )
