"""What the latent-direction math (:mod:`bigart.latent.directions`, numpy only) needs from a generator: the weights
that read the latent (for SeFa) and sampled latents (for PCA).

Which w+ index each StyleGAN layer reads:

* StyleGAN2: block ``b4`` reads ``ws[0]`` (conv1) and ``ws[1]`` (torgb); block ``k >= 1`` (``b8``, ``b16``, ...)
  reads ``ws[2k - 1]``, ``ws[2k]``, ``ws[2k + 1]`` in conv0, conv1, torgb. A ToRGB therefore shares its index with
  the next block's conv0, and only the last ToRGB has an index of its own (``num_ws - 1``).
* StyleGAN3: the Fourier input reads ``ws[0]``, synthesis layer ``i`` (``L0_...`` to the ToRGB ``L{n}_...``) reads
  ``ws[i + 1]``. The input's affine sets the rotation and translation of the Fourier features, not a style, and is
  never included.

ToRGB layers follow the official SeFa choice by default (``torgb='sefa'``): a ToRGB is included only when no
convolution reads its w index, i.e. the last one. ``'all'`` includes every ToRGB whose index is chosen,
``'none'`` none.

BigGAN has no w: SeFa reads the z columns of the layers the condition vector ``[z, class embedding]`` enters:
"layer" 0 is the first linear layer (``generator.gen_z``), layer ``j >= 1`` the four class-conditional batch
norms (gains and offsets) of residual block ``j - 1``. Spectral normalisation is applied as in inference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from bigart.latent.directions import Directions
from bigart.models.biggan import BigGANGenerator, DeepResBlock
from bigart.models.mapping import FullyConnectedLayer
from bigart.models.stylegan2 import StyleGAN2Generator
from bigart.models.stylegan3 import StyleGAN3Generator

TORGB_POLICIES = ("sefa", "all", "none")


def _generator(model: Any) -> nn.Module:
    """A generator module from a generator or a ``LoadedModel`` (a BigGAN generator has a ``.generator`` too)."""
    return model if isinstance(model, nn.Module) else model.generator


def _effective(fc: FullyConnectedLayer) -> np.ndarray:
    """The weight the layer multiplies by at run time: stored weight times ``weight_gain``, float64 ``[out, in]``."""
    return fc.weight.detach().to(torch.float64).cpu().numpy() * float(fc.weight_gain)


def stylegan_affine_layers(generator: nn.Module) -> list[tuple[str, int, bool, FullyConnectedLayer]]:
    """``(name, w index, is ToRGB, affine layer)`` for every style affine of a StyleGAN2/3 synthesis network, in
    network order (see the module docstring for the indices)."""
    g = _generator(generator)
    syn = g.synthesis
    out: list[tuple[str, int, bool, FullyConnectedLayer]] = []
    if isinstance(g, StyleGAN2Generator):
        for k, res in enumerate(syn.resolutions):
            block = getattr(syn, f"b{res}")
            if k > 0:
                out.append((f"b{res}.conv0", 2 * k - 1, False, block.conv0.affine))
            out.append((f"b{res}.conv1", 2 * k, False, block.conv1.affine))
            if block.num_torgb:
                out.append((f"b{res}.torgb", 2 * k + 1, True, block.torgb.affine))
    elif isinstance(g, StyleGAN3Generator):
        for i, name in enumerate(syn.layer_names):
            layer = getattr(syn, name)
            out.append((name, i + 1, layer.geometry.is_torgb, layer.affine))
    else:
        raise TypeError(f"style affine weights exist in StyleGAN2/3 generators, not in {type(g).__name__}")
    return out


def _chosen(layers: Iterable[int] | None, num: int, what: str) -> set[int]:
    if layers is None:
        return set(range(num))
    chosen = {int(i) for i in layers}
    bad = sorted(i for i in chosen if not 0 <= i < num)
    if bad:
        raise ValueError(f"{what} {bad} do not exist: this generator has {what} 0 to {num - 1}")
    if not chosen:
        raise ValueError(f"no {what} chosen")
    return chosen


def style_affine_weights(generator: Any, layers: Iterable[int] | None = None, torgb: str = "sefa") -> list[np.ndarray]:
    """The effective style affine weights ``[in_channels, w_dim]`` (float64, stored weight times the layer's
    ``weight_gain``) of the StyleGAN2/3 synthesis layers whose w index is in ``layers`` (a range or indices; None =
    all), in network order. ``torgb`` picks the ToRGB layers, see the module docstring."""
    if torgb not in TORGB_POLICIES:
        raise ValueError(f"torgb must be one of {TORGB_POLICIES}, got {torgb!r}")
    g = _generator(generator)
    entries = stylegan_affine_layers(g)
    chosen = _chosen(layers, g.num_ws, "w+ layers")
    conv_indices = {idx for _, idx, is_rgb, _ in entries if not is_rgb}
    out = []
    for _name, idx, is_rgb, fc in entries:
        if idx not in chosen:
            continue
        if is_rgb and (torgb == "none" or (torgb == "sefa" and idx in conv_indices)):
            continue
        out.append(_effective(fc))
    if not out:
        raise ValueError(f"no style layers read w+ layers {sorted(chosen)} (with torgb={torgb!r})")
    return out


def biggan_z_weights(generator: Any, layers: Iterable[int] | None = None) -> list[np.ndarray]:
    """BigGAN weights that read z, float64 ``[out, z_dim]``: the z columns of ``gen_z`` (layer 0) and of the
    class-conditional norms' gains and offsets of each residual block (layer ``j`` = block ``j - 1``)."""
    g = _generator(generator)
    if not isinstance(g, BigGANGenerator):
        raise TypeError(f"expected a BigGAN generator, got {type(g).__name__}")
    z_dim = g.z_dim
    blocks = [m for m in g.generator.layers if isinstance(m, DeepResBlock)]
    chosen = _chosen(layers, 1 + len(blocks), "BigGAN layers")

    def z_columns(layer: nn.Module) -> np.ndarray:
        with torch.no_grad():
            return layer.weight.detach().to(torch.float64).cpu().numpy()[:, :z_dim]

    out = []
    if 0 in chosen:
        out.append(z_columns(g.generator.gen_z))
    for j, block in enumerate(blocks, start=1):
        if j in chosen:
            for bn in (block.bn_0, block.bn_1, block.bn_2, block.bn_3):
                out.extend((z_columns(bn.scale), z_columns(bn.offset)))
    return out


