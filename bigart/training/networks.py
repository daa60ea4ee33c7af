"""Discriminators for training, written from the papers: one per generator family.

* :class:`StyleGAN2Discriminator` — the residual discriminator of StyleGAN2 (Karras et al. 2020): a 1x1 ``fromrgb``
  at the top resolution, residual blocks that halve the resolution (``conv0`` 3x3, ``conv1`` 3x3 with FIR
  downsampling, a 1x1 ``skip``, both branches scaled by sqrt(1/2)), and at 4x4 the epilogue: minibatch standard
  deviation, a 3x3 conv, a dense layer, the output; with classes, projection onto an embedding of the label
  (Miyato & Koyama 2018). Equalised learning rate throughout. Layer names are those of the published
  StyleGAN2-ADA state dicts (``b64.conv0.weight``, ``b4.fc.weight`` ...), so a ``D`` from such a pickle loads.
* :class:`BigGANDiscriminator` — BigGAN's projection discriminator (Brock et al. 2019): residual blocks with
  spectral normalisation and average-pool downsampling, ReLU, sum pooling, a linear output plus the inner product
  of the features with a class embedding.
* :class:`PatchDiscriminator` — the 70x70 PatchGAN of pix2pix/CycleGAN (Isola et al. 2017): 4x4 convolutions,
  ``n_layers`` of them with stride 2, instance norm, leaky ReLU, one logit per patch. Layer indices follow the
  published ``net_D`` files (``model.0.weight`` ...).

Each has ``blocks()``, the parts in order from the image, so the first K can be frozen for fine-tuning (FreezeD).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from bigart.models.config import ConfigDict
from bigart.models.mapping import FullyConnectedLayer, MappingNetwork
from bigart.models.ops import SQRT2, bias_act, conv2d_resample, setup_filter
from bigart.models.stylegan2 import block_resolutions

Tensor = torch.Tensor

# --------------------------------------------------------------------------------------------------------------
# StyleGAN2


class Conv2dLayer(nn.Module):
    """Equalised-learning-rate convolution with optional FIR downsampling, bias, activation and clamp."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        down: int = 1,
        resample_filter: list[float] | None = None,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.padding = kernel_size // 2
        self.weight_gain = 1 / np.sqrt(in_channels * kernel_size**2)
        self.act_gain = SQRT2 if activation == "lrelu" else 1.0
        self.register_buffer("resample_filter", setup_filter(resample_filter or [1, 3, 3, 1]))
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        x = conv2d_resample(x, w, f=self.resample_filter, down=self.down, padding=self.padding)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class DiscriminatorBlock(nn.Module):
    """One resolution of the residual discriminator: ``[fromrgb] -> conv0 -> conv1 (down)`` plus ``skip (down)``."""

    def __init__(
        self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int, conv_clamp: float | None
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x: Tensor | None, img: Tensor) -> Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


