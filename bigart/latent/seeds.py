"""Seeds to latent vectors, compatible with the reference scripts.

Seed N gives the z that NVIDIA's ``gen_images.py --seeds N`` draws:
``np.random.RandomState(N).randn(1, z_dim)``.
"""

from __future__ import annotations

import re

import numpy as np

MAX_SEED = 2**32 - 1  # RandomState accepts seeds in [0, 2**32)

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str) -> list[int]:
    """Parse seed-range syntax such as ``"0-9,12"`` into a list of seeds, in the given order.

    Ranges are inclusive, as in the reference scripts. Duplicates are kept once, first place wins.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("seed list is empty: expected something like '0-9,12'")
    seeds: list[int] = []
    seen: set[int] = set()
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"bad seed range {part.strip()!r}: expected N or N-M with 0 <= N <= M")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"bad seed range {part.strip()!r}: end {hi} is below start {lo}")
        if hi > MAX_SEED:
            raise ValueError(f"seed {hi} is too large: seeds go from 0 to {MAX_SEED}")
        for s in range(lo, hi + 1):
            if s not in seen:
                seen.add(s)
                seeds.append(s)
    return seeds


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """The latent ``[z_dim]`` (float64) that the reference scripts draw for ``seed``."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed {seed} out of range 0..{MAX_SEED}")
    return np.random.RandomState(int(seed)).randn(1, z_dim)[0]


def z_from_seeds(seeds: list[int] | tuple[int, ...], z_dim: int) -> np.ndarray:
    """Stack ``z_from_seed`` for each seed: ``[N, z_dim]`` float32."""
    if len(seeds) == 0:
        return np.zeros((0, z_dim), np.float32)
    return np.stack([z_from_seed(s, z_dim) for s in seeds]).astype(np.float32)