def sefa_weights(model: Any, layers: Iterable[int] | None = None, torgb: str = "sefa") -> list[np.ndarray]:
    """The SeFa weights of any supported generator (StyleGAN2/3: style affines; BigGAN: what reads z)."""
    g = _generator(model)
    if isinstance(g, BigGANGenerator):
        return biggan_z_weights(g, layers)
    return style_affine_weights(g, layers, torgb)


def sefa_directions(
    model: Any, k: int | None = None, layers: range | None = None, torgb: str = "sefa", normalize: bool = True
) -> Directions:
    """SeFa :class:`Directions` of a generator or ``LoadedModel`` (whose sha256 they then carry), in w for
    StyleGAN (acting on ``layers``) and z for BigGAN."""
    g = _generator(model)
    space = "z" if isinstance(g, BigGANGenerator) else "w"
    weights = sefa_weights(g, layers, torgb)
    return Directions.from_sefa(
        weights,
        k,
        layers=layers if space == "w" else None,
        space=space,
        model_sha256=getattr(model, "sha256", None),
        normalize=normalize,
    )


@torch.no_grad()
def sample_w(generator: Any, n: int, seed: int = 0, c: np.ndarray | None = None, batch_size: int = 4096) -> np.ndarray:
    """``[n, w_dim]`` float32: the mapping's w (no truncation) of ``n`` z drawn from ``RandomState(seed)``, for
    GANSpace-style PCA. A class-conditional generator gets ``c [n, c_dim]``, or a random one-hot class per sample
    (drawn from the same generator before the z). The z are drawn batch by batch from one stream, so the result
    does not depend on ``batch_size`` beyond float rounding, and a million samples need no giant z array."""
    g = _generator(generator)
    if isinstance(g, BigGANGenerator) or not hasattr(g, "mapping"):
        raise TypeError(f"sample_w needs a StyleGAN generator, got {type(g).__name__}")
    n = int(n)
    rnd = np.random.RandomState(int(seed))
    if g.c_dim > 0 and c is None:
        classes = rnd.randint(g.c_dim, size=n)
        c = np.zeros((n, g.c_dim), np.float32)
        c[np.arange(n), classes] = 1
    device = next(g.parameters()).device
    out = np.zeros((n, g.w_dim), np.float32)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        zb = torch.from_numpy(rnd.randn(stop - start, g.z_dim).astype(np.float32)).to(device)
        cb = None if c is None else torch.as_tensor(np.asarray(c, np.float32)[start:stop], device=device)
        out[start:stop] = g.mapping(zb, cb)[:, 0].float().cpu().numpy()
    return out


@torch.no_grad()
def sample_biggan_features(
    generator: Any, n: int, seed: int = 0, class_vector: np.ndarray | None = None, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """``(z [n, z_dim], features [n, F])``: standard-normal z from ``RandomState(seed)`` and the output of BigGAN's
    first linear layer for them (GANSpace's PCA of an early feature, to regress back to z with
    ``pca_directions(features, k, latents=z)``). The class is ``class_vector [num_classes]`` (dense weights), or a
    random one-hot class per sample drawn after the z."""
    g = _generator(generator)
    if not isinstance(g, BigGANGenerator):
        raise TypeError(f"expected a BigGAN generator, got {type(g).__name__}")
    rnd = np.random.RandomState(int(seed))
    z = rnd.randn(int(n), g.z_dim).astype(np.float32)
    if class_vector is None:
        classes = np.eye(g.num_classes, dtype=np.float32)[rnd.randint(g.num_classes, size=int(n))]
    else:
        classes = np.broadcast_to(np.asarray(class_vector, np.float32), (int(n), g.num_classes))
    device = next(g.parameters()).device
    feats = []
    for start in range(0, int(n), batch_size):
        zb = torch.from_numpy(z[start : start + batch_size]).to(device)
        cb = torch.from_numpy(np.ascontiguousarray(classes[start : start + batch_size])).to(device)
        cond = torch.cat((zb, g.embeddings(cb)), dim=1)
        feats.append(g.generator.gen_z(cond).float().cpu().numpy())
    return z, np.concatenate(feats) if feats else np.zeros((0, 0), np.float32)