def minibatch_stddev(x: Tensor, group_size: int, num_channels: int = 1) -> Tensor:
    """Append the standard deviation of each feature over groups of ``group_size`` images, averaged over
    features and pixels in ``num_channels`` slices, as extra channels. Group members are strided through the
    batch (image ``i`` is grouped with ``i + N/G``, ``i + 2N/G`` ...)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        g = math.gcd(n, g)
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [N/G, F]
    y = y.reshape(-1, num_channels, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


class MinibatchStd(nn.Module):
    def __init__(self, group_size: int, num_channels: int) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: Tensor) -> Tensor:
        return minibatch_stddev(x, self.group_size, self.num_channels)


class DiscriminatorEpilogue(nn.Module):
    """At 4x4: minibatch stddev, 3x3 conv, dense, output (1 logit, or a projection onto the class map)."""

    def __init__(
        self,
        channels: int,
        cmap_dim: int,
        resolution: int,
        mbstd_group_size: int,
        mbstd_num_channels: int,
        conv_clamp: float | None,
    ) -> None:
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd = MinibatchStd(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(channels + mbstd_num_channels, channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(channels * resolution**2, channels, activation="lrelu")
        self.out = FullyConnectedLayer(channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: Tensor, cmap: Tensor | None) -> Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.fc(self.conv(x).flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            x = (x * cmap.to(x.dtype)).sum(dim=1, keepdim=True) * (1 / np.sqrt(self.cmap_dim))
        return x


@dataclass
class StyleGAN2DConfig(ConfigDict):
    """The residual discriminator; ``channels`` maps each resolution (img_resolution ... 4) to its width."""

    label: ClassVar[str] = "StyleGAN2 discriminator"

    img_resolution: int
    channels: dict[int, int]
    img_channels: int = 3
    c_dim: int = 0
    cmap_dim: int | None = None  # None: channels[4]
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1
    mapping_layers: int = 8
    conv_clamp: float | None = None

    def __post_init__(self) -> None:
        self.channels = {int(k): int(v) for k, v in self.channels.items()}
        if self.img_resolution < 8 or self.img_resolution & (self.img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, got {self.img_resolution}")
        missing = [r for r in block_resolutions(self.img_resolution) if r not in self.channels]
        if missing:
            raise ValueError(f"discriminator channels missing for resolutions {missing}")
        if self.c_dim > 0 and self.cmap_dim is None:
            self.cmap_dim = self.channels[4]

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        return d


class StyleGAN2Discriminator(nn.Module):
    """``forward(img [N, C, R, R], c [N, c_dim] or None) -> logits [N, 1]``."""

    def __init__(self, config: StyleGAN2DConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.c_dim = cfg.c_dim
        res = cfg.img_resolution
        self.resolutions = [r for r in reversed(block_resolutions(res)) if r > 4]
        for r in self.resolutions:
            in_ch = cfg.channels[r] if r < res else 0
            block = DiscriminatorBlock(in_ch, cfg.channels[r], cfg.channels[r // 2], cfg.img_channels, cfg.conv_clamp)
            setattr(self, f"b{r}", block)
        cmap_dim = cfg.cmap_dim if cfg.c_dim > 0 else 0
        if cfg.c_dim > 0:
            self.mapping = MappingNetwork(
                0, cfg.c_dim, cmap_dim, num_ws=1, num_layers=cfg.mapping_layers, embed_features=cmap_dim
            )
        self.b4 = DiscriminatorEpilogue(
            cfg.channels[4], cmap_dim, 4, cfg.mbstd_group_size, cfg.mbstd_num_channels, cfg.conv_clamp
        )

    def blocks(self) -> list[nn.Module]:
        return [getattr(self, f"b{r}") for r in self.resolutions] + [self.b4]

    def forward(self, img: Tensor, c: Tensor | None = None) -> Tensor:
        x = None
        for r in self.resolutions:
            x = getattr(self, f"b{r}")(x, img)
        cmap = None
        if self.c_dim > 0:
            if c is None or c.shape != (img.shape[0], self.c_dim):
                raise ValueError(f"this discriminator is conditional: c must be [N, {self.c_dim}]")
            cmap = self.mapping(None, c)[:, 0]
        return self.b4(x, cmap)


def stylegan2_d_config_from_tensors(
    sd: dict[str, Tensor], init_kwargs: dict[str, Any] | None = None
) -> StyleGAN2DConfig:
    """A residual discriminator's configuration from its state dict (the published layout), plus the options that
    shapes do not show (minibatch group size, clamp) from the constructor arguments when known."""
    kw = dict(init_kwargs or {})
    epilogue = dict(kw.get("epilogue_kwargs") or {})
    resolutions = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"b(\d+)\.conv0\.weight", k)))
    if not resolutions or "b4.fc.weight" not in sd:
        raise ValueError("not a residual StyleGAN2 discriminator (no b*.conv0 / b4.fc)")
    top = resolutions[-1]
    if f"b{top}.fromrgb.weight" not in sd or any(f"b{r}.fromrgb.weight" in sd for r in resolutions[:-1]):
        raise ValueError("only the residual ('resnet') discriminator architecture is supported")
    channels = {r: sd[f"b{r}.conv0.weight"].shape[0] for r in resolutions}
    channels[4] = sd["b4.conv.weight"].shape[0]
    embed = sd.get("mapping.embed.weight")
    c_dim = 0 if embed is None else embed.shape[1]
    mapping_layers = len([k for k in sd if re.fullmatch(r"mapping\.fc\d+\.weight", k)])
    return StyleGAN2DConfig(
        img_resolution=top,
        channels=channels,
        img_channels=sd[f"b{top}.fromrgb.weight"].shape[1],
        c_dim=c_dim,
        cmap_dim=sd["b4.out.weight"].shape[0] if c_dim else None,
        mbstd_group_size=int(epilogue.get("mbstd_group_size") or 4),
        mbstd_num_channels=sd["b4.conv.weight"].shape[1] - channels[4],
        mapping_layers=mapping_layers or 8,
        conv_clamp=None if kw.get("conv_clamp") is None else float(kw["conv_clamp"]),
    )


# --------------------------------------------------------------------------------------------------------------
# BigGAN


def _sn(module: nn.Module) -> nn.Module:
    return spectral_norm(module, eps=1e-6)


class DBlock(nn.Module):
    """BigGAN discriminator block: ``[ReLU] -> conv3x3 -> ReLU -> conv3x3 -> [avgpool]`` plus a learned shortcut.

    The first block has no pre-activation (the input is an image) and pools before its 1x1 shortcut; the others
    apply the shortcut first, then pool."""

    def __init__(self, in_channels: int, out_channels: int, preactivation: bool, down: bool) -> None:
        super().__init__()
        self.preactivation, self.down = preactivation, down
        self.conv1 = _sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = _sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.learnable_sc = in_channels != out_channels or down
        if self.learnable_sc:
            self.conv_sc = _sn(nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        sc = x
        if self.learnable_sc:
            if self.preactivation:
                sc = self.conv_sc(sc)
                sc = F.avg_pool2d(sc, 2) if self.down else sc
            else:
                sc = F.avg_pool2d(sc, 2) if self.down else sc
                sc = self.conv_sc(sc)
        return h + sc


def biggan_d_channels(img_resolution: int, channel_width: int = 64, channel_max_mult: int = 16) -> list[int]:
    """Widths of the blocks: one halving block per octave down to 4x4, then one at 4x4; ``ch * 1, 2, 4 ...``."""
    n_down = int(math.log2(img_resolution)) - 2
    mults = [min(2**i, channel_max_mult) for i in range(n_down)]
    return [channel_width * m for m in [*mults, mults[-1] if mults else 1]]


@dataclass
class BigGANDConfig(ConfigDict):
    """BigGAN projection discriminator: ``channels`` lists the blocks' widths; all but the last halve the size."""

    label: ClassVar[str] = "BigGAN discriminator"

    img_resolution: int
    num_classes: int
    channels: list[int] = field(default_factory=list)
    img_channels: int = 3

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = biggan_d_channels(self.img_resolution)
        self.channels = [int(c) for c in self.channels]
        n_down = int(math.log2(self.img_resolution)) - 2
        if len(self.channels) != n_down + 1:
            raise ValueError(
                f"a {self.img_resolution} px BigGAN discriminator needs {n_down + 1} block widths "
                f"({n_down} halving to 4x4, one at 4x4), got {len(self.channels)}"
            )


