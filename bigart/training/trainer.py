"""The machinery every family's trainer shares: data, optimisers, augmentation, checkpoints, logging, the loop.

Reproducible by construction: every random draw of step ``t`` on rank ``r`` comes from generators seeded with
``(seed, t, r, stream)`` (the global torch RNG too, for the generator's noise and dropout), the data order is a
seeded permutation per epoch, and everything that carries over between steps (weights, the generator average, both
optimisers, the augmentation probability and its statistics, the regularisers' running means, the image pools and
their RNGs, the data position, the step counters) is in the checkpoint. So N steps in one go and N/2 + resume + N/2
give the same weights, bit for bit, on CPU with deterministic algorithms.

A family subclasses :class:`Trainer` with its networks (``_load_data``, ``_build``), one optimisation step
(``train_step``), its sample grid and its exported generator.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bigart import __version__
from bigart.atomic import atomic_write
from bigart.engine.images import save_png
from bigart.errors import BigartError
from bigart.models.modelfile import read_model_file, save_model_file
from bigart.training import losses as L
from bigart.training.augment import AdaptiveP, AugmentPipe
from bigart.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from bigart.training.data import EpochOrder, ImageFolder, load_image_folder, mirror, to_float
from bigart.training.distributed import DistContext
from bigart.training.networks import freeze_blocks
from bigart.training.spec import RESUME_OVERRIDES, TrainResult, TrainSpec

Tensor = torch.Tensor
CHECKPOINT = "checkpoint.pt"
PROGRESS = "progress.jsonl"
STREAMS = {"global": 0, "latents": 1, "augment": 2, "data": 3, "regularise": 4}


class ProgressLike(Protocol):
    def start(self, total: int, description: str = "") -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def check_aborted(self) -> None: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------------------------
# Reproducible randomness


def derive_seed(*parts: int) -> int:
    """A 64-bit seed mixed from integers (numpy's SeedSequence), so nearby steps get unrelated streams."""
    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1, np.uint64)[0])


class StepRNG:
    """The generators of one step on one rank, one per named stream, made on first use."""

    def __init__(self, seed: int, step: int, rank: int) -> None:
        self.parts = (seed, step, rank)
        self._gens: dict[str, torch.Generator] = {}

    def __call__(self, stream: str) -> torch.Generator:
        if stream not in self._gens:
            self._gens[stream] = torch.Generator().manual_seed(derive_seed(*self.parts, STREAMS[stream]))
        return self._gens[stream]

    def seed_global(self) -> None:
        torch.manual_seed(derive_seed(*self.parts, STREAMS["global"]))


