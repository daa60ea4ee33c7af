"""Training StyleGAN2: non-saturating logistic loss, lazy R1, path-length regularisation, style mixing, ADA, and the
mapping network's running average of w; the residual discriminator from the base pickle when it holds one."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigart.engine.images import to_uint8
from bigart.errors import BigartError
from bigart.latent.seeds import z_from_seeds
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels
from bigart.training import losses as L
from bigart.training.data import EpochOrder
from bigart.training.networks import StyleGAN2DConfig, StyleGAN2Discriminator, stylegan2_d_config_from_tensors
from bigart.training.trainer import ClassConditional, StepRNG, Trainer, derive_seed, image_grid, merged_config
from bigart.training.widen import widen_stylegan2, widened_config

Tensor = torch.Tensor


class _SG2Forward(nn.Module):
    """z (+ c, + a second z mixed in from layer ``cutoff``) -> (image with random noise, ws), for one DDP wrapper."""

    def __init__(self, g: StyleGAN2Generator) -> None:
        super().__init__()
        self.g = g

    def forward(self, z: Tensor, c: Tensor | None, z_mix: Tensor | None = None, cutoff: int | None = None):
        ws = self.g.mapping(z, c)
        if z_mix is not None and cutoff is not None and cutoff < ws.shape[1]:
            ws = torch.cat([ws[:, :cutoff], self.g.mapping(z_mix, c)[:, cutoff:]], dim=1)
        return self.g.synthesis(ws, noise_mode="random"), ws


class StyleGAN2Trainer(ClassConditional, Trainer):
    """Non-saturating logistic loss, lazy R1, path-length regularisation, style mixing, ADA, w_avg tracking."""

    family = "stylegan2"
    default_lr = (0.0025, 0.0025)

    def _load_data(self, state: dict | None, base_ckpt: dict | None) -> dict[str, Any]:
        s = self.spec
        cfg = self.source_config(StyleGAN2Config, state, base_ckpt)
        res = self.fixed_resolution(cfg)
        channels = cfg.img_channels if cfg is not None else 3
        self.data = self._load_folder(s.data, res, channels)
        self.order = EpochOrder(len(self.data), s.seed)
        return self.data.describe()

    def _default_g_config(self, res: int) -> dict[str, Any]:
        c_dim = self.data.num_classes if self.data.num_classes > 1 else 0
        return {
            "z_dim": 256,
            "c_dim": c_dim,
            "w_dim": 256,
            "img_resolution": res,
            "channels": {str(r): c for r, c in nvidia_channels(res, 4096, 256).items()},
            "mapping_layers": 2,
        }

    def _build(self, state: dict | None, base_ckpt: dict | None) -> None:
        s = self.spec
        nvidia_d = None
        if state is not None or base_ckpt is not None:
            src = state if state is not None else base_ckpt
            self.g_config = StyleGAN2Config.from_dict(json.loads(src["g_config"]))
            self.d_config = StyleGAN2DConfig.from_dict(json.loads(src["d_config"]))
        elif s.base is not None:
            self.g_config = self.base_model.config
            if s.g_config:
                self.g_config = self._widened_base_config()
            nvidia_d = self._nvidia_discriminator()
            if nvidia_d is not None:
                self.d_config = nvidia_d.config
            else:
                self.d_config = self._fresh_d_config()
        else:
            self.g_config = merged_config(StyleGAN2Config, self._default_g_config(int(s.resolution)), s.g_config)
            self.d_config = self._fresh_d_config()
        self.n_classes = self.g_config.c_dim
        self.check_classes()
        torch.manual_seed(derive_seed(s.seed, 1 << 30))
        if self.base_model is not None:
            self.G = self._base_generator()
            if self.G.config.channels != self.g_config.channels:
                self.G = widen_stylegan2(self.G, self.g_config.channels, derive_seed(s.seed, 1 << 29))
                self.base_info["widened_to"] = {str(r): c for r, c in self.g_config.channels.items()}
        else:
            self.G = StyleGAN2Generator(self.g_config).to(self.device)
        self.D = (
            nvidia_d.to(self.device) if nvidia_d is not None else StyleGAN2Discriminator(self.d_config).to(self.device)
        )
        if base_ckpt is not None:
            self.G.load_state_dict(base_ckpt["G"])
            self.D.load_state_dict(base_ckpt["D"])
        self.pl_mean = torch.zeros([], device=self.device)

    def _widened_base_config(self) -> StyleGAN2Config:
        """Fine-tuning with ``g_config``: the base generator grown to the given ``channels`` (nothing else may
        change, since the base's weights fix every other dimension)."""
        other = sorted(set(self.spec.g_config) - {"channels"})
        if other:
            raise BigartError(
                f"fine-tuning a StyleGAN2 base model, g_config may only widen its channels; "
                f"{', '.join(other)} come from the base"
            )
        return widened_config(self.base_model.config, self.spec.g_config["channels"])

    def _fresh_d_config(self) -> StyleGAN2DConfig:
        g = self.g_config
        defaults = {
            "img_resolution": g.img_resolution,
            "channels": {str(r): c for r, c in g.channels.items()},
            "img_channels": g.img_channels,
            "c_dim": g.c_dim,
            "mapping_layers": 2,
        }
        return merged_config(StyleGAN2DConfig, defaults, self.spec.d_config)

    def _nvidia_discriminator(self) -> StyleGAN2Discriminator | None:
        """The ``D`` of an NVIDIA network pickle, when it is a residual discriminator our layout holds."""
        if self.base_model.source_format != "nvidia-pickle":
            return None
        from bigart.models.unpickle import PersistentObject, read_nvidia_pickle

        d = read_nvidia_pickle(self.base_model.path).get("D")
        if not isinstance(d, PersistentObject):
            return None
        # FIR filters are rebuilt by our code (NVIDIA's blocks hold one more copy); the conditional mapping's
        # w_avg is unused in a discriminator and absent from NVIDIA's
        derived = ("resample_filter", "mapping.w_avg")
        sd = {k: v for k, v in d.state_dict().items() if not k.endswith(derived)}
        try:
            net = StyleGAN2Discriminator(stylegan2_d_config_from_tensors(sd, dict(d.init_kwargs)))
        except (ValueError, KeyError, TypeError):
            return None
        own = {k: v for k, v in net.state_dict().items() if not k.endswith(derived)}
        if own.keys() != sd.keys() or any(own[k].shape != v.shape for k, v in sd.items()):
            return None
        with torch.no_grad():
            for k, v in sd.items():
                own[k].copy_(v.to(own[k].dtype))
        self.base_info["discriminator"] = "from the base pickle"
        return net

    def _g_forward_module(self) -> nn.Module:
        return _SG2Forward(self.G)

    def family_state(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.cpu()}

    def load_family_state(self, state: dict[str, Any]) -> None:
        self.pl_mean = state["pl_mean"].to(self.device)

    def train_step(self, rng: StepRNG) -> dict[str, float]:
        s, b, dev = self.spec, self.local_batch, self.device
        real, labels = self.reals(self.data, self.order, rng)
        c_real = self.onehot(labels)
        gen = rng("latents")
        num_ws = self.G.num_ws
        losses: dict[str, float] = {}

        def latents(n: int) -> tuple[Tensor, Tensor | None, Tensor, int]:
            z = torch.randn([n, self.G.z_dim], generator=gen).to(dev)
            z_mix = torch.randn([n, self.G.z_dim], generator=gen).to(dev)
            cutoff = int(torch.randint(1, max(num_ws, 2), [], generator=gen))
            if float(torch.rand([], generator=gen)) >= s.style_mixing:
                cutoff = num_ws
            return z, self.onehot(self.random_labels(n, gen)), z_mix, cutoff

        if self.step >= s.d_warmup:  # while d_warmup lasts, a fresh discriminator learns alone
            losses.update(self._generator_step(latents, rng))

        # discriminator: logistic loss (+ lazy R1 every r1_interval steps)
        self.set_trainable(self.g_params, False)
        self.set_trainable(self.d_params, True)
        z, c, z_mix, cutoff = latents(b)
        with torch.no_grad(), self.autocast():
            fake, _ = self.g_forward(z, c, z_mix, cutoff)
        gamma = s.r1_gamma if s.r1_gamma is not None else L.r1_gamma_heuristic(self.g_config.img_resolution, s.batch)
        losses.update(self.discriminator_step(fake, real, c, c_real, rng, L.logistic_d_loss, gamma))
        return losses

    def _generator_step(self, latents: Callable[[int], tuple], rng: StepRNG) -> dict[str, float]:
        """Non-saturating loss (+ path length every pl_interval steps), one optimiser step, w_avg tracking."""
        s, b = self.spec, self.local_batch
        losses: dict[str, float] = {}
        self.set_trainable(self.d_params, False)
        self.set_trainable(self.g_params, True)
        z, c, z_mix, cutoff = latents(b)
        with self.autocast():
            img, ws = self.g_train(z, c, z_mix, cutoff)
            loss_g = L.logistic_g_loss(self.D(self.augment(img, rng), c))
        losses["G"] = float(loss_g.detach())
        loss = loss_g
        do_pl = s.pl_weight > 0 and self.step % s.pl_interval == 0
        if do_pl:
            n = max(1, b // 2)
            z_pl, c_pl, _, _ = latents(n)
            with self.autocast():
                img_pl, ws_pl = self.g_train(z_pl, c_pl, None, None)
            penalty, mean_length = L.path_length_penalty(img_pl, ws_pl, self.pl_mean, rng("regularise"))
            loss = loss + penalty.mean() * s.pl_weight * s.pl_interval
            losses["PL"] = float(penalty.detach().mean())
        self.optimise(loss, self.opt_g, self.scaler_g, self.g_params)
        with torch.no_grad():
            w_mean = self.ctx.mean_tensor(ws[:, 0].detach().float().mean(dim=0))
            self.G.mapping.w_avg.copy_(w_mean.lerp(self.G.mapping.w_avg, 0.995))
            if do_pl:
                self.pl_mean.lerp_(self.ctx.mean_tensor(mean_length.float()), 0.01)
        return losses

    @torch.no_grad()
    def sample_grid(self) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.spec.num_samples
        seeds = list(range(n))
        z = torch.from_numpy(z_from_seeds(seeds, self.G_ema.z_dim)).to(self.device)
        classes = [i % self.n_classes for i in range(n)] if self.n_classes else None
        c = F.one_hot(torch.tensor(classes), self.n_classes).float().to(self.device) if classes else None
        imgs = torch.cat([self.G_ema(z[i : i + 8], None if c is None else c[i : i + 8]) for i in range(0, n, 8)])
        return image_grid(to_uint8(imgs), math.ceil(math.sqrt(n))), {"seeds": seeds, "classes": classes, "psi": 1.0}

    def header_extras(self) -> dict[str, Any]:
        return {"default_psi": 0.7, "class_names": self.class_names()}
