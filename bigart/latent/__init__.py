"""Latent-space math in numpy only: seeds, truncation, interpolation, mixing, directions, class mixtures."""

from bigart.latent.biggan import truncated_z
from bigart.latent.classes import ClassIndex, imagenet_classes, parse_class_mixture
from bigart.latent.directions import Directions, DirectionsFileError, pca_directions, sefa
from bigart.latent.interp import keyframes, keyframes_at, lerp, slerp
from bigart.latent.mixing import MixingSchedule, preset_layers, style_mixing_grid
from bigart.latent.seedplane import seed_plane_w, seed_plane_weights
from bigart.latent.seeds import parse_seeds, z_from_seed, z_from_seeds
from bigart.latent.truncation import truncate

__all__ = [
    "ClassIndex",
    "Directions",
    "DirectionsFileError",
    "MixingSchedule",
    "imagenet_classes",
    "keyframes",
    "keyframes_at",
    "lerp",
    "parse_class_mixture",
    "parse_seeds",
    "pca_directions",
    "preset_layers",
    "seed_plane_w",
    "seed_plane_weights",
    "sefa",
    "slerp",
    "style_mixing_grid",
    "truncate",
    "truncated_z",
    "z_from_seed",
    "z_from_seeds",
]
