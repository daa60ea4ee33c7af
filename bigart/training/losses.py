"""GAN objectives, regularisers, the CycleGAN image pool and the generator's moving average.

* Non-saturating logistic loss (Goodfellow et al. 2014) with lazy R1 (Mescheder et al. 2018; lazy as in
  StyleGAN2: every ``interval`` steps, weighted by the interval), for StyleGAN2 and BigGAN; hinge loss for BigGAN.
* Path-length regularisation for StyleGAN2 (Karras et al. 2020).
* LSGAN (Mao et al. 2017), cycle-consistency and identity L1, and a history of generated images (Shrivastava et
  al. 2017) for CycleGAN.
* EMA of the generator with its half-life given in images (StyleGAN2-ADA's ``ema_kimg``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


# --- adversarial losses ---------------------------------------------------------------------------------------


def logistic_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """``softplus(D(fake)) + softplus(-D(real))``, averaged."""
    return F.softplus(fake_logits.float()).mean() + F.softplus(-real_logits.float()).mean()


def logistic_g_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating: ``softplus(-D(G(z)))``, averaged."""
    return F.softplus(-fake_logits.float()).mean()


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    return -fake_logits.float().mean()


def lsgan_loss(logits: Tensor, target_is_real: bool) -> Tensor:
    """Least squares against 1 (real) or 0 (fake)."""
    logits = logits.float()
    return F.mse_loss(logits, torch.full_like(logits, 1.0 if target_is_real else 0.0))


D_LOSSES = {"logistic": logistic_d_loss, "hinge": hinge_d_loss}
G_LOSSES = {"logistic": logistic_g_loss, "hinge": hinge_g_loss}


# --- regularisers ---------------------------------------------------------------------------------------------


def r1_penalty(real_images: Tensor, real_logits: Tensor) -> Tensor:
    """``|grad_x D(x)|^2`` per image (``real_images`` must require grad); differentiable for the D update."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().square().sum(dim=list(range(1, grad.ndim)))


def r1_gamma_heuristic(resolution: int, batch: int) -> float:
    """StyleGAN2-ADA's default: ``0.0002 * resolution^2 / batch``."""
    return 0.0002 * resolution**2 / batch


def path_length_penalty(images: Tensor, ws: Tensor, pl_mean: Tensor, generator: torch.Generator, decay: float = 0.01):
    """``(|J_w^T y| - a)^2`` per image with ``y`` random image-space noise (scaled by 1/sqrt(pixels)) and ``a``
    the running mean of the lengths. Returns ``(penalty [N], mean length)``; the caller updates ``pl_mean``
    (averaged over processes) with ``pl_mean.lerp_(mean, decay)``."""
    h, w = images.shape[2], images.shape[3]
    noise = torch.randn(images.shape, generator=generator).to(images.device) / (h * w) ** 0.5
    (grad,) = torch.autograd.grad((images.float() * noise).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
    return (lengths - pl_mean).square(), lengths.detach().mean()


def cycle_loss(reconstructed: Tensor, original: Tensor) -> Tensor:
    return F.l1_loss(reconstructed.float(), original.float())


# --- image pool -------------------------------------------------------------------------------------------------


class ImagePool:
    """A history of up to ``size`` generated images: until it is full every image passes and is stored; then each
    image is, with probability 1/2, swapped for a random stored one (the stored one is returned). Own seeded RNG;
    ``state_dict`` holds the images and the RNG state."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = int(size)
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(int(seed))

    def query(self, images: Tensor) -> Tensor:
        if self.size <= 0:
            return images
        out = []
        for img in images.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
                continue
            swap = float(torch.rand([], generator=self.generator)) > 0.5
            if swap:
                i = int(torch.randint(0, self.size, [], generator=self.generator))
                out.append(self.images[i].clone())
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict:
        stacked = torch.stack(self.images).cpu() if self.images else torch.zeros([0])
        return {"size": self.size, "images": stacked, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        self.size = int(state["size"])
        self.images = [t.to(device) for t in state["images"]] if state["images"].numel() else []
        self.generator.set_state(state["rng"])


# --- EMA --------------------------------------------------------------------------------------------------------


def ema_beta(batch: int, half_life_images: float, images_seen: int = 0, rampup: float | None = None) -> float:
    """Per-step decay so the average's half-life is ``half_life_images`` (ramped up to ``rampup * images_seen``
    early in training when given); 0 (follow the generator) for a half-life of 0."""
    half_life = float(half_life_images)
    if rampup is not None:
        half_life = min(half_life, images_seen * rampup)
    if half_life <= 0:
        return 0.0
    return 0.5 ** (batch / half_life)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """``ema = model + beta * (ema - model)`` for parameters; buffers are copied.

    One fused (``_foreach``) call per list rather than a few operations per tensor: on a GPU a training step of these
    small networks is bound by the host launching operations, and a per-tensor loop was 7% of a BigGAN step's."""
    pairs = list(zip(ema.parameters(), model.parameters(), strict=True))
    if pairs:
        torch._foreach_lerp_([e for e, _ in pairs], [p.detach() for _, p in pairs], 1.0 - beta)
    buffers = list(zip(ema.buffers(), model.buffers(), strict=True))
    if buffers:
        torch._foreach_copy_([e for e, _ in buffers], [b for _, b in buffers])
