"""Training CycleGAN: LSGAN, cycle-consistency and identity L1, image pools, both directions together; PatchGAN
discriminators from a junyanz checkpoints folder when it holds them. No discriminator augmentation (as published)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bigart.engine.images import to_uint8
from bigart.errors import BigartError
from bigart.models.cyclegan import CycleGANConfig, CycleGANModel
from bigart.training import losses as L
from bigart.training.data import EpochOrder, ab_folders, pair_by_name, to_float
from bigart.training.networks import CycleDiscriminators, PatchDConfig
from bigart.training.trainer import StepRNG, Trainer, derive_seed, image_grid, merged_config

Tensor = torch.Tensor


class CycleGANTrainer(Trainer):
    """LSGAN with cycle-consistency and identity L1, image pools; both directions trained together."""

    family = "cyclegan"
    uses_augmentation = False  # as published: the PatchGANs see unaugmented images
    default_lr = (2e-4, 2e-4)
    default_betas = (0.5, 0.999)

    def default_ema_kimg(self) -> float:
        return 0.0  # CycleGAN keeps no average: the exported generator is the trained one

    def _load_data(self, state: dict | None, base_ckpt: dict | None) -> dict[str, Any]:
        s = self.spec
        cfg = self.source_config(CycleGANConfig, state, base_ckpt)
        res = int(s.resolution or 256)
        multiple = cfg.size_multiple if cfg is not None else 4
        if res % multiple:
            raise BigartError(f"the CycleGAN resolution must be a multiple of {multiple}, got {res}")
        folder_a, folder_b = ab_folders(s.data, s.data_b)
        in_nc = cfg.input_nc if cfg is not None else 3
        out_nc = cfg.output_nc if cfg is not None else 3
        self.data_a = self._load_folder(str(folder_a), res, in_nc)
        self.data_b = self._load_folder(str(folder_b), res, out_nc)
        if s.paired:
            self.data_a, self.data_b = pair_by_name(self.data_a, self.data_b)
        self.order = EpochOrder(len(self.data_a), s.seed)
        self.order_b = self.order if s.paired else EpochOrder(len(self.data_b), derive_seed(s.seed, 1))
        return {"folder": str(s.data), "A": self.data_a.describe(), "B": self.data_b.describe(), "paired": s.paired}

    def _orders(self) -> dict[str, EpochOrder]:
        return {"a": self.order} if self.spec.paired else {"a": self.order, "b": self.order_b}

    def _build(self, state: dict | None, base_ckpt: dict | None) -> None:
        s = self.spec
        src = state if state is not None else base_ckpt
        base_d = None
        if src is not None:
            self.g_config = CycleGANConfig.from_dict(json.loads(src["g_config"]))
            self.d_config = PatchDConfig.from_dict(json.loads(src["d_config"]))
        else:
            if s.base is not None:
                self.g_config = CycleGANConfig.from_dict(
                    {**self.base_model.config.to_dict(), "directions": ["AtoB", "BtoA"]}
                )
            else:
                res = int(s.resolution or 256)
                defaults = {
                    "kind": "resnet",
                    "ngf": 64,
                    "n_blocks": 9 if res >= 256 else 6,
                    "directions": ["AtoB", "BtoA"],
                }
                self.g_config = merged_config(CycleGANConfig, defaults, s.g_config)
            if self.g_config.directions != ["AtoB", "BtoA"]:
                raise BigartError("CycleGAN training needs both directions, AtoB and BtoA")
            base_d = self._junyanz_discriminators() if s.base is not None else None
            if base_d is not None:
                self.d_config = base_d.config
            else:
                res = int(s.resolution or 256)
                n_layers = 3
                while n_layers > 1 and PatchDConfig(n_layers=n_layers).min_size() > res:
                    n_layers -= 1
                defaults = {"input_nc": self.g_config.output_nc, "ndf": 64, "n_layers": n_layers}
                self.d_config = merged_config(PatchDConfig, defaults, s.d_config)
        if self.d_config.min_size() > int(s.resolution or 256):
            raise BigartError(
                f"a PatchGAN with n_layers={self.d_config.n_layers} needs images of at least "
                f"{self.d_config.min_size()} px"
            )
        torch.manual_seed(derive_seed(s.seed, 1 << 30))
        self.G = CycleGANModel(self.g_config).to(self.device)
        if self.base_model is not None:
            own = self.base_model.generator.state_dict()
            self.G.load_state_dict({**self.G.state_dict(), **own})
            if "BtoA" not in self.base_model.config.directions:
                self.base_info["note"] = "the base holds AtoB only; BtoA starts from random weights"
        d_config_b = replace_nc(self.d_config, self.g_config.input_nc)
        self.D = base_d if base_d is not None else CycleDiscriminators(self.d_config, d_config_b)
        self.D = self.D.to(self.device)
        if base_ckpt is not None:
            self.G.load_state_dict(base_ckpt["G"])
            self.D.load_state_dict(base_ckpt["D"])
        self.G.train().requires_grad_(True)
        self.pool_a = L.ImagePool(s.pool_size, derive_seed(s.seed, self.ctx.rank, 11))
        self.pool_b = L.ImagePool(s.pool_size, derive_seed(s.seed, self.ctx.rank, 12))

    def _junyanz_discriminators(self) -> CycleDiscriminators | None:
        """``*_net_D_A.pth`` and ``*_net_D_B.pth`` beside a junyanz checkpoints folder's generators."""
        base = Path(self.spec.base)
        folder = base if base.is_dir() else base.parent
        from bigart.models.unpickle import load_torch_file

        found = {}
        for which in ("A", "B"):
            files = sorted(folder.glob(f"*_net_D_{which}.pth"))
            latest = [f for f in files if f.name.startswith("latest_")]
            if not files:
                return None
            try:
                sd = load_torch_file((latest or files)[-1])
            except Exception:
                return None
            if not isinstance(sd, dict):
                return None
            found[which] = {k.removeprefix("module."): v for k, v in sd.items() if isinstance(v, torch.Tensor)}
        try:
            configs = {w: patch_config_from_tensors(sd) for w, sd in found.items()}
            d = CycleDiscriminators(configs["A"], configs["B"])
            d.D_A.load_state_dict(found["A"])
            d.D_B.load_state_dict(found["B"])
        except (ValueError, KeyError, RuntimeError):
            return None
        self.base_info["discriminator"] = "from the base folder (net_D_A, net_D_B)"
        return d

    def rank_state(self) -> dict[str, Any]:
        return {"pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict()}

    def load_rank_state(self, state: dict[str, Any]) -> None:
        self.pool_a.load_state_dict(state["pool_a"], self.device)
        self.pool_b.load_state_dict(state["pool_b"], self.device)

    def train_step(self, rng: StepRNG) -> dict[str, float]:
        s = self.spec
        idx_a = self.batch_indices(self.order)
        flips = self.flips(len(idx_a), rng)
        real_a = self.images(self.data_a, idx_a, flips)
        if s.paired:  # the same images, mirrored the same way
            real_b = self.images(self.data_b, idx_a, flips)
        else:
            idx_b = self.batch_indices(self.order_b)
            real_b = self.images(self.data_b, idx_b, self.flips(len(idx_b), rng))
        g = self.g_train
        d_bare = self.D
        losses: dict[str, float] = {}

        self.set_trainable(self.d_params, False)
        with self.autocast():
            fake_b = g(real_a, "AtoB")
            rec_a = g(fake_b, "BtoA")
            fake_a = g(real_b, "BtoA")
            rec_b = g(fake_a, "AtoB")
            loss_gan = L.lsgan_loss(d_bare(fake_b, "A"), True) + L.lsgan_loss(d_bare(fake_a, "B"), True)
            loss_cycle = (L.cycle_loss(rec_a, real_a) + L.cycle_loss(rec_b, real_b)) * s.lambda_cycle
            loss = loss_gan + loss_cycle
            if s.lambda_identity > 0:
                idt = L.cycle_loss(g(real_b, "AtoB"), real_b) + L.cycle_loss(g(real_a, "BtoA"), real_a)
                loss = loss + idt * s.lambda_cycle * s.lambda_identity
                losses["idt"] = float(idt.detach())
            if s.paired and s.lambda_paired > 0:
                paired = L.cycle_loss(fake_b, real_b) + L.cycle_loss(fake_a, real_a)
                loss = loss + paired * s.lambda_paired
                losses["paired"] = float(paired.detach())
        losses["G"], losses["cycle"] = float(loss_gan.detach()), float(loss_cycle.detach())
        self.optimise(loss, self.opt_g, self.scaler_g, self.g_params)

        self.set_trainable(self.g_params, False)
        self.set_trainable(self.d_params, True)
        pooled_b = self.pool_b.query(fake_b.detach().float())
        pooled_a = self.pool_a.query(fake_a.detach().float())
        with self.autocast():
            loss_da = 0.5 * (
                L.lsgan_loss(self.d_train(real_b, "A"), True) + L.lsgan_loss(self.d_train(pooled_b, "A"), False)
            )
            loss_db = 0.5 * (
                L.lsgan_loss(self.d_train(real_a, "B"), True) + L.lsgan_loss(self.d_train(pooled_a, "B"), False)
            )
        losses["D_A"], losses["D_B"] = float(loss_da.detach()), float(loss_db.detach())
        self.optimise(loss_da + loss_db, self.opt_d, self.scaler_d, self.d_params)
        self.set_trainable(self.g_params, True)
        self.update_ema()
        return losses

    @torch.no_grad()
    def sample_grid(self) -> tuple[np.ndarray, dict[str, Any]]:
        n = max(1, self.spec.num_samples // 2)
        a = to_float(self.data_a.images[:n]).to(self.device)
        b = to_float(self.data_b.images[: min(n, len(self.data_b))]).to(self.device)
        g = self.G_ema
        rows = [to_uint8(a), to_uint8(g(a, "AtoB")), to_uint8(b), to_uint8(g(b, "BtoA"))]
        width = max(len(r) for r in rows)
        padded = [np.concatenate([r, np.zeros([width - len(r), *r.shape[1:]], np.uint8)]) for r in rows]
        channels = max(r.shape[3] for r in padded)
        padded = [np.repeat(r, channels, axis=3) if r.shape[3] == 1 else r for r in padded]
        recipe = {"rows": ["A", "A->B", "B", "B->A"], "A": self.data_a.files[:n], "B": self.data_b.files[:n]}
        return image_grid(np.concatenate(padded), width), recipe

    def header_extras(self) -> dict[str, Any]:
        return {"default_psi": None, "class_names": None}


def replace_nc(cfg: PatchDConfig, input_nc: int) -> PatchDConfig:
    return PatchDConfig.from_dict({**cfg.to_dict(), "input_nc": input_nc})


def patch_config_from_tensors(sd: dict[str, Tensor]) -> PatchDConfig:
    """A PatchGAN's configuration from a ``net_D`` state dict (junyanz layout)."""
    convs = sorted(
        int(k.split(".")[1]) for k in sd if k.startswith("model.") and k.endswith(".weight") and sd[k].ndim == 4
    )
    first = sd["model.0.weight"]
    norm = "batch" if "model.3.running_mean" in sd else "instance"
    return PatchDConfig(input_nc=first.shape[1], ndf=first.shape[0], n_layers=len(convs) - 2, norm=norm)
