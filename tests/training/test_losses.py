"""Losses and regularisers against numbers worked out by hand; the image pool; the generator average."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from bigart.training import losses as L
from bigart.training.networks import minibatch_stddev


class Quadratic(nn.Module):
    """D(x) = sum(w * x) + 0.5 * sum(x^2): gradient w + x, so R1 = |w + x|^2."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.w * x).sum(dim=[1, 2, 3]) + 0.5 * x.square().sum(dim=[1, 2, 3])


def test_r1_equals_the_analytic_gradient_norm_and_trains_d():
    d = Quadratic()
    x = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    penalty = L.r1_penalty(x, d(x))
    expect = (d.w.detach() + x.detach()).square().sum(dim=[1, 2, 3])
    assert torch.allclose(penalty, expect, rtol=1e-5)
    penalty.sum().backward()  # d/dw sum |w + x|^2 = 2 * sum (w + x)
    assert torch.allclose(d.w.grad, 2 * (d.w.detach() + x.detach()).sum(dim=0), rtol=1e-5)


def test_logistic_and_hinge_losses():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sp = lambda t: math.log1p(math.exp(t))  # noqa: E731
    assert L.logistic_d_loss(real, fake).item() == pytest.approx((sp(0.5) + sp(-3)) / 2 + (sp(-2) + sp(1)) / 2)
    assert L.logistic_g_loss(fake).item() == pytest.approx((sp(-0.5) + sp(3)) / 2)
    assert L.hinge_d_loss(real, fake).item() == pytest.approx((0 + 2) / 2 + (1.5 + 0) / 2)
    assert L.hinge_g_loss(fake).item() == pytest.approx(1.25)
    assert L.lsgan_loss(torch.tensor([1.0, 0.0]), True).item() == pytest.approx(0.5)
    assert L.lsgan_loss(torch.tensor([1.0, 0.0]), False).item() == pytest.approx(0.5)
    assert L.r1_gamma_heuristic(256, 64) == pytest.approx(0.2048)


def test_path_length_of_a_linear_generator():
    # img = A ws (ws [N, 1, 2] -> img [N, 1, 2, 2]): J^T y = A^T y, and y is noise / sqrt(4)
    a = torch.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0], [1.0, 1.0]])
    ws = torch.randn(3, 1, 2, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    img = (ws @ a.t()).reshape(3, 1, 2, 2)
    gen = torch.Generator().manual_seed(7)
    penalty, mean_length = L.path_length_penalty(img, ws, torch.tensor(0.5), gen)
    noise = torch.randn(img.shape, generator=torch.Generator().manual_seed(7)) / 2
    lengths = (noise.reshape(3, 4) @ a).norm(dim=1)
    assert torch.allclose(penalty, (lengths - 0.5) ** 2, rtol=1e-5)
    assert mean_length.item() == pytest.approx(lengths.mean().item(), rel=1e-5)


def test_minibatch_stddev_groups_are_strided():
    x = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    y = minibatch_stddev(x, group_size=2)
    assert y.shape == (4, 3, 3, 3) and torch.equal(y[:, :2], x)
    # groups: images {0, 2} and {1, 3}
    for i, j in ((0, 2), (1, 3)):
        pair = torch.stack([x[i], x[j]])
        expect = ((pair - pair.mean(0)).square().mean(0) + 1e-8).sqrt().mean()
        assert torch.allclose(y[i, 2], torch.full([3, 3], expect.item()))
        assert torch.allclose(y[j, 2], y[i, 2])
    assert minibatch_stddev(torch.randn(3, 2, 3, 3), group_size=4).shape == (3, 3, 3, 3)  # group = whole batch


def test_image_pool_fills_then_swaps_and_its_state_replays():
    pool = L.ImagePool(3, seed=0)
    first = torch.arange(2).float().reshape(2, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: images pass through
    state = pool.state_dict()
    later = torch.arange(10, 16).float().reshape(6, 1, 1, 1)
    out = pool.query(later)
    assert len(pool.images) == 3
    # every output is either its input or something that was in the pool
    seen = {0.0, 1.0, *[float(v) for v in later.flatten()]}
    assert {float(v) for v in out.flatten()} <= seen
    assert not torch.equal(out, later), "with 5 draws at 1/2 some image should have been swapped"
    replay = L.ImagePool(99, seed=123)
    replay.load_state_dict(state)
    assert torch.equal(replay.query(later), out)
    assert L.ImagePool(0, seed=0).query(later) is later


def test_ema_half_life_is_counted_in_images():
    assert L.ema_beta(batch=32, half_life_images=3200) ** 100 == pytest.approx(0.5)
    assert L.ema_beta(32, 3200, images_seen=1000, rampup=0.05) == pytest.approx(0.5 ** (32 / 50))
    assert L.ema_beta(32, 0.0) == 0.0
    ema, net = nn.Linear(2, 2), nn.Linear(2, 2)
    nn.init.zeros_(ema.weight)
    nn.init.ones_(net.weight)
    L.update_ema(ema, net, beta=0.75)
    assert torch.allclose(ema.weight, torch.full([2, 2], 0.25))
    L.update_ema(ema, net, beta=0.0)
    assert torch.equal(ema.weight, net.weight)


def test_ema_moves_every_parameter_and_copies_every_buffer():
    torch.manual_seed(0)
    ema, net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    net(torch.randn(8, 3))  # moves the batch norm's running statistics and counts a batch
    before = [p.detach().clone() for p in ema.parameters()]
    L.update_ema(ema, net, beta=0.9)
    for p_ema, p_old, p in zip(ema.parameters(), before, net.parameters(), strict=True):
        assert torch.allclose(p_ema, p + 0.9 * (p_old - p), atol=1e-6)
    for b_ema, b in zip(ema.buffers(), net.buffers(), strict=True):
        assert torch.equal(b_ema, b)
    assert int(ema[1].num_batches_tracked) == 1
