"""Differentiable augmentation for the discriminator, with an adaptive probability.

The transforms follow DiffAugment (Zhao et al. 2020): colour (brightness, saturation, contrast), translation by up
to 1/8 of the image with zero padding, and cutout of a square half the image's size. As in ADA (Karras et al.
2020), each transform is applied to each image with probability ``p``; ``p = 0`` is exactly the identity. Every
operation is differentiable in the image, so generator gradients pass through when fakes are augmented.

``AdaptiveP`` tunes ``p`` from the overfitting heuristic ``r_t = E[sign(D(real))]``: every few steps, ``p`` moves
up when ``r_t`` is above the target (0.6) and down otherwise, by ``batch * interval / (speed_kimg * 1000)`` per
adjustment (so it can traverse 0..1 in ``speed_kimg`` thousand images).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
TRANSFORMS = ("color", "translation", "cutout")


def _uniform(n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(n, generator=generator).to(device)


def brightness(x: Tensor, u: Tensor) -> Tensor:
    """Add ``u - 0.5`` (``u`` uniform in [0, 1) per image)."""
    return x + (u - 0.5).to(x.dtype)[:, None, None, None]


def saturation(x: Tensor, u: Tensor) -> Tensor:
    """Scale the distance from the per-pixel channel mean by ``2u``."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (2 * u).to(x.dtype)[:, None, None, None] + mean


def contrast(x: Tensor, u: Tensor) -> Tensor:
    """Scale the distance from the image mean by ``u + 0.5``."""
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (u + 0.5).to(x.dtype)[:, None, None, None] + mean


def translate(x: Tensor, shift_x: Tensor, shift_y: Tensor) -> Tensor:
    """Shift each image by whole pixels (``shift_*`` int ``[N]``), filling with zeros; differentiable in ``x``."""
    n, _, h, w = x.shape
    pad_x, pad_y = int(shift_x.abs().max()), int(shift_y.abs().max())
    padded = F.pad(x, [pad_x, pad_x, pad_y, pad_y])
    rows = torch.arange(h, device=x.device)[None, :] - shift_y.to(x.device)[:, None] + pad_y  # [N, H]
    cols = torch.arange(w, device=x.device)[None, :] - shift_x.to(x.device)[:, None] + pad_x  # [N, W]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: Tensor, centre_x: Tensor, centre_y: Tensor, size: tuple[int, int]) -> Tensor:
    """Zero a ``size = (h, w)`` rectangle centred at ``(centre_x, centre_y)`` (int ``[N]``) in each image."""
    _, _, h, w = x.shape
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    y0 = centre_y.to(x.device)[:, None] - size[0] // 2
    x0 = centre_x.to(x.device)[:, None] - size[1] // 2
    inside_y = (ys >= y0) & (ys < y0 + size[0])
    inside_x = (xs >= x0) & (xs < x0 + size[1])
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


class AugmentPipe:
    """Apply each of ``transforms`` to each image with probability ``p``; randomness from the given generator.

    The same number of random values is drawn whatever ``p`` is, so the random stream does not depend on it.
    """

    def __init__(
        self,
        transforms: Sequence[str] = TRANSFORMS,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown augmentations {unknown}; choose from {TRANSFORMS}")
        self.transforms = tuple(transforms)
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def __call__(self, x: Tensor, p: float, generator: torch.Generator) -> Tensor:
        n, _, h, w = x.shape
        dev = x.device

        def gated(op: Callable[[Tensor], Tensor]) -> None:
            nonlocal x
            apply = (torch.rand(n, generator=generator) < p).to(dev)
            if p > 0:
                x = torch.where(apply[:, None, None, None], op(x), x)

        if "color" in self.transforms:
            for op in (brightness, saturation, contrast):
                u = _uniform(n, generator, dev)
                gated(lambda t, op=op, u=u: op(t, u))
        if "translation" in self.transforms:
            sx, sy = int(w * self.translation_ratio + 0.5), int(h * self.translation_ratio + 0.5)
            shift_x = torch.randint(-sx, sx + 1, [n], generator=generator)
            shift_y = torch.randint(-sy, sy + 1, [n], generator=generator)
            gated(lambda t: translate(t, shift_x, shift_y))
        if "cutout" in self.transforms:
            size = (int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5))
            cx = torch.randint(0, w + (1 - size[1] % 2), [n], generator=generator)
            cy = torch.randint(0, h + (1 - size[0] % 2), [n], generator=generator)
            gated(lambda t: cutout(t, cx, cy, size))
        return x


class AdaptiveP:
    """The augmentation probability and the statistics that tune it; ``state_dict`` goes into checkpoints.

    ``observe(real_logits)`` accumulates ``sign(D(real))``; ``adjust(images)`` (called every ``interval`` steps with
    the images seen since the last call, over all processes) moves ``p`` towards less overfitting. With ``target``
    None, ``p`` stays fixed.
    """

    def __init__(self, p: float = 0.0, target: float | None = 0.6, speed_kimg: float = 100.0) -> None:
        self.p = float(p)
        self.target = target
        self.speed_kimg = float(speed_kimg)
        self.sign_sum = 0.0
        self.count = 0
        self.rt: float | None = None

    def observe(self, real_logits: Tensor) -> None:
        self.sign_sum += float(real_logits.detach().float().sign().sum())
        self.count += int(real_logits.numel())

    def adjust(self, images: int, reduce: Callable[[list[float]], list[float]] | None = None) -> float | None:
        """Update ``p`` from the statistics gathered since the last call; returns ``r_t`` (None without data).

        ``reduce`` sums ``[sign_sum, count]`` over processes (torch.distributed), so every rank gets the same ``p``.
        """
        sums = [self.sign_sum, float(self.count)]
        if reduce is not None:
            sums = reduce(sums)
        self.sign_sum, self.count = 0.0, 0
        if sums[1] == 0:
            return None
        self.rt = sums[0] / sums[1]
        if self.target is not None:
            step = images / (self.speed_kimg * 1000)
            direction = 1.0 if self.rt > self.target else -1.0
            self.p = min(max(self.p + direction * step, 0.0), 1.0)
        return self.rt

    def state_dict(self) -> dict[str, float | int | None]:
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "rt": self.rt}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.sign_sum, self.count = float(state["p"]), float(state["sign_sum"]), int(state["count"])
        self.rt = None if state.get("rt") is None else float(state["rt"])
