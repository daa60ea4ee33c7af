"""CycleGAN / pix2pix generators (Zhu et al. 2017; Isola et al. 2017) in the junyanz file layout.

Two architectures: the ResNet generator (7x7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks,
two transposed-conv upsamplings, 7x7 head, tanh) and the U-Net (``num_downs`` stride-2 levels with skip
concatenations). Parameter names follow ``torch.save(net.state_dict())`` of the published code: our modules
are laid out in ``nn.Sequential`` containers at the same indices. A ``CycleGANModel`` holds one or both
translation directions, ``AtoB`` and ``BtoA``.

Inference uses eval semantics: batch norm with its running statistics and dropout off. (The pix2pix test
script runs batch norm on test-batch statistics unless ``--eval`` is given; we do not reproduce that.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from bigart.models.config import ConfigDict

DIRECTIONS = ("AtoB", "BtoA")
NORMS = ("instance", "batch", "none")


@dataclass
class CycleGANConfig(ConfigDict):
    label: ClassVar[str] = "CycleGAN"

    """A generator architecture; ``directions`` lists which translation directions the model holds."""

    kind: str = "resnet"  # 'resnet' | 'unet'
    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    norm: str = "instance"
    use_dropout: bool = False
    n_blocks: int = 9  # resnet
    num_downs: int = 8  # unet
    directions: list[str] = field(default_factory=lambda: ["AtoB"])

    def __post_init__(self) -> None:
        if self.kind not in ("resnet", "unet"):
            raise ValueError(f"CycleGAN generator kind must be 'resnet' or 'unet', got {self.kind!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if not self.directions or any(d not in DIRECTIONS for d in self.directions):
            raise ValueError(f"directions must be a non-empty subset of {DIRECTIONS}, got {self.directions!r}")
        if self.kind == "unet" and self.num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {self.num_downs}")
        if self.kind == "resnet" and self.n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {self.n_blocks}")

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this."""
        return 4 if self.kind == "resnet" else 2**self.num_downs


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


