"""What to render and what came back: frozen values that any family and either backend understand.

A ``RenderRequest`` is built from the whole exploration state; equal requests compare (and hash) equal, so a
request that did not change is never rendered twice. Arrays travel as ``FrozenArray`` (shape, dtype and bytes) to
stay hashable. A ``RenderResult`` carries the pixels, where the time went, and an error message instead of an
exception: the render thread never dies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NOISE_MODES = ("const", "random", "none")
DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class FrozenArray:
    """An immutable, hashable numpy array: ``FrozenArray.of(a)`` and back with ``.numpy()``."""

    shape: tuple[int, ...]
    dtype: str
    data: bytes = field(repr=False)

    @classmethod
    def of(cls, a: Any, dtype: Any = np.float32) -> FrozenArray:
        a = np.ascontiguousarray(a, dtype=dtype)
        return cls(tuple(int(s) for s in a.shape), a.dtype.str, a.tobytes())

    def numpy(self) -> np.ndarray:
        """A fresh writable copy."""
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape).copy()


@dataclass(frozen=True)
class RenderRequest:
    """One render, for any family; fields that do not apply to a model are left at their defaults.

    Latents, one image per row: ``seeds`` (StyleGAN: ``z_from_seeds``; BigGAN: truncated-normal z at ``psi``), or
    ``z [N, z_dim]``, or (StyleGAN) ``ws [N, num_ws, w_dim]`` / ``[N, w_dim]`` that skip the mapping network.
    ``psi``/``cutoff``: truncation towards ``w_avg`` (BigGAN: its truncation in (0, 1]). ``class_weights``: sparse
    ``(class index, weight)`` pairs, the same for every image. ``mixing``: style mixing, one source per ws layer
    (``MixingSchedule.sources``), 0 for the image's own latent and ``k`` for ``mix_seeds[k - 1]``.
    ``directions``: w-space offsets ``(vector [w_dim] or [num_ws, w_dim], strength)`` added after truncation and
    mixing. ``image``: uint8
    ``[H, W, 3 or 4]`` to translate (CycleGAN) ``direction``-wise, in tiles of ``tile`` pixels when larger, at
    ``working_size`` pixels on the long side when given (the result scaled back to the image's size).
    """

    seeds: tuple[int, ...] = ()
    z: FrozenArray | None = None
    ws: FrozenArray | None = None
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    class_weights: tuple[tuple[int, float], ...] = ()
    mix_seeds: tuple[int, ...] = ()
    mixing: tuple[int, ...] = ()
    directions: tuple[tuple[FrozenArray, float], ...] = ()
    image: FrozenArray | None = None
    direction: str = "AtoB"
    tile: int | None = 512
    overlap: int = 64
    working_size: int | None = None

    def __post_init__(self) -> None:
        sources = [name for name in ("seeds", "z", "ws", "image") if getattr(self, name) not in (None, ())]
        if len(sources) != 1:
            raise ValueError(f"a render request needs exactly one of seeds, z, ws or image; got {sources or 'none'}")
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {self.noise_mode!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be AtoB or BtoA, got {self.direction!r}")
        if self.cutoff is not None and self.cutoff < 0:
            raise ValueError(f"truncation cutoff must be >= 0, got {self.cutoff}")
        bad = [k for k in self.mixing if not 0 <= k <= len(self.mix_seeds)]
        if bad:
            raise ValueError(f"mixing names style sources {bad}, but only 0..{len(self.mix_seeds)} exist")
        if self.image is not None and (len(self.image.shape) != 3 or self.image.shape[2] not in (3, 4)):
            raise ValueError(f"the image to translate must be [H, W, 3 or 4] uint8, got {list(self.image.shape)}")

    @property
    def batch(self) -> int:
        """Images this request makes."""
        if self.seeds:
            return len(self.seeds)
        array = self.z or self.ws
        return array.shape[0] if array is not None else 1

    def class_vector(self, num_classes: int) -> np.ndarray:
        """Dense float32 class weights ``[num_classes]`` from ``class_weights``."""
        c = np.zeros(num_classes, np.float32)
        for index, weight in self.class_weights:
            if not 0 <= index < num_classes:
                raise ValueError(f"class {index} out of range 0..{num_classes - 1}")
            c[index] += weight
        return c


@dataclass(frozen=True, eq=False)
class RenderResult:
    """What a render gave: uint8 pixels (``[H, W, C]`` for one image, ``[N, H, W, C]`` for several) or ``error``,
    seconds per step in ``timings``, and the backend and provider (or torch device) that really ran."""

    stamp: int
    image: np.ndarray | None
    timings: Mapping[str, float]
    error: str | None = None
    backend: str = ""
    provider: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def images(self) -> np.ndarray | None:
        """The pixels as a batch ``[N, H, W, C]``."""
        if self.image is None:
            return None
        return self.image[None] if self.image.ndim == 3 else self.image
