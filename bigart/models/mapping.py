"""The StyleGAN mapping network, z (and class c) -> w, shared by StyleGAN2 and StyleGAN3."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from bigart.models.ops import SQRT2, bias_act, normalize_2nd_moment


class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer: stored weight ``randn / lr_multiplier``, scaled at run time."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        x = x.matmul(w.t())
        return bias_act(x, b, act=self.activation, gain=SQRT2 if self.activation == "lrelu" else 1.0)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


class MappingNetwork(nn.Module):
    """Normalised z (concatenated with a normalised class embedding when ``c_dim > 0``) through
    ``num_layers`` leaky-ReLU layers to w, broadcast to ``num_ws`` layers, then truncated.

    Parameter names follow the published layout: ``fc{i}.weight/bias``, ``embed.*``, buffer ``w_avg``.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        lr_multiplier: float = 0.01,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = (
            z_dim,
            c_dim,
            w_dim,
            num_ws,
            num_layers,
        )
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        psi: float = 1.0,
        cutoff: int | None = None,
    ) -> torch.Tensor:
        """``[N, num_ws, w_dim]`` from ``z [N, z_dim]`` and ``c [N, c_dim]``; truncation towards ``w_avg``."""
        x = None
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must be [N, {self.z_dim}], got {None if z is None else tuple(z.shape)}")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(
                    f"this model is class-conditional: c must be [N, {self.c_dim}], "
                    f"got {None if c is None else tuple(c.shape)}"
                )
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if psi != 1:
            w_avg = self.w_avg.to(ws.dtype)
            if cutoff is None:
                ws = w_avg + psi * (ws - w_avg)
            else:
                ws = torch.cat([w_avg + psi * (ws[:, :cutoff] - w_avg), ws[:, cutoff:]], dim=1)
        return ws


class StyleGenerator(nn.Module):
    """z (+ class c) -> mapping -> w+ -> synthesis -> image, the shape both StyleGAN families share.

    Subclasses pass their synthesis network (which knows its ``num_ws``) and the mapping's extra options.
    """

    family = ""

    def __init__(self, config: Any, synthesis: nn.Module, **mapping_kwargs: Any) -> None:
        super().__init__()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.synthesis = synthesis
        self.num_ws = synthesis.num_ws
        self.mapping = MappingNetwork(
            config.z_dim,
            config.c_dim,
            config.w_dim,
            self.num_ws,
            num_layers=config.mapping_layers,
            lr_multiplier=config.mapping_lr_multiplier,
            **mapping_kwargs,
        )

    def info(self) -> dict[str, Any]:
        """What ``bigart inspect`` shows about this generator."""
        return {
            "resolution": self.img_resolution,
            "img_channels": self.img_channels,
            "z_dim": self.z_dim,
            "w_dim": self.w_dim,
            "c_dim": self.c_dim,
            "num_ws": self.num_ws,
            "mapping_layers": self.mapping.num_layers,
        }

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        psi: float = 1.0,
        cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        """Images ``[N, img_channels, R, R]`` (nominally in [-1, 1]) from ``z [N, z_dim]``; truncation
        ``psi`` towards ``w_avg`` on the first ``cutoff`` ws (all when None)."""
        return self.synthesis(self.mapping(z, c, psi=psi, cutoff=cutoff), noise_mode=noise_mode)
