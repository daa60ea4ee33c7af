"""Augmentation: p = 0 is the identity, every transform is differentiable and does what it says; adaptive p."""

from __future__ import annotations

import pytest
import torch

from bigart.training.augment import AdaptiveP, AugmentPipe, brightness, contrast, cutout, saturation, translate


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_p_zero_is_the_identity():
    x = images()
    y = AugmentPipe()(x, 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(x, y)


def test_p_one_changes_every_image_and_gradients_flow():
    x = images().requires_grad_(True)
    y = AugmentPipe()(x, 1.0, torch.Generator().manual_seed(1))
    assert all(not torch.equal(a, b) for a, b in zip(x.detach(), y.detach(), strict=True))
    weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
    (y * weights).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_gradients_of_translation_and_cutout_are_their_masks():
    x = torch.ones(1, 1, 6, 6, requires_grad=True)
    translate(x, torch.tensor([2]), torch.tensor([-1])).sum().backward()
    expect = torch.zeros(6, 6)
    expect[1:, :4] = 1  # the pixels that stay inside after moving right 2, up 1
    assert torch.equal(x.grad[0, 0], expect)
    x.grad = None
    cutout(x, torch.tensor([3]), torch.tensor([3]), (2, 2)).sum().backward()
    expect = torch.ones(6, 6)
    expect[2:4, 2:4] = 0
    assert torch.equal(x.grad[0, 0], expect)


def test_the_random_stream_does_not_depend_on_p():
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    AugmentPipe()(images(), 0.0, gen_a)
    AugmentPipe()(images(), 0.7, gen_b)
    assert torch.equal(gen_a.get_state(), gen_b.get_state())


def test_translate_matches_a_shift_with_zero_fill():
    x = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5)
    y = translate(x, torch.tensor([1, -2]), torch.tensor([0, 1]))
    expect0 = torch.zeros_like(x[0])
    expect0[:, :, 1:] = x[0, :, :, :-1]  # right by 1
    expect1 = torch.zeros_like(x[1])
    expect1[:, 1:, :-2] = x[1, :, :-1, 2:]  # left by 2, down by 1
    assert torch.equal(y[0], expect0) and torch.equal(y[1], expect1)


def test_cutout_zeroes_the_square():
    x = torch.ones(1, 1, 8, 8)
    y = cutout(x, torch.tensor([2]), torch.tensor([5]), (4, 4))
    assert y.sum() == 64 - 16
    assert y[0, 0, 3:7, 0:4].sum() == 0


def test_colour_transforms():
    x = images(2)
    u = torch.tensor([0.5, 0.75])
    assert torch.equal(brightness(x, u)[0], x[0])
    assert torch.allclose(brightness(x, u)[1], x[1] + 0.25)
    assert torch.allclose(saturation(x, torch.tensor([0.5, 0.0]))[0], x[0], atol=1e-6)
    grey = saturation(x, torch.tensor([0.0, 0.0]))
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
    flat = contrast(x, torch.tensor([-0.5, 0.5]))[0]
    assert torch.allclose(flat, torch.full_like(flat, float(x[0].mean())), atol=1e-6)


def test_adaptive_p_rises_when_d_overfits_and_falls_otherwise():
    ada = AdaptiveP(p=0.5, target=0.6, speed_kimg=1.0)  # 1000 images move p by 1
    ada.observe(torch.tensor([2.0, 1.0, 3.0, -1.0]))  # r_t = (1 + 1 + 1 - 1) / 4 = 0.5 < 0.6
    assert ada.adjust(images=100) == pytest.approx(0.5)
    assert ada.p == pytest.approx(0.4)
    ada.observe(torch.ones(8))  # r_t = 1 > 0.6: overfitting
    ada.adjust(images=250)
    assert ada.p == pytest.approx(0.65)
    assert ada.adjust(images=250) is None and ada.p == pytest.approx(0.65)  # nothing observed: unchanged
    ada.observe(-torch.ones(4))
    ada.adjust(images=10_000)
    assert ada.p == 0.0  # clamped
    fixed = AdaptiveP(p=0.3, target=None)
    fixed.observe(torch.ones(4))
    fixed.adjust(images=10_000)
    assert fixed.p == 0.3 and fixed.rt == 1.0


def test_adaptive_p_statistics_are_summed_over_processes_and_kept_in_its_state():
    ada = AdaptiveP(p=0.2, target=0.6, speed_kimg=1.0)
    ada.observe(torch.tensor([1.0, -1.0]))
    state = ada.state_dict()
    again = AdaptiveP(target=0.6, speed_kimg=1.0)
    again.load_state_dict(state)
    assert again.state_dict() == state
    # another process saw four positive logits: r_t = (0 + 4) / 6 = 2/3 > 0.6
    rt = again.adjust(100, reduce=lambda sums: [sums[0] + 4.0, sums[1] + 4.0])
    assert rt == pytest.approx(2 / 3) and again.p == pytest.approx(0.3)
