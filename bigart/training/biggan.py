"""Training BigGAN: logistic loss with lazy R1, or hinge; a projection discriminator; batch statistics and one
spectral-norm power iteration per step in the generator, standing statistics for samples and the exported model."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigart.engine.images import to_uint8
from bigart.errors import BigartError
from bigart.latent.biggan import truncated_z_from_seeds
from bigart.models.biggan import BigGANConfig, BigGANGenerator
from bigart.training import losses as L
from bigart.training.data import EpochOrder
from bigart.training.networks import BigGANDConfig, BigGANDiscriminator, biggan_d_channels
from bigart.training.standing import power_iteration_, set_batch_stats, standing_statistics_
from bigart.training.trainer import ClassConditional, StepRNG, Trainer, derive_seed, image_grid, merged_config

Tensor = torch.Tensor


def biggan_layers(resolution: int) -> list[list]:
    """A BigGAN-deep block list for ``resolution``: per octave a plain and an upsampling block, channel multipliers
    16 -> 1 halving as they go (extra plain blocks at the end when there are fewer octaves than halvings)."""
    ups = int(math.log2(resolution)) - 2
    if ups < 1 or 4 * 2**ups != resolution:
        raise BigartError(f"a BigGAN resolution must be a power of two >= 8, got {resolution}")
    mults = [max(16 >> i, 1) for i in range(ups + 1)]
    layers: list[list] = []
    for i in range(ups):
        layers += [[False, mults[i], mults[i]], [True, mults[i], mults[i + 1]]]
    m = mults[-1]
    while m > 1:
        layers.append([False, m, m // 2])
        m //= 2
    return layers


class BigGANTrainer(ClassConditional, Trainer):
    """Logistic (+ lazy R1) or hinge loss; batch statistics and one power iteration per step in the generator;
    standing statistics for samples and the exported model."""

    family = "biggan"
    default_lr = (1e-4, 4e-4)
    default_betas = (0.0, 0.999)
    default_eps = 1e-6

    def _load_data(self, state: dict | None, base_ckpt: dict | None) -> dict[str, Any]:
        s = self.spec
        cfg = self.source_config(BigGANConfig, state, base_ckpt)
        res = self.fixed_resolution(cfg)
        self.data = self._load_folder(s.data, res, 3)
        self.order = EpochOrder(len(self.data), s.seed)
        return self.data.describe()

    def _build(self, state: dict | None, base_ckpt: dict | None) -> None:
        s = self.spec
        src = state if state is not None else base_ckpt
        if src is not None:
            self.g_config = BigGANConfig.from_dict(json.loads(src["g_config"]))
            self.d_config = BigGANDConfig.from_dict(json.loads(src["d_config"]))
        else:
            if s.base is not None:
                self.g_config = self.base_model.config
            else:
                defaults = {
                    "z_dim": 64,
                    "class_embed_dim": 64,
                    "channel_width": 16,
                    "num_classes": max(1, self.data.num_classes),
                    "layers": biggan_layers(int(s.resolution)),
                    "attention_layer_position": -1,
                }
                self.g_config = merged_config(BigGANConfig, defaults, s.g_config)
            d_defaults = {
                "img_resolution": self.g_config.img_resolution,
                "num_classes": self.g_config.num_classes,
                "channels": biggan_d_channels(self.g_config.img_resolution, 16),
            }
            self.d_config = merged_config(BigGANDConfig, d_defaults, s.d_config)
        self.n_classes = self.g_config.num_classes
        self.check_classes()
        torch.manual_seed(derive_seed(s.seed, 1 << 30))
        if self.base_model is not None:
            self.G = self._base_generator()
        else:
            self.G = BigGANGenerator(self.g_config).to(self.device)
        self.D = BigGANDiscriminator(self.d_config).to(self.device)
        if base_ckpt is not None:
            self.G.load_state_dict(base_ckpt["G"])
            self.D.load_state_dict(base_ckpt["D"])
        set_batch_stats(self.G, True)

    def train_step(self, rng: StepRNG) -> dict[str, float]:
        s, b, dev = self.spec, self.local_batch, self.device
        real, labels = self.reals(self.data, self.order, rng)
        c_real = self.onehot(labels)
        gen = rng("latents")
        g_loss, d_loss = L.G_LOSSES[s.loss], L.D_LOSSES[s.loss]
        losses: dict[str, float] = {}
        power_iteration_(self.G)

        def latents(n: int) -> tuple[Tensor, Tensor]:
            return torch.randn([n, self.G.z_dim], generator=gen).to(dev), self.onehot(self.random_labels(n, gen))

        self.set_trainable(self.d_params, False)
        self.set_trainable(self.g_params, True)
        z, c = latents(b)
        with self.autocast():
            loss_g = g_loss(self.D(self.augment(self.g_train(z, c, 1.0), rng), c))
        losses["G"] = float(loss_g.detach())
        self.optimise(loss_g, self.opt_g, self.scaler_g, self.g_params)

        self.set_trainable(self.g_params, False)
        self.set_trainable(self.d_params, True)
        z, c = latents(b)
        with torch.no_grad(), self.autocast():
            fake = self.G(z, c, 1.0)
        default_gamma = L.r1_gamma_heuristic(self.g_config.img_resolution, s.batch) if s.loss == "logistic" else 0.0
        gamma = s.r1_gamma if s.r1_gamma is not None else default_gamma
        losses.update(self.discriminator_step(fake, real, c, c_real, rng, d_loss, gamma))
        return losses

    def _rendering_copy(self, rows: list[int] | None, batches: int) -> BigGANGenerator:
        """A copy of the generator average with converged spectral-norm vectors and standing statistics."""
        g = copy.deepcopy(self.G_ema).eval()
        power_iteration_(g, 10)
        gen = torch.Generator().manual_seed(derive_seed(self.spec.seed, self.step, 1 << 20))
        classes = self.class_ids(self.data.labels).unique()
        standing_statistics_(g, rows, batch=max(8, self.spec.batch), batches=batches, classes=classes, generator=gen)
        return g

    @torch.no_grad()
    def sample_grid(self) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.spec.num_samples
        g = self._rendering_copy([self.g_config.n_stats - 1], self.spec.standing_batches)  # truncation 1: last row
        seeds = list(range(n))
        z = torch.from_numpy(truncated_z_from_seeds(seeds, g.z_dim, 1.0)).to(self.device)
        ids = self.class_ids(self.data.labels).unique().tolist()
        classes = [ids[i % len(ids)] for i in range(n)]
        c = F.one_hot(torch.tensor(classes), self.n_classes).float().to(self.device)
        imgs = torch.cat([g(z[i : i + 8], c[i : i + 8], 1.0) for i in range(0, n, 8)])
        recipe = {"seeds": seeds, "classes": classes, "truncation": 1.0}
        return image_grid(to_uint8(imgs), math.ceil(math.sqrt(n))), recipe

    def export_generator(self) -> nn.Module:
        return self._rendering_copy(None, self.spec.standing_batches)

    def header_extras(self) -> dict[str, Any]:
        return {
            "default_psi": 0.7 if self.base_info is None else (self.base_info.get("default_psi") or 0.7),
            "class_names": self.class_names(),
        }
