"""Latent-space math in numpy only: seeds, truncation, interpolation, mixing, directions, class mixtures."""

from bigart.latent.biggan import truncated_z
from bigart.latent.classes import ClassIndex, imagenet_classes, parse_class_mixture
from bigart.latent.seeds import parse_seeds, z_from_seed, z_from_seeds
from bigart.latent.truncation import truncate

__all__ = [
    "ClassIndex",
    "imagenet_classes",
    "parse_class_mixture",
    "parse_seeds",
    "truncate",
    "truncated_z",
    "z_from_seed",
    "z_from_seeds",
]