class BigGANDiscriminator(nn.Module):
    """``forward(img [N, C, R, R], class_vector [N, num_classes] (dense weights)) -> logits [N, 1]``."""

    def __init__(self, config: BigGANDConfig) -> None:
        super().__init__()
        self.config = cfg = config
        chans = [cfg.img_channels, *cfg.channels]
        self.layers = nn.ModuleList(
            DBlock(chans[i], chans[i + 1], preactivation=i > 0, down=i < len(cfg.channels) - 1)
            for i in range(len(cfg.channels))
        )
        self.linear = _sn(nn.Linear(cfg.channels[-1], 1))
        self.embed = _sn(nn.Linear(cfg.num_classes, cfg.channels[-1], bias=False))

    def blocks(self) -> list[nn.Module]:
        return list(self.layers)

    def forward(self, img: Tensor, class_vector: Tensor) -> Tensor:
        h = img
        for block in self.layers:
            h = block(h)
        h = F.relu(h).sum(dim=[2, 3])
        out = self.linear(h)
        return out + (self.embed(class_vector.to(h.dtype)) * h).sum(dim=1, keepdim=True)


# --------------------------------------------------------------------------------------------------------------
# PatchGAN


@dataclass
class PatchDConfig(ConfigDict):
    """PatchGAN: ``n_layers`` stride-2 4x4 convolutions (70x70 receptive field at 3), ``ndf`` base width."""

    label: ClassVar[str] = "PatchGAN discriminator"

    input_nc: int = 3
    ndf: int = 64
    n_layers: int = 3
    norm: str = "instance"

    def __post_init__(self) -> None:
        if self.norm not in ("instance", "batch", "none"):
            raise ValueError(f"norm must be instance, batch or none, got {self.norm!r}")
        if self.n_layers < 1:
            raise ValueError("a PatchGAN needs n_layers >= 1")

    def min_size(self) -> int:
        """The smallest input that still gives at least one patch logit."""
        size = 1
        for _ in range(2):  # the two stride-1 convolutions (k4, p1) take 1 pixel each
            size += 1
        for _ in range(self.n_layers):  # stride-2 convolutions (k4, p1) halve the size
            size *= 2
        return size


