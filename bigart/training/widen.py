"""Grow a trained StyleGAN2 generator wider without changing what it draws.

A model that has stopped improving at its width can go on training as a wider one from where it is, instead of
from scratch: every block may get more channels. The old channels keep their weights; a new channel gets the
fresh random weights a new network would have, and every weight that reads a new channel starts at zero. So
the widened generator draws exactly the images of the narrow one (to float rounding), and training then moves
the zero weights wherever the new channels help.

Why zero reads are exact: a modulated convolution demodulates each output channel by the norm of its
(modulated) weights, and zero weights add nothing to that norm; ToRGB is not demodulated but scales its
weights by ``1 / sqrt(in_channels)`` at run time, so its old weights are rescaled by ``sqrt(new / old)``.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from bigart.errors import BigartError
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, SynthesisLayer, ToRGBLayer


def widened_config(cfg: StyleGAN2Config, channels: dict) -> StyleGAN2Config:
    """``cfg`` with the given per-resolution channels, each at least the old width; refused otherwise."""
    new = {int(k): int(v) for k, v in channels.items()}
    if set(new) != set(cfg.channels):
        raise BigartError(
            f"widening a StyleGAN2 needs channels for exactly its resolutions {sorted(cfg.channels)}, got {sorted(new)}"
        )
    narrower = [f"{r} px: {cfg.channels[r]} -> {c}" for r, c in sorted(new.items()) if c < cfg.channels[r]]
    if narrower:
        raise BigartError(f"a base model can only be widened, not narrowed ({', '.join(narrower)})")
    return dataclasses.replace(cfg, channels=new)


@torch.no_grad()
def widen_stylegan2(g: StyleGAN2Generator, channels: dict, seed: int = 0) -> StyleGAN2Generator:
    """A copy of ``g`` with ``channels`` per block resolution, drawing the same images (see the module's text).

    New weights are drawn with ``torch.manual_seed(seed)``. Only the skip architecture (StyleGAN2's generator)
    is widened; a resnet generator is refused.
    """
    cfg = g.config
    if cfg.architecture != "skip":
        raise BigartError(f"only a skip-architecture StyleGAN2 generator can be widened, not {cfg.architecture!r}")
    torch.manual_seed(seed)
    wide = StyleGAN2Generator(widened_config(cfg, channels)).to(next(g.parameters()).device)
    old = dict(g.named_modules())
    layers = []
    for name, module in wide.named_modules():
        if isinstance(module, SynthesisLayer):
            _widen_conv(old[name], module)
        elif isinstance(module, ToRGBLayer):
            _widen_torgb(old[name], module)
        else:
            continue
        layers.append(name + ".")
    own = dict(wide.named_parameters()) | dict(wide.named_buffers())
    for name, src in [*g.named_parameters(), *g.named_buffers()]:
        if name.startswith(tuple(layers)):
            continue
        dst = own[name]
        if name.endswith(".const"):  # the 4x4 learned input: new channels keep their random values
            dst[: src.shape[0]].copy_(src)
        else:  # mapping network, w_avg, FIR filters: unchanged by width
            dst.copy_(src)
    return wide.train(g.training).requires_grad_(any(p.requires_grad for p in g.parameters()))


def _copy_affine(src: SynthesisLayer | ToRGBLayer, dst: SynthesisLayer | ToRGBLayer) -> None:
    """Styles for the old input channels as they were; the new channels' styles keep their fresh initialisation."""
    n = src.affine.weight.shape[0]
    dst.affine.weight[:n].copy_(src.affine.weight)
    dst.affine.bias[:n].copy_(src.affine.bias)


def _widen_conv(src: SynthesisLayer, dst: SynthesisLayer) -> None:
    out_old, in_old = src.weight.shape[:2]
    _copy_affine(src, dst)
    dst.weight[:out_old, :in_old].copy_(src.weight)
    dst.weight[:out_old, in_old:] = 0  # old outputs do not read the new inputs (new outputs read everything)
    dst.bias.zero_()
    dst.bias[:out_old].copy_(src.bias)
    if src.use_noise:
        dst.noise_const.copy_(src.noise_const)
        dst.noise_strength.copy_(src.noise_strength)
    dst.resample_filter.copy_(src.resample_filter)


def _widen_torgb(src: ToRGBLayer, dst: ToRGBLayer) -> None:
    in_old, in_new = src.weight.shape[1], dst.weight.shape[1]
    _copy_affine(src, dst)
    dst.weight.zero_()
    dst.weight[:, :in_old].copy_(src.weight * math.sqrt(in_new / in_old))  # undo the run-time 1/sqrt(in) change
    dst.bias.copy_(src.bias)