class _StopSignals:
    """SIGINT/SIGTERM ask the loop to stop after the current step (a second SIGINT interrupts at once)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------------------------------------------
# Shared machinery


def merged_config(cls: type, defaults: dict[str, Any], overrides: dict[str, Any] | None) -> Any:
    try:
        return cls.from_dict({**defaults, **(overrides or {})})
    except (ValueError, TypeError) as e:
        raise BigartError(f"{cls.label} configuration: {e}") from e


def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """``[N, H, W, C]`` uint8 -> one ``[rows * H, columns * W, C]`` image (empty cells black)."""
    n, h, w, c = images.shape
    rows = math.ceil(n / columns)
    grid = np.zeros([rows * h, columns * w, c], np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, columns)
        grid[r * h : (r + 1) * h, col * w : (col + 1) * w] = img
    return grid


class Trainer:
    """Everything but the family's networks and step: data, optimisers, augmentation, checkpoints, logging."""

    family = ""
    uses_augmentation = True
    default_lr = (0.002, 0.002)
    default_betas = (0.0, 0.99)
    default_eps = 1e-8

    def __init__(self, spec: TrainSpec, ctx: DistContext) -> None:
        self.ctx, self.device = ctx, ctx.device
        ckpt_path = Path(spec.out) / CHECKPOINT
        state = None
        if ckpt_path.exists():
            if not spec.resume:
                raise BigartError(f"{spec.out} already holds a checkpoint: pass --resume, or choose another folder")
            state = load_checkpoint(ckpt_path, map_location="cpu")
            spec = self._resumed_spec(spec, state)
        self.spec = spec
        self.out = Path(spec.out)
        self.resumed_from = int(state["step"]) if state is not None else None
        if spec.batch % ctx.world_size:
            raise BigartError(f"batch {spec.batch} does not split evenly over {ctx.world_size} processes")
        if spec.precision == "fp16" and self.device.type != "cuda":
            raise BigartError("fp16 autocast is for CUDA; use bf16 on the CPU")
        self.local_batch = spec.batch // ctx.world_size
        self.step, self.images_seen, self.seconds = 0, 0, 0.0
        self.base_info: dict[str, Any] | None = None
        self.base_model = None  # a LoadedModel when fine-tuning a model file
        self.last_losses: dict[str, float] = {}

        base_ckpt = None
        if state is not None:
            self.base_info = json.loads(state["base"])
        elif spec.base is not None:
            base_ckpt = self._load_base()
        elif spec.resolution is None and self.family != "cyclegan":
            raise BigartError(f"{spec.out} holds no checkpoint to resume; training from scratch needs a resolution")
        self.data_info = self._load_data(state, base_ckpt)
        self._build(state, base_ckpt)
        self.frozen_d = freeze_blocks(self.D, spec.freeze_d) if spec.freeze_d else []
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        lr_g, lr_d = spec.lr_g or self.default_lr[0], spec.lr_d or self.default_lr[1]
        self.base_lr = (lr_g, lr_d)
        self.opt_g = torch.optim.Adam(self.g_params, lr=lr_g, betas=self.default_betas, eps=self.default_eps)
        self.opt_d = torch.optim.Adam(self.d_params, lr=lr_d, betas=self.default_betas, eps=self.default_eps)
        fp16 = spec.precision == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.pipe = AugmentPipe(spec.augmentations)
        self.augment_mode = spec.augment if self.uses_augmentation else "none"
        self.ada = AdaptiveP(
            spec.aug_p if self.augment_mode != "none" else 0.0,
            target=spec.aug_target if self.augment_mode == "ada" else None,
            speed_kimg=spec.aug_speed_kimg,
        )
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if base_ckpt is not None:
            self.G_ema.load_state_dict(base_ckpt["G_ema"])
        if state is not None:
            self._restore(state)
        self.G.train()
        self.D.train()
        self.g_forward = self._g_forward_module()  # bare, for passes without gradients
        self.g_train = ctx.wrap(self.g_forward)  # DistributedDataParallel when distributed
        self.d_train = ctx.wrap(self.D)

    # --- per-family hooks -----------------------------------------------------------------------------------

    def _load_data(self, state: dict | None, base_ckpt: dict | None) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, state: dict | None, base_ckpt: dict | None) -> None:
        raise NotImplementedError

    def _g_forward_module(self) -> nn.Module:
        return self.G

    def train_step(self, rng: StepRNG) -> dict[str, float]:
        raise NotImplementedError

    def sample_grid(self) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def export_generator(self) -> nn.Module:
        return copy.deepcopy(self.G_ema).eval()

    def family_state(self) -> dict[str, Any]:
        """Family state shared by all ranks (e.g. path-length mean)."""
        return {}

    def load_family_state(self, state: dict[str, Any]) -> None:
        pass

    def rank_state(self) -> dict[str, Any]:
        """State that differs between ranks (e.g. image pools)."""
        return {}

    def load_rank_state(self, state: dict[str, Any]) -> None:
        pass

    def header_extras(self) -> dict[str, Any]:
        return {}

    # --- base model -------------------------------------------------------------------------------------------

    def _load_base(self) -> dict[str, Any] | None:
        """Load ``spec.base``: a bigart training checkpoint (returned, weights applied in ``_build``) or any model
        file ``load_model`` reads (``self.base_model``)."""
        from bigart.models.registry import load_model
        from bigart.training.checkpoint import is_checkpoint

        base = Path(self.spec.base)
        if base.is_file() and is_checkpoint(base):
            ckpt = load_checkpoint(base)
            if ckpt["family"] != self.family:
                raise BigartError(f"{base}: a {ckpt['family']} checkpoint cannot fine-tune {self.family}")
            info = json.loads(ckpt["base"]) or {}
            self.base_info = {
                **info,
                "source": base.name,
                "format": "bigart training checkpoint",
                "step": int(ckpt["step"]),
            }
            return ckpt
        model = load_model(base)
        if model.family != self.family:
            raise BigartError(f"{base} is a {model.family} model; this run trains {self.family}")
        self.base_model = model
        self.base_info = {
            **(model.meta.get("provenance") or {}),
            "license": model.meta.get("license"),
            "class_names": model.meta.get("class_names"),
            "default_psi": model.meta.get("default_psi"),
        }
        return None

    def _base_generator(self) -> nn.Module:
        g = copy.deepcopy(self.base_model.generator).to(self.device)
        return g.train().requires_grad_(True)

    # --- state ------------------------------------------------------------------------------------------------

    @staticmethod
    def _resumed_spec(spec: TrainSpec, state: dict) -> TrainSpec:
        saved = json.loads(state["spec"])
        new = spec.to_dict()
        for key in RESUME_OVERRIDES:
            if new.get(key) is not None:
                saved[key] = new[key]
        for key, other in (("lr_decay_steps", "lr_schedule"), ("lr_schedule", "lr_decay_steps")):
            if new.get(key) is not None:  # a schedule given on resume replaces the saved one of the other kind
                saved[other] = None
        saved["resume"] = True
        return TrainSpec.from_dict(saved)

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step`` (0-based): see :meth:`TrainSpec.lr_factor`."""
        return self.spec.lr_factor(step)

    def _set_lr(self) -> None:
        f = self.lr_factor(self.step)
        for opt, base in ((self.opt_g, self.base_lr[0]), (self.opt_d, self.base_lr[1])):
            for group in opt.param_groups:
                group["lr"] = base * f

    def _orders(self) -> dict[str, EpochOrder]:
        return {"a": self.order}

    def _state(self) -> dict[str, Any]:
        own = {"rng": rng_state(self.device.type == "cuda"), "weights_sha256": self.weights_hash(), **self.rank_state()}
        ranks = self.ctx.gather(own)
        hashes = {r["weights_sha256"] for r in ranks}
        if len(hashes) > 1:  # DDP keeps every replica equal; anything else is a bug worth stopping for
            raise RuntimeError(f"the {len(ranks)} processes hold different weights at step {self.step}")
        return {
            "family": self.family,
            "spec": json.dumps(self.spec.run_dict()),
            "g_config": json.dumps(self.g_config.to_dict()),
            "d_config": json.dumps(self.d_config.to_dict()),
            "base": json.dumps(self.base_info),
            "data": json.dumps(self.data_info),
            "step": self.step,
            "images_seen": self.images_seen,
            "seconds": self.seconds,
            "G": self.G.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_g.state_dict(),
            "opt_D": self.opt_d.state_dict(),
            "scaler_G": self.scaler_g.state_dict(),
            "scaler_D": self.scaler_d.state_dict(),
            "augment": self.ada.state_dict(),
            "order": {k: o.state_dict() for k, o in self._orders().items()},
            "family_state": self.family_state(),
            "ranks": ranks,
            "world_size": self.ctx.world_size,
        }

    def _restore(self, state: dict[str, Any]) -> None:
        self.step, self.images_seen = int(state["step"]), int(state["images_seen"])
        self.seconds = float(state["seconds"])
        self.G.load_state_dict(state["G"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        if state["scaler_G"]:
            self.scaler_g.load_state_dict(state["scaler_G"])
            self.scaler_d.load_state_dict(state["scaler_D"])
        self.ada.load_state_dict(state["augment"])
        for k, order in self._orders().items():
            order.load_state_dict(state["order"][k])
        self.load_family_state(state["family_state"])
        ranks = state["ranks"]
        mine = ranks[self.ctx.rank] if len(ranks) == self.ctx.world_size else ranks[0]
        set_rng_state(mine["rng"])
        self.load_rank_state(mine)

    def weights_hash(self) -> str:
        """SHA-256 of the parameters of G, G_ema and D (what every process must agree on)."""
        h = hashlib.sha256()
        for net in (self.G, self.G_ema, self.D):
            for name, p in net.named_parameters():
                h.update(name.encode())
                h.update(p.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return h.hexdigest()

    def save(self) -> Path:
        """Write the checkpoint (every rank takes part; rank 0 writes)."""
        state = self._state()
        path = self.out / CHECKPOINT
        if self.ctx.is_main:
            save_checkpoint(path, state)
        self.ctx.barrier()
        return path

    # --- helpers for the steps ----------------------------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.spec.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.spec.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def augment(self, x: Tensor, rng: StepRNG) -> Tensor:
        if self.augment_mode == "none":
            return x
        return self.pipe(x, self.ada.p, rng("augment"))

    def _load_folder(self, folder: str, res: int, channels: int) -> ImageFolder:
        cache = Path(self.spec.cache_dir) if self.spec.cache_dir else Path(self.spec.out) / "cache"
        if self.ctx.is_main:
            data = load_image_folder(folder, res, channels, cache_dir=cache)
        self.ctx.barrier()  # rank 0 decodes and writes the cache; the others read it
        if not self.ctx.is_main:
            data = load_image_folder(folder, res, channels, cache_dir=cache)
        return data

    def batch_indices(self, order: EpochOrder) -> Tensor:
        """This rank's share of the next batch's image indices (every rank draws the whole batch's order)."""
        idx = order.take(self.spec.batch)
        return torch.from_numpy(idx[self.ctx.rank * self.local_batch : (self.ctx.rank + 1) * self.local_batch])

    def flips(self, n: int, rng: StepRNG) -> Tensor | None:
        return torch.rand(n, generator=rng("data")) < 0.5 if self.spec.mirror else None

    def images(self, data: ImageFolder, idx: Tensor, flips: Tensor | None) -> Tensor:
        """Images ``idx`` of ``data`` in [-1, 1], mirrored where ``flips``, on the training device."""
        return mirror(to_float(data.images[idx]), flips).to(self.device)

    def reals(self, data: ImageFolder, order: EpochOrder, rng: StepRNG) -> tuple[Tensor, Tensor]:
        """This rank's share of the next batch: images in [-1, 1] (mirrored at random) and labels."""
        idx = self.batch_indices(order)
        return self.images(data, idx, self.flips(len(idx), rng)), data.labels[idx]

    @staticmethod
    def set_trainable(params: list[nn.Parameter], flag: bool) -> None:
        for p in params:
            p.requires_grad_(flag)

    def optimise(self, loss: Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, params: list) -> None:
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        for p in params:
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        scaler.step(opt)
        scaler.update()

    def update_ema(self) -> None:
        s = self.spec
        half_life = (s.ema_kimg if s.ema_kimg is not None else self.default_ema_kimg()) * 1000
        rampup = s.ema_rampup if s.ema_rampup is not None else (0.05 if self.base_info is None else None)
        beta = L.ema_beta(s.batch, half_life, self.images_seen, rampup)
        L.update_ema(self.G_ema, self.G, beta)

    def source_config(self, config_cls: Any, state: dict | None, base_ckpt: dict | None) -> Any:
        """The generator configuration the run starts from: its own checkpoint's when resuming, a base training
        checkpoint's, the base model's, or None (from scratch)."""
        src = state if state is not None else base_ckpt
        if src is not None:
            return config_cls.from_dict(json.loads(src["g_config"]))
        return self.base_model.config if self.spec.base is not None else None

    def fixed_resolution(self, cfg: Any) -> int:
        """The resolution a GAN run trains at: the configuration's (a different ``resolution`` is refused), or the
        spec's when training from scratch."""
        s = self.spec
        if cfg is None:
            return int(s.resolution)
        if s.resolution not in (None, cfg.img_resolution):
            raise BigartError(f"the base model is {cfg.img_resolution} px; resolution {s.resolution} does not apply")
        return cfg.img_resolution

    def discriminator_step(
        self, fake: Tensor, real: Tensor, c: Any, c_real: Any, rng: Any, d_loss: Any, gamma: float
    ) -> dict[str, float]:
        """One discriminator update on generated ``fake`` and ``real`` images (both augmented), lazy R1 every
        ``r1_interval`` steps when ``gamma > 0``, the adaptive augmentation's overfitting estimate, then the
        generator average; returns the losses logged ("D", "R1")."""
        s = self.spec
        do_r1 = gamma > 0 and self.step % s.r1_interval == 0
        real_in = real.detach().requires_grad_(do_r1)
        with self.autocast():
            fake_logits = self.d_train(self.augment(fake.float(), rng), c)
            real_logits = self.d_train(self.augment(real_in, rng), c_real)
        loss_d = d_loss(real_logits, fake_logits)
        losses = {"D": float(loss_d.detach())}
        self.ada.observe(real_logits)
        if do_r1:
            r1 = L.r1_penalty(real_in, real_logits)
            loss_d = loss_d + r1.mean() * (gamma / 2) * s.r1_interval
            losses["R1"] = float(r1.detach().mean())
        self.optimise(loss_d, self.opt_d, self.scaler_d, self.d_params)
        self.set_trainable(self.g_params, True)
        self.update_ema()
        return losses

    def default_ema_kimg(self) -> float:
        return self.spec.batch * 10 / 32

    # --- the loop -----------------------------------------------------------------------------------------------

    def _prepare_out(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(f".{CHECKPOINT}.*.tmp"):  # left by a process killed while writing
            stale.unlink(missing_ok=True)
        (self.out / "samples").mkdir(exist_ok=True)
        spec_text = json.dumps(self.spec.run_dict(), indent=2)
        atomic_write(self.out / "spec.json", lambda tmp: Path(tmp).write_text(spec_text))
        log = self.out / PROGRESS
        if log.exists():  # drop lines after the checkpoint we continue from (or all of them on a fresh start)
            keep = []
            for line in log.read_text().splitlines():
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    if json.loads(line)["step"] <= self.step:
                        keep.append(line + "\n")
            atomic_write(log, lambda tmp: Path(tmp).write_text("".join(keep)))

    def _log(self, seconds: float) -> None:
        row = {
            "step": self.step,
            "images_seen": self.images_seen,
            **{f"loss_{k}": v for k, v in self.last_losses.items()},
            "aug_p": self.ada.p,
            "r_t": self.ada.rt,
            "sec_per_step": seconds,
        }
        with open(self.out / PROGRESS, "a") as f:
            f.write(json.dumps(row) + "\n")

    def write_samples(self) -> Path:
        grid, recipe = self.sample_grid()
        path = self.out / "samples" / f"step-{self.step:06d}.png"
        save_png(path, grid, {"kind": "training-sample", "family": self.family, "step": self.step, **recipe})
        return path

    def run(self, progress: ProgressLike | None) -> TrainResult:
        s, main = self.spec, self.ctx.is_main
        if main:
            self._prepare_out()
        self.ctx.barrier()
        if main and progress is not None:
            progress.start(s.end_step * s.batch, f"train {self.family}")
            if self.images_seen:
                progress.advance(min(self.images_seen, s.end_step * s.batch))
        abort_exc: BaseException | None = None
        aborted = False
        saved_at = self.resumed_from
        try:
            if main and self.resumed_from is None:
                self.write_samples()
            with _StopSignals() as stop:
                while self.step < s.end_step:
                    want_stop = stop.requested
                    if main and progress is not None:
                        try:
                            progress.check_aborted()
                        except Exception as e:  # the progress object's way of saying "cancel"
                            abort_exc, want_stop = e, True
                    if self.ctx.broadcast_flag(want_stop):
                        aborted = True
                        break
                    t0 = time.perf_counter()
                    rng = StepRNG(s.seed, self.step, self.ctx.rank)
                    rng.seed_global()
                    self._set_lr()
                    self.last_losses = self.train_step(rng)
                    self.step += 1
                    self.images_seen += s.batch
                    if self.augment_mode == "ada" and self.step % s.aug_interval == 0:
                        self.ada.adjust(s.batch * s.aug_interval, reduce=self.ctx.sum)
                    dt = time.perf_counter() - t0
                    self.seconds += dt
                    if main:
                        self._log(dt)
                        if progress is not None:
                            progress.advance(s.batch)
                        if self.step % s.sample_every == 0:
                            self.write_samples()
                    if self.step % s.checkpoint_every == 0:
                        self.save()
                        saved_at = self.step
            if saved_at != self.step:
                self.save()
            if main and not aborted and self.step % s.sample_every and self.step != self.resumed_from:
                self.write_samples()
            exported = None
            if s.export and not aborted and main:
                exported = Path(s.export)
                self.export(exported)
            self.ctx.barrier()
        finally:
            if main and progress is not None:
                progress.close()
        if abort_exc is not None:
            raise abort_exc
        return TrainResult(
            out=self.out,
            step=self.step,
            images_seen=self.images_seen,
            seconds=self.seconds,
            checkpoint=self.out / CHECKPOINT,
            export=exported,
            losses=dict(self.last_losses),
            aborted=aborted,
            resumed_from=self.resumed_from,
        )

    # --- export -------------------------------------------------------------------------------------------------

    def export(self, path: Path) -> nn.Module:
        """Write the generator average as a bigart model file with a card; returns the exported network."""
        if path.suffix != ".safetensors":
            raise BigartError(f"{path}: the exported model must end in .safetensors")
        g = self.export_generator().cpu().eval()
        base = self.base_info
        if base is not None:
            license_text = base.get("license") or "unknown: the license of the base model applies"
            provenance = {k: base.get(k) for k in ("source", "sha256", "format") if base.get(k) is not None}
            provenance["fine_tuned_by"] = f"bigart {__version__}"
        else:
            license_text = (
                self.spec.license or "trained from scratch with bigart; the license of the training data applies"
            )
            provenance = {
                "source": "trained from scratch",
                "format": "bigart-train",
                "trained_by": f"bigart {__version__}",
            }
        card = {
            "data": self.data_info,
            "steps": self.step,
            "images_seen": self.images_seen,
            "training_seconds": round(self.seconds, 3),
            "base_model": None
            if base is None
            else {**{k: base.get(k) for k in ("source", "sha256", "format")}, **self._base_file()},
            "license_note": license_text,
            "hardware": hardware_info(self.device, self.ctx.world_size),
            "recipe": {k: v for k, v in self.spec.to_dict().items() if k not in ("out", "resume", "export", "stop_at")},
        }
        header = {
            "family": self.family,
            "config": self.g_config.to_dict(),
            "provenance": provenance,
            "license": license_text,
            "notes": [
                f"{'fine-tuned' if base else 'trained'} for {self.step} steps ({self.images_seen} images) "
                f"on {self.data_info.get('folder')}"
            ],
            "card": card,
            **self.header_extras(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model_file(path, g.state_dict(), header)
        return g

    def _base_file(self) -> dict[str, Any]:
        """The base file this run started from, when it is a bigart model file still at ``spec.base``: its name and
        hash, its width and its own training record, so a card can tell the whole chain of runs (empty otherwise)."""
        path = Path(self.spec.base or "")
        if not path.is_file() or path.suffix != ".safetensors":
            return {}
        try:
            _, header = read_model_file(path)
        except BigartError:
            return {}
        if not header:
            return {}
        card = header.get("card") or {}
        return {
            "file": path.name,
            "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "channels": (header.get("config") or {}).get("channels"),
            "training": {k: card.get(k) for k in ("steps", "images_seen", "training_seconds", "hardware")},
        }


def hardware_info(device: torch.device, processes: int = 1) -> dict[str, Any]:
    """What the exporting process ran on, for the model card: device, CPU or GPU name, threads, processes, torch."""
    info: dict[str, Any] = {"device": str(device), "processes": processes, "torch": torch.__version__}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu"] = _cpu_name()
        info["threads"] = torch.get_num_threads()
    return info


def _cpu_name() -> str:
    import platform

    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


class ClassConditional:
    """Labels of the data -> class indices of a model with ``n_classes`` classes (0: unconditional)."""

    n_classes = 0
    data: ImageFolder

    def class_names(self) -> list[str] | None:
        """The class names the exported model records: the spec's display names for the class folders, the base
        model's, or the folder names (None for an unconditional model)."""
        names = (self.base_info or {}).get("class_names")
        if names is None and self.n_classes and self.data.num_classes:
            names = list(self.spec.class_names or self.data.class_names)
        return names

    def check_classes(self) -> None:
        names = self.spec.class_names
        if names is not None and len(names) != self.data.num_classes:
            raise BigartError(
                f"class_names gives {len(names)} names for the {self.data.num_classes} class folders of "
                f"{self.data.root} ({', '.join(self.data.class_names)})"
            )
        if self.n_classes and self.data.num_classes > self.n_classes:
            raise BigartError(
                f"{self.data.root} has {self.data.num_classes} class folders but the model knows {self.n_classes} "
                "classes"
            )
        if self.n_classes and not self.data.num_classes and not 0 <= self.spec.class_index < self.n_classes:
            raise BigartError(f"class_index {self.spec.class_index} is outside 0..{self.n_classes - 1}")

    def class_ids(self, labels: Tensor) -> Tensor:
        if self.data.num_classes:
            return labels
        return torch.full_like(labels, self.spec.class_index)

    def random_labels(self, n: int, gen: torch.Generator) -> Tensor:
        """Labels of random training images (so classes appear as often as in the data)."""
        return self.data.labels[torch.randint(0, len(self.data), [n], generator=gen)]

    def onehot(self, labels: Tensor) -> Tensor | None:
        if not self.n_classes:
            return None
        return F.one_hot(self.class_ids(labels), self.n_classes).float().to(self.device)
