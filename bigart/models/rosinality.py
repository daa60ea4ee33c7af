"""rosinality/stylegan2-pytorch checkpoints: detect them and rename their tensors to the NVIDIA layout.

A rosinality generator is the same network as StyleGAN2's ``skip`` architecture with other names and shapes:
5-D modulated-conv weights ``[1, O, I, k, k]``, a ``[1, C, 4, 4]`` constant, ``[1, 3, 1, 1]`` RGB biases and
per-layer noise buffers ``noises.noise_{i}``. Renaming gives a state dict our StyleGAN2 generator loads as is.
"""

from __future__ import annotations

import math

import torch

from bigart.models.stylegan2 import StyleGAN2Config

Tensor = torch.Tensor


def is_rosinality(sd: dict[str, Tensor]) -> bool:
    """A rosinality generator state dict has the constant at ``input.input`` and a first ``conv1`` layer."""
    return "input.input" in sd and "conv1.conv.weight" in sd


def _style_layers(sd: dict[str, Tensor]) -> list[int]:
    idx = sorted(int(k.split(".")[1]) for k in sd if k.startswith("style.") and k.endswith(".weight"))
    if idx != list(range(1, len(idx) + 1)):
        raise ValueError(f"mapping layers style.1..style.N expected, found style.{idx}")
    return idx


def _conv(sd: dict[str, Tensor], src: str, dst: str, out: dict[str, Tensor], noise: Tensor | None) -> None:
    out[f"{dst}.weight"] = sd[f"{src}.conv.weight"][0]
    out[f"{dst}.affine.weight"] = sd[f"{src}.conv.modulation.weight"]
    out[f"{dst}.affine.bias"] = sd[f"{src}.conv.modulation.bias"]
    out[f"{dst}.bias"] = sd[f"{src}.activate.bias"]
    out[f"{dst}.noise_strength"] = sd[f"{src}.noise.weight"].reshape([])
    if noise is not None:
        out[f"{dst}.noise_const"] = noise.reshape(noise.shape[-2:])


def _torgb(sd: dict[str, Tensor], src: str, dst: str, out: dict[str, Tensor]) -> None:
    out[f"{dst}.weight"] = sd[f"{src}.conv.weight"][0]
    out[f"{dst}.affine.weight"] = sd[f"{src}.conv.modulation.weight"]
    out[f"{dst}.affine.bias"] = sd[f"{src}.conv.modulation.bias"]
    out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(-1)


def config_from_rosinality(sd: dict[str, Tensor], lr_multiplier: float = 0.01) -> StyleGAN2Config:
    """Hyper-parameters read from the tensors' names and shapes."""
    layers = _style_layers(sd)
    w_dim = sd["style.1.weight"].shape[1]
    const = sd["input.input"]
    channels = {4: const.shape[1]}
    n_convs = len({k.split(".")[1] for k in sd if k.startswith("convs.")})
    if n_convs % 2:
        raise ValueError(f"convs.* must come in pairs, found {n_convs}")
    for k in range(n_convs // 2):
        channels[2 ** (k + 3)] = sd[f"convs.{2 * k}.conv.weight"].shape[1]
    res = max(channels)
    return StyleGAN2Config(
        z_dim=w_dim,
        c_dim=0,
        w_dim=w_dim,
        img_resolution=res,
        img_channels=sd["to_rgb1.conv.weight"].shape[1],
        channels=channels,
        architecture="skip",
        mapping_layers=len(layers),
        mapping_lr_multiplier=lr_multiplier,
        conv_clamp=None,
        use_noise=True,
        kernel_size=sd["conv1.conv.weight"].shape[-1],
    )


def convert_rosinality(sd: dict[str, Tensor], latent_avg: Tensor | None) -> dict[str, Tensor]:
    """Rename a rosinality ``g_ema`` state dict to the NVIDIA StyleGAN2 layout.

    ``latent_avg`` becomes ``mapping.w_avg``; when it is None the caller must estimate it. The blur kernels
    are not copied: they are fixed by the architecture ([1, 3, 3, 1]) and rebuilt by our layers.
    """
    out: dict[str, Tensor] = {}
    for i in _style_layers(sd):
        out[f"mapping.fc{i - 1}.weight"] = sd[f"style.{i}.weight"]
        out[f"mapping.fc{i - 1}.bias"] = sd[f"style.{i}.bias"]
    w_dim = sd["style.1.weight"].shape[1]
    out["mapping.w_avg"] = torch.zeros([w_dim]) if latent_avg is None else latent_avg.reshape(-1).to(torch.float32)
    out["synthesis.b4.const"] = sd["input.input"][0]
    noises = {int(k.rsplit("_", 1)[1]): v for k, v in sd.items() if k.startswith("noises.noise_")}
    _conv(sd, "conv1", "synthesis.b4.conv1", out, noises.get(0))
    _torgb(sd, "to_rgb1", "synthesis.b4.torgb", out)
    n_blocks = len({k.split(".")[1] for k in sd if k.startswith("convs.")}) // 2
    for k in range(n_blocks):
        res = 2 ** (k + 3)
        _conv(sd, f"convs.{2 * k}", f"synthesis.b{res}.conv0", out, noises.get(2 * k + 1))
        _conv(sd, f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", out, noises.get(2 * k + 2))
        _torgb(sd, f"to_rgbs.{k}", f"synthesis.b{res}.torgb", out)
    expected_res = 2 ** (n_blocks + 2)
    if int(math.log2(expected_res)) * 2 - 3 != len(noises) and noises:
        raise ValueError(f"expected {int(math.log2(expected_res)) * 2 - 3} noise buffers, found {len(noises)}")
    return out
