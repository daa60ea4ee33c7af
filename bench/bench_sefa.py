"""SeFa timing on full-size generators: reading the style weights and the closed-form factorisation.

    python bench/bench_sefa.py [--reps 5]

Builds random-initialised generators with the published 1024-px layouts (StyleGAN2 config f: channel_base 32768,
channel_max 512, w_dim 512; StyleGAN3-T at 1024 px) and times ``style_affine_weights`` and ``sefa`` separately,
for all w+ layers and for the coarse layers 0-3; prints the median and best of ``--reps`` runs. The target is
under a second for the whole path on a 1024-px StyleGAN2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigart.latent.directions import sefa
from bigart.models.directions import style_affine_weights
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels
from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator


def _times(fn, reps: int) -> tuple[float, float]:
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    nets = {
        "StyleGAN2 1024 (config f)": StyleGAN2Generator(
            StyleGAN2Config(
                z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, channels=nvidia_channels(1024, 32768, 512)
            )
        ),
        "StyleGAN3-T 1024": StyleGAN3Generator(
            StyleGAN3Config(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3)
        ),
    }
    print(f"torch threads {torch.get_num_threads()}; median / best of {args.reps} runs")
    for name, g in nets.items():
        g.eval().requires_grad_(False)
        for layers in (None, range(0, 4)):
            weights = style_affine_weights(g, layers)
            rows = sum(len(w) for w in weights)
            read = _times(lambda layers=layers, g=g: style_affine_weights(g, layers), args.reps)
            fact = _times(lambda weights=weights: sefa(weights), args.reps)
            label = "all layers" if layers is None else f"layers {layers.start}-{layers.stop - 1}"
            print(
                f"{name}, {label}: {len(weights)} matrices, {rows} x 512 rows; read weights "
                f"{read[0] * 1000:.1f} / {read[1] * 1000:.1f} ms, sefa {fact[0] * 1000:.1f} / {fact[1] * 1000:.1f} ms, "
                f"total {(read[0] + fact[0]) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
