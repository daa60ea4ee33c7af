"""A BigGAN generator while it trains: spectral-norm power iteration and standing batch-norm statistics.

bigart's BigGAN generator runs with inference semantics: spectral normalisation divides by ``u · W v`` with stored
vectors, and batch norms use statistics stored per truncation. Training needs the other half of both
(Brock et al. 2019): one power iteration per step keeps ``u``, ``v`` on the weights' leading singular vectors, batch
norms normalise with each batch's own statistics (``batch_stats``), and afterwards "standing statistics" (the
average batch statistics over many batches, per truncation) fill the tables the generator renders with.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from bigart.models.biggan import BigGANGenerator, ConditionalNorm, OutputNorm


def _norms(g: nn.Module) -> list[nn.Module]:
    return [m for m in g.modules() if isinstance(m, ConditionalNorm | OutputNorm)]


def set_batch_stats(g: nn.Module, on: bool) -> None:
    """Normalise with batch statistics (training) or with the stored tables (rendering)."""
    for m in _norms(g):
        m.batch_stats = on


@torch.no_grad()
def power_iteration_(g: nn.Module, iterations: int = 1) -> None:
    """Move every spectrally normalised layer's ``u``, ``v`` towards the leading singular vectors of its weight."""
    for m in g.modules():
        if not all(hasattr(m, k) for k in ("weight_orig", "weight_u", "weight_v")):
            continue
        w = m.weight_orig.detach().reshape(m.weight_orig.shape[0], -1).float()
        u = m.weight_u.float()
        for _ in range(iterations):
            v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(w @ v, dim=0, eps=1e-12)
        m.weight_u.copy_(u)
        m.weight_v.copy_(v)


@torch.no_grad()
def standing_statistics_(
    g: BigGANGenerator,
    rows: Iterable[int] | None = None,
    batch: int = 16,
    batches: int = 4,
    classes: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> None:
    """Fill the per-truncation statistics tables of ``g``: for each row ``i`` (truncation ``i / (n_stats - 1)``),
    average the batch mean and variance every norm sees over ``batches`` batches of ``z`` drawn from the truncated
    normal at that truncation, with classes drawn from ``classes`` (indices; all classes when None)."""
    norms = _norms(g)
    n_stats = norms[0].running_means.shape[0]
    rows = range(n_stats) if rows is None else list(rows)
    device = g.embeddings.weight.device
    sums: dict[nn.Module, list[torch.Tensor]] = {}

    def hook(module: nn.Module, args: tuple) -> None:
        x = args[0].float()
        m, v = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
        if module in sums:
            sums[module][0] += m
            sums[module][1] += v
        else:
            sums[module] = [m, v]

    handles = [m.register_forward_pre_hook(hook) for m in norms]
    was_training = g.training
    set_batch_stats(g, True)
    try:
        for row in rows:
            t = row / (n_stats - 1)
            sums.clear()
            for _ in range(batches):
                z = torch.nn.init.trunc_normal_(torch.empty(batch, g.z_dim), generator=generator) * t
                if classes is None:
                    idx = torch.randint(0, g.num_classes, [batch], generator=generator)
                else:
                    idx = classes[torch.randint(0, len(classes), [batch], generator=generator)]
                onehot = F.one_hot(idx, g.num_classes).float()
                g(z.to(device), onehot.to(device), 1.0)
            for m in norms:
                m.running_means[row] = sums[m][0] / batches
                m.running_vars[row] = sums[m][1] / batches
    finally:
        set_batch_stats(g, False)
        for h in handles:
            h.remove()
        g.train(was_training)