def _patch_norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class PatchDiscriminator(nn.Module):
    """``forward(img) -> [N, 1, h, w]`` logits, one per overlapping patch."""

    def __init__(self, config: PatchDConfig) -> None:
        super().__init__()
        self.config = cfg = config
        use_bias = cfg.norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(cfg.input_nc, cfg.ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        self._starts = [0]
        mult = 1
        for n in range(1, cfg.n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            self._starts.append(len(layers))
            layers += [
                nn.Conv2d(
                    cfg.ndf * prev, cfg.ndf * mult, 4, stride=2 if n < cfg.n_layers else 1, padding=1, bias=use_bias
                ),
                _patch_norm(cfg.norm, cfg.ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        self._starts.append(len(layers))
        layers.append(nn.Conv2d(cfg.ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def blocks(self) -> list[nn.Module]:
        ends = [*self._starts[1:], len(self.model)]
        return [nn.Sequential(*self.model[s:e]) for s, e in zip(self._starts, ends, strict=True)]

    def forward(self, img: Tensor) -> Tensor:
        return self.model(img)


class CycleDiscriminators(nn.Module):
    """The two PatchGANs of a CycleGAN: ``D_A`` judges images in domain B (outputs of A->B), ``D_B`` in domain A."""

    def __init__(self, config: PatchDConfig, config_b: PatchDConfig | None = None) -> None:
        super().__init__()
        self.config = config
        self.D_A = PatchDiscriminator(config)
        self.D_B = PatchDiscriminator(config_b or config)

    def blocks(self) -> list[nn.Module]:
        return [nn.ModuleList(pair) for pair in zip(self.D_A.blocks(), self.D_B.blocks(), strict=True)]

    def forward(self, img: Tensor, which: str) -> Tensor:
        return (self.D_A if which == "A" else self.D_B)(img)


def freeze_blocks(d: nn.Module, k: int) -> list[str]:
    """Stop gradients to the first ``k`` blocks of discriminator ``d`` (from the image side); returns the names of
    the frozen parameters."""
    if k <= 0:
        return []
    blocks = d.blocks()
    if k > len(blocks):
        raise ValueError(f"cannot freeze {k} blocks: the discriminator has {len(blocks)}")
    frozen_ids = set()
    for block in blocks[:k]:
        for p in block.parameters():
            p.requires_grad_(False)
            frozen_ids.add(id(p))
    return [name for name, p in d.named_parameters() if id(p) in frozen_ids]