class ResnetBlock(nn.Module):
    """x + (reflect-pad, 3x3 conv, norm, ReLU, [dropout], reflect-pad, 3x3 conv, norm)(x)."""

    def __init__(self, dim: int, norm: str, use_dropout: bool, use_bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=use_bias),
            _norm(norm, dim),
            nn.ReLU(True),
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), _norm(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        ngf, use_bias = cfg.ngf, cfg.norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(cfg.input_nc, ngf, 7, bias=use_bias),
            _norm(cfg.norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            c = ngf * 2**i
            layers += [
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=use_bias),
                _norm(cfg.norm, 2 * c),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4, cfg.norm, cfg.use_dropout, use_bias) for _ in range(cfg.n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                _norm(cfg.norm, c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cfg.output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetBlock(nn.Module):
    """One U-Net level: down (conv 4x4 s2), the inner levels, up (transposed conv 4x4 s2); the input is
    concatenated to the output except at the outermost level."""

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        norm: str,
        input_nc: int | None = None,
        inner: UnetBlock | None = None,
        outermost: bool = False,
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm != "batch"
        input_nc = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
        layers: list[nn.Module]
        if outermost:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
            layers = [down_conv, inner, nn.ReLU(True), up_conv, nn.Tanh()]
        elif inner is None:  # innermost
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, _norm(norm, outer_nc)]
        else:
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, _norm(norm, inner_nc), inner, nn.ReLU(True), up_conv]
            layers.append(_norm(norm, outer_nc))
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        ngf, norm = cfg.ngf, cfg.norm
        block = UnetBlock(ngf * 8, ngf * 8, norm)
        for _ in range(cfg.num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, norm, inner=block, use_dropout=cfg.use_dropout)
        for mult in (4, 2, 1):
            block = UnetBlock(ngf * mult, ngf * mult * 2, norm, inner=block)
        self.model = UnetBlock(cfg.output_nc, ngf, norm, input_nc=cfg.input_nc, inner=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class CycleGANModel(nn.Module):
    """One or both translation directions of a CycleGAN (or a pix2pix generator as ``AtoB``)."""

    family = "cyclegan"

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        self.config = config
        net = ResnetGenerator if config.kind == "resnet" else UnetGenerator
        for d in config.directions:
            # B -> A maps output_nc channels back to input_nc, as CycleGAN's second generator does
            swapped = replace(config, input_nc=config.output_nc, output_nc=config.input_nc)
            setattr(self, d, net(config if d == "AtoB" else swapped))
        self.size_multiple = config.size_multiple
        self.input_nc, self.output_nc = config.input_nc, config.output_nc

    @property
    def directions(self) -> list[str]:
        return list(self.config.directions)

    def info(self) -> dict[str, Any]:
        c = self.config
        return {
            "kind": f"resnet_{c.n_blocks}blocks" if c.kind == "resnet" else f"unet (num_downs {c.num_downs})",
            "ngf": c.ngf,
            "norm": c.norm,
            "input_nc": c.input_nc,
            "output_nc": c.output_nc,
            "directions": ", ".join(c.directions),
            "size_multiple": c.size_multiple,
        }

    def forward(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """``[N, input_nc, H, W]`` in [-1, 1] -> ``[N, output_nc, H, W]``; H and W multiples of ``size_multiple``."""
        if direction not in self.config.directions:
            raise ValueError(f"this model translates {' and '.join(self.config.directions)}, not {direction}")
        nc = self.input_nc if direction == "AtoB" else self.output_nc
        if x.ndim != 4 or x.shape[1] != nc:
            raise ValueError(f"{direction} input must be [N, {nc}, H, W], got {tuple(x.shape)}")
        m = self.size_multiple
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(f"height and width must be multiples of {m}, got {x.shape[2]}x{x.shape[3]}")
        return getattr(self, direction)(x)


# --- reading the published files -------------------------------------------------------------------------------

_RESNET_STEM = "model.1.weight"
_UNET_STEM = "model.model.0.weight"


def _bare(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A bare generator's keys (strip one ``AtoB.``/``BtoA.``/``module.`` prefix)."""
    return {k.split(".", 1)[1] if k.split(".", 1)[0] in (*DIRECTIONS, "module") else k: v for k, v in sd.items()}


def is_cyclegan(sd: dict[str, torch.Tensor]) -> bool:
    keys = set(_bare(sd))
    if _UNET_STEM in keys:
        return True
    w = sd.get(_RESNET_STEM)
    if w is None:
        w = next((v for k, v in sd.items() if k.endswith("." + _RESNET_STEM) and k.count(".") == 3), None)
    return w is not None and w.ndim == 4 and tuple(w.shape[-2:]) == (7, 7) and any(".conv_block." in k for k in keys)


def prepare(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Fix the published files' quirks and put each generator under its direction prefix.

    Files written by PyTorch 0.4-era code hold ``running_mean``/``running_var``/``num_batches_tracked`` for
    InstanceNorm layers, which have no state (junyanz issues #318, #461): drop them. A norm layer without a
    ``weight`` is such an InstanceNorm (batch norm here is always affine).
    """
    sd = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not any(k.split(".", 1)[0] in DIRECTIONS for k in sd):
        sd = {f"AtoB.{k.removeprefix('module.')}": v for k, v in sd.items()}
    out = {}
    for k, v in sd.items():
        prefix, _, leaf = k.rpartition(".")
        if leaf in ("running_mean", "running_var", "num_batches_tracked") and f"{prefix}.weight" not in sd:
            continue
        out[k] = v
    return out


def config_from_tensors(sd: dict[str, torch.Tensor], sidecar: dict[str, Any] | None = None) -> CycleGANConfig:
    """Architecture of a prepared state dict from its names and shapes."""
    directions = [d for d in DIRECTIONS if any(k.startswith(d + ".") for k in sd)]
    d = directions[0]
    g = {k[len(d) + 1 :]: v for k, v in sd.items() if k.startswith(d + ".")}
    cfg = _generator_config(g)
    if d == "BtoA":
        cfg = replace(cfg, input_nc=cfg.output_nc, output_nc=cfg.input_nc)
    return replace(cfg, directions=directions)


def _generator_config(g: dict[str, torch.Tensor]) -> CycleGANConfig:
    if _UNET_STEM in g:
        stem = g[_UNET_STEM]
        ngf, input_nc = stem.shape[0], stem.shape[1]
        levels, prefix = 1, "model.model.1."
        while f"{prefix}model.1.weight" in g:
            levels += 1
            prefix += "model.3."
        norm = "batch" if "model.model.1.model.2.weight" in g else "instance"
        output_nc = g["model.model.3.weight"].shape[1]
        return CycleGANConfig(kind="unet", input_nc=input_nc, output_nc=output_nc, ngf=ngf, norm=norm, num_downs=levels)
    stem = g[_RESNET_STEM]
    ngf, input_nc = stem.shape[0], stem.shape[1]
    blocks = sorted({int(m.group(1)) for k in g if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    if blocks and blocks != list(range(10, 10 + len(blocks))):
        raise ValueError(f"ResNet blocks expected at model.10..., found at model.{blocks}")
    n_blocks = len(blocks)
    norm = "batch" if "model.2.weight" in g else "instance"
    # Dropout shifts the second conv from conv_block.5 to conv_block.6 (where batch norm's 1-D weight sits without it)
    second = g.get("model.10.conv_block.6.weight")
    dropout = second is not None and second.ndim == 4
    head = g[f"model.{17 + n_blocks}.weight"]
    return CycleGANConfig(
        kind="resnet",
        input_nc=input_nc,
        output_nc=head.shape[0],
        ngf=ngf,
        norm=norm,
        use_dropout=dropout,
        n_blocks=n_blocks,
    )


def read_folder(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, str] | None:
    """A junyanz checkpoints folder: ``<epoch>_net_G_A.pth`` + ``_net_G_B.pth`` (both directions, ``latest_``
    preferred) or ``<epoch>_net_G.pth`` (one direction). None when the folder holds neither."""
    from bigart.models.unpickle import load_torch_file

    def pick(suffix: str) -> Path | None:
        found = sorted(path.glob(f"*_net_{suffix}.pth"))
        latest = [p for p in found if p.name.startswith("latest_")]
        return (latest or found[-1:] or [None])[0]

    a, b, single = pick("G_A"), pick("G_B"), pick("G")
    files = {"AtoB": a, "BtoA": b} if a or b else {"AtoB": single}
    if not any(files.values()):
        return None
    sd: dict[str, torch.Tensor] = {}
    for direction, f in files.items():
        if f is None:
            continue
        part = load_torch_file(f)
        if not isinstance(part, dict) or not is_cyclegan(part):
            return None
        sd.update({f"{direction}.{k.removeprefix('AtoB.')}": v for k, v in prepare(part).items()})
    return sd, None, "junyanz-cyclegan"
