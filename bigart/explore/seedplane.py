"""Fractional seed positions as saved w latents: the seed pad of the app, Qt-free.

A position ``(x, y)`` on the seed plane (:mod:`bigart.latent.seedplane`) is a seed when both coordinates are whole,
and otherwise the bilinear blend of the untruncated w of the four neighbour seeds, which the state keeps as a saved
``w`` latent. Truncation is affine and the weights sum to 1, so truncating the blend (as every render does) equals
blending the truncated w. The mapping of each neighbour seed is cached: a drag visits the same few seeds many times.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from bigart.engine.engine import Engine
from bigart.latent.seedplane import seed_at, seed_plane_w
from bigart.latent.seeds import z_from_seeds


class SeedPlane:
    """Seed-plane positions of one StyleGAN model -> the state fields that show them."""

    def __init__(self, model: Any, cache_size: int = 64) -> None:
        self.model = model
        self.cache_size = cache_size
        self._engine: Engine | None = None
        self._cache: OrderedDict[tuple[int, tuple[tuple[int, float], ...]], np.ndarray] = OrderedDict()

    def w_of_seed(self, seed: int, class_weights: tuple[tuple[int, float], ...] = ()) -> np.ndarray:
        """The untruncated w+ ``[num_ws, w_dim]`` of ``seed`` (with the class of a conditional model)."""
        key = (int(seed), tuple(class_weights))
        w = self._cache.get(key)
        if w is not None:
            self._cache.move_to_end(key)
            return w
        if self._engine is None:
            import torch

            self._engine = Engine(self.model, "torch", threads=torch.get_num_threads())  # leaves threads as they are
        g = self.model.generator
        c = None
        if g.c_dim:
            c = np.zeros((1, g.c_dim), np.float32)
            for index, weight in class_weights:
                c[0, index] += weight
        w = self._engine.map(z_from_seeds((int(seed),), g.z_dim), c, psi=1.0)[0]
        self._cache[key] = w
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return w

    def fields(self, x: float, y: float, class_weights: tuple[tuple[int, float], ...] = ()) -> dict[str, Any]:
        """The state fields for position ``(x, y)``: a plain seed at whole positions, else a saved w blend
        (``seed`` is then the seed at the lower-left neighbour, which a recipe records as the seed shown)."""
        from bigart.explore.state import latent_array

        if float(x).is_integer() and float(y).is_integer():
            return {"seed": seed_at(int(x), int(y)), "latent": None, "latent_space": "z"}
        w = seed_plane_w(x, y, lambda s: self.w_of_seed(s, class_weights))
        return {
            "seed": seed_at(math.floor(x), math.floor(y)),
            "latent": latent_array(w),
            "latent_space": "w",
        }
