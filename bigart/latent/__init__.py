"""Latent-space math in numpy only: seeds, truncation, interpolation, mixing, directions."""

from bigart.latent.seeds import parse_seeds, z_from_seed, z_from_seeds
from bigart.latent.truncation import truncate

__all__ = ["parse_seeds", "truncate", "z_from_seed", "z_from_seeds"]
