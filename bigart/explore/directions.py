"""Direction files and slider slots, both ways: what "load directions" and "save directions" in the app do.

A :class:`~bigart.latent.Directions` acting on some w+ layers becomes slots whose vectors are ``[num_ws, D]`` with
zeros outside those layers (the offset the engine adds); saving slots finds those layers again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bigart.engine.request import FrozenArray
from bigart.explore.state import STYLEGAN, DirectionSlot
from bigart.latent.directions import Directions


def latent_dim(model: Any) -> tuple[str, int]:
    """The space directions of ``model`` live in and its size: ``('w', w_dim)`` for StyleGAN, ``('z', z_dim)`` for
    BigGAN; ValueError for a family without latent directions."""
    g = model.generator
    if model.family in STYLEGAN:
        return "w", int(g.w_dim)
    if model.family == "biggan":
        return "z", int(g.z_dim)
    raise ValueError(f"a {model.family} model has no latent space to move in")


def slots_of(directions: Directions, model: Any) -> tuple[DirectionSlot, ...]:
    """Slider slots (at 0) for every direction of ``directions``, checked against ``model``'s latent space."""
    space, dim = latent_dim(model)
    if directions.space != space or directions.dim != dim:
        raise ValueError(
            f"these directions live in {directions.space} with {directions.dim} features; "
            f"this model moves in {space} with {dim}"
        )
    num_ws = getattr(model.generator, "num_ws", None)
    return tuple(
        DirectionSlot(name, FrozenArray.of(directions.layered(i, num_ws))) for i, name in enumerate(directions.names)
    )


def directions_of(slots: tuple[DirectionSlot, ...], model: Any) -> Directions:
    """A :class:`Directions` holding the slots' vectors and names (to save); per-layer vectors must share one
    contiguous range of layers and one vector on them."""
    if not slots:
        raise ValueError("there are no directions to save")
    space, _ = latent_dim(model)
    vectors = [s.vector.numpy() for s in slots]
    layers = None
    if vectors[0].ndim == 2:
        used = np.flatnonzero(np.abs(vectors[0]).sum(axis=1) > 0)
        if used.size == 0 or not np.array_equal(used, np.arange(used[0], used[-1] + 1)):
            raise ValueError("a direction acts on no layers or on layers that are not one range")
        layers = range(int(used[0]), int(used[-1]) + 1)
        rows = []
        for v in vectors:
            row = v[layers.start]
            expected = np.zeros_like(v)
            expected[layers.start : layers.stop] = row
            if v.shape != vectors[0].shape or not np.array_equal(v, expected):
                raise ValueError("the directions act on different layers: they cannot share one file")
            rows.append(row)
        vectors = rows
    elif any(v.ndim != 1 for v in vectors):
        raise ValueError("the directions mix whole-latent and per-layer vectors: they cannot share one file")
    return Directions(
        np.stack(vectors),
        tuple(s.name for s in slots),
        kind="user",
        space=space,
        layers=layers,
        model_sha256=model.sha256,
    )
