"""The whole exploration state as one frozen value, and the render request and recipe state it makes.

Every widget of the app edits a field of :class:`ExploreState` through the session; nothing else decides what is
rendered. Equal states make equal (and equally hashed) requests, so an unchanged picture is never rendered twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from bigart.engine.recipe import Recipe
from bigart.engine.request import NOISE_MODES, FrozenArray, RenderRequest

STYLEGAN = ("stylegan2", "stylegan3")
STATE_VERSION = 1


@dataclass(frozen=True)
class DirectionSlot:
    """One direction slider: a name, its offset vector (``[D]`` or ``[num_ws, D]``) and where the slider is."""

    name: str
    vector: FrozenArray
    value: float = 0.0


@dataclass(frozen=True)
class ExploreState:
    """What the artist has set. Fields that do not apply to the loaded model's family are ignored.

    Latent: ``seed``, or a saved ``latent`` (``latent_space`` ``'z'`` ``[1, z_dim]`` or ``'w'`` ``[1, w_dim]`` /
    ``[1, num_ws, w_dim]``). ``psi``/``cutoff``: truncation (BigGAN: truncation in (0, 1]). ``mix_seed`` and
    ``mix_layers``: the w+ layers that take their style from another seed. ``directions``: slider slots.
    ``class_weights``: sparse ``(index, weight)`` pairs. ``image``: what a CycleGAN model translates.
    """

    seed: int = 0
    latent: FrozenArray | None = None
    latent_space: str = "z"
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    mix_seed: int | None = None
    mix_layers: tuple[int, ...] = ()
    directions: tuple[DirectionSlot, ...] = ()
    class_weights: tuple[tuple[int, float], ...] = ()
    image: FrozenArray | None = None
    image_name: str = ""
    translate_direction: str = "AtoB"
    tile: int | None = 512
    backend: str = "torch"

    def __post_init__(self) -> None:
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {self.noise_mode!r}")
        if self.latent_space not in ("z", "w"):
            raise ValueError(f"latent space must be z or w, got {self.latent_space!r}")
        if not math.isfinite(self.psi):
            raise ValueError("truncation psi must be a finite number")
        if self.seed < 0 or (self.mix_seed is not None and self.mix_seed < 0):
            raise ValueError("seeds are whole numbers from 0")
        if any(not math.isfinite(s.value) for s in self.directions):
            raise ValueError("direction values must be finite")

    def with_direction(self, index: int, value: float) -> ExploreState:
        slots = list(self.directions)
        slots[index] = replace(slots[index], value=float(value))
        return replace(self, directions=tuple(slots))

    def request(self, family: str, num_ws: int = 0) -> RenderRequest:
        """The render request for a model of ``family`` (StyleGAN: ``num_ws`` layers)."""
        if family == "cyclegan":
            if self.image is None:
                raise ValueError("open or drop an image to translate")
            return RenderRequest(image=self.image, direction=self.translate_direction, tile=self.tile)
        common: dict[str, Any] = {"psi": self.psi, "class_weights": self.class_weights}
        if family in STYLEGAN:
            common.update(cutoff=self.cutoff, noise_mode=self.noise_mode)
            if self.mix_seed is not None and self.mix_layers:
                sources = [0] * num_ws
                for layer in self.mix_layers:
                    if not 0 <= layer < num_ws:
                        raise ValueError(f"mixing layer {layer} does not exist (layers 0..{num_ws - 1})")
                    sources[layer] = 1
                common.update(mix_seeds=(self.mix_seed,), mixing=tuple(sources))
        moved = tuple((s.vector, s.value) for s in self.directions if s.value != 0)
        if moved:
            common["directions"] = moved
        if self.latent is None:
            return RenderRequest(seeds=(self.seed,), **common)
        if self.latent_space == "w":
            if family not in STYLEGAN:
                raise ValueError("a saved w latent needs a StyleGAN model")
            return RenderRequest(ws=self.latent, **common)
        return RenderRequest(z=self.latent, **common)

    # -- recipes -------------------------------------------------------------------------------------------------

    def recipe_state(self) -> dict[str, Any]:
        """What a recipe's ``state`` keeps beyond the request: slider names and positions, the seed shown."""
        out: dict[str, Any] = {"version": STATE_VERSION, "seed": self.seed, "backend": self.backend}
        if self.mix_seed is not None:
            out.update(mix_seed=self.mix_seed, mix_layers=list(self.mix_layers))
        if self.directions:
            out["directions"] = [{"name": s.name, "value": s.value} for s in self.directions]
        if self.image_name:
            out["image_name"] = self.image_name
        return out

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> ExploreState:
        """The state that made a recipe's image (direction sliders come back with their names when recorded)."""
        r, st = recipe.request, recipe.state or {}
        kwargs: dict[str, Any] = {
            "psi": r.psi,
            "cutoff": r.cutoff,
            "noise_mode": r.noise_mode,
            "class_weights": r.class_weights,
            "backend": recipe.backend if recipe.backend in ("torch", "onnx") else "torch",
        }
        if r.seeds:
            kwargs["seed"] = r.seeds[0]
        elif r.z is not None:
            kwargs.update(latent=r.z, latent_space="z", seed=int(st.get("seed", 0)))
        elif r.ws is not None:
            kwargs.update(latent=r.ws, latent_space="w", seed=int(st.get("seed", 0)))
        if r.mix_seeds and r.mixing:
            kwargs.update(mix_seed=r.mix_seeds[0], mix_layers=tuple(i for i, k in enumerate(r.mixing) if k == 1))
        names = [d.get("name") for d in st.get("directions", ()) if isinstance(d, dict) and d.get("value")]
        if r.directions:
            kwargs["directions"] = tuple(
                DirectionSlot(names[i] if i < len(names) and names[i] else f"direction {i}", v, s)
                for i, (v, s) in enumerate(r.directions)
            )
        if r.image is not None:
            kwargs.update(
                image=r.image,
                image_name=recipe.image.file if recipe.image else str(st.get("image_name", "")),
                translate_direction=r.direction,
                tile=r.tile,
            )
        return cls(**kwargs)


FIELDS = frozenset(f.name for f in fields(ExploreState))


def latent_array(values: np.ndarray) -> FrozenArray:
    """A saved latent as the state keeps it (float32, batch of one)."""
    a = np.asarray(values, np.float32)
    return FrozenArray.of(a[None] if a.ndim == 1 or (a.ndim == 2 and a.shape[0] != 1) else a)
