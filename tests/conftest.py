"""Shared fixtures: tiny random-initialised generators built in the test, never downloaded."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(1)


def randomize_(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give the parameters that start at 0 or 1 (noise strengths, biases, w_avg) random values,
    so comparisons exercise every term of the forward pass."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise_strength") or name.endswith("bias"):
                p.add_(torch.randn(p.shape, generator=g) * 0.3)
        for name, b in net.named_buffers():
            if name.endswith("w_avg"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.5)
            if name.endswith("magnitude_ema"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return net.eval().requires_grad_(False)


@pytest.fixture
def tiny_sg2():
    """Factory for small StyleGAN2 generators: tiny_sg2(architecture='skip', c_dim=0, res=16)."""
    from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels

    def make(architecture: str = "skip", c_dim: int = 0, res: int = 16, seed: int = 0, **kw):
        torch.manual_seed(seed)
        cfg = StyleGAN2Config(
            z_dim=kw.pop("z_dim", 32),
            c_dim=c_dim,
            w_dim=kw.pop("w_dim", 24),
            img_resolution=res,
            channels=kw.pop("channels", nvidia_channels(res, 256, 32)),
            architecture=architecture,
            mapping_layers=kw.pop("mapping_layers", 2),
            **kw,
        )
        return randomize_(StyleGAN2Generator(cfg), seed)

    return make


@pytest.fixture(autouse=True)
def _onnx_cache(tmp_path_factory, monkeypatch):
    """Exported ONNX graphs go to a per-session temporary cache, never the user's."""
    monkeypatch.setenv("BIGART_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "onnx-cache"))
