"""Write a StyleGAN2 state dict in the rosinality/stylegan2-pytorch layout (for tests).

The inverse of the renaming bigart's loader does, written independently from the published layout:
``style.{i}``, ``input.input [1, C, 4, 4]``, ``conv1``, ``convs.{j}``, ``to_rgb1``, ``to_rgbs.{k}``, 5-D
modulated weights and ``noises.noise_{i} [1, 1, R, R]`` buffers, blur kernels included.
"""

from __future__ import annotations

import torch

KERNEL = torch.tensor([1.0, 3.0, 3.0, 1.0])


def _blur(factor: float) -> torch.Tensor:
    k = torch.outer(KERNEL, KERNEL)
    return k / k.sum() * factor


def to_rosinality(sd: dict[str, torch.Tensor], res: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    n_mlp = len([k for k in sd if k.startswith("mapping.fc") and k.endswith(".weight")])
    for i in range(n_mlp):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]
    noise_i = 0

    def conv(src: str, dst: str, blur: bool) -> None:
        nonlocal noise_i
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        if blur:
            out[f"{dst}.conv.blur.kernel"] = _blur(4.0)
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[f"noises.noise_{noise_i}"] = sd[f"{src}.noise_const"][None, None]
        noise_i += 1

    def torgb(src: str, dst: str, upsample: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)
        if upsample:
            out[f"{dst}.upsample.kernel"] = _blur(4.0)

    conv("synthesis.b4.conv1", "conv1", False)
    torgb("synthesis.b4.torgb", "to_rgb1", False)
    r, k = 8, 0
    while r <= res:
        conv(f"synthesis.b{r}.conv0", f"convs.{2 * k}", True)
        conv(f"synthesis.b{r}.conv1", f"convs.{2 * k + 1}", False)
        torgb(f"synthesis.b{r}.torgb", f"to_rgbs.{k}", True)
        r, k = r * 2, k + 1
    return out, sd["mapping.w_avg"].clone()
