"""Reading Hugging Face ``pytorch_pretrained_biggan`` checkpoints: recognising their tensors, their ``config.json``
beside the weights, folders holding both, and the hyper-parameters when only the weights are there.

Published files: ``pytorch_model.bin`` (``torch.save`` of the state dict) and ``config.json``, also hosted as
``biggan-deep-{128,256,512}-pytorch_model.bin`` / ``-config.json``. The weights are read with
:func:`bigart.models.unpickle.load_torch_file` (``weights_only``), never by running a pickle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from bigart.errors import ModelLoadError
from bigart.models.biggan import BigGANConfig
from bigart.models.unpickle import load_torch_file

WEIGHTS_SUFFIX = "pytorch_model.bin"
CONFIG_SUFFIX = "config.json"
FORMAT = "hf-biggan"

StateDict = dict[str, torch.Tensor]


def is_biggan(sd: dict[str, Any]) -> bool:
    return "embeddings.weight" in sd and "generator.gen_z.weight_orig" in sd


def prepare(sd: dict[str, Any]) -> StateDict:
    """The tensors only: drops bookkeeping entries such as ``_metadata`` if a writer stored them as keys."""
    return {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def config_from_tensors(sd: StateDict, sidecar: dict[str, Any] | None = None) -> BigGANConfig:
    """Hyper-parameters from the ``config.json`` when there is one, else from names and shapes.

    Shapes give ``z_dim``, ``num_classes``, ``channel_width``, ``n_stats``, each block's channel multipliers and
    where self-attention sits. Whether a block upsamples cannot be seen in the weights; without a config file the
    published BigGAN-deep rule is assumed: blocks alternate, the second of each pair upsampling (blocks 1, 3, 5 ...),
    which is what the 128, 256 and 512 px checkpoints do. ``eps`` takes the published 1e-4.
    """
    if sidecar is not None:
        return BigGANConfig.from_hf_config(sidecar)
    z_dim, num_classes = sd["embeddings.weight"].shape
    gen_z = sd["generator.gen_z.weight_orig"]
    if gen_z.ndim != 2 or gen_z.shape[1] != 2 * z_dim or gen_z.shape[0] % 256:
        raise ValueError(
            f"generator.gen_z.weight_orig has shape {list(gen_z.shape)}; expected [256 * channel_width, {2 * z_dim}]"
        )
    ch = gen_z.shape[0] // 256
    indices = sorted({int(m.group(1)) for k in sd if (m := re.match(r"generator\.layers\.(\d+)\.", k))})
    if indices != list(range(len(indices))) or not indices:
        raise ValueError(f"generator.layers are not numbered 0..N-1 (found {indices[:20]})")
    attention = [i for i in indices if f"generator.layers.{i}.gamma" in sd]
    if len(attention) > 1:
        raise ValueError(f"more than one self-attention layer (generator.layers {attention})")
    layers = []
    for n, i in enumerate(i for i in indices if i not in attention):
        c_in = sd[f"generator.layers.{i}.bn_0.running_means"].shape[1]
        c_out = sd[f"generator.layers.{i}.conv_3.weight_orig"].shape[0]
        if c_in % ch or c_out % ch:
            raise ValueError(f"generator.layers.{i}: {c_in} -> {c_out} channels are not multiples of {ch}")
        layers.append([n % 2 == 1, c_in // ch, c_out // ch])
    return BigGANConfig(
        z_dim=int(z_dim),
        class_embed_dim=int(z_dim),
        channel_width=ch,
        num_classes=int(num_classes),
        layers=layers,
        attention_layer_position=attention[0] if attention else -1,
        n_stats=int(sd["generator.bn.running_means"].shape[0]),
    )


def read_config_json(path: Path) -> dict[str, Any]:
    """A ``config.json`` as a dict, or ModelLoadError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{path}: not a readable JSON configuration ({e})") from e
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: expected a JSON object with the BigGAN configuration, got {type(data).__name__}")
    return data


def sidecar(path: Path) -> dict[str, Any] | None:
    """For ``X/pytorch_model.bin`` or ``X/<prefix>pytorch_model.bin``: the parsed ``X/<prefix>config.json``."""
    path = Path(path)
    if not path.name.endswith(WEIGHTS_SUFFIX):
        return None
    config = path.with_name(path.name[: -len(WEIGHTS_SUFFIX)] + CONFIG_SUFFIX)
    return read_config_json(config) if config.is_file() else None


def read_folder(path: Path) -> tuple[StateDict, dict[str, Any] | None, str] | None:
    """A folder with ``pytorch_model.bin`` (or one ``<prefix>pytorch_model.bin``) and usually ``config.json``.

    Returns None when there is no such file or it does not hold BigGAN tensors, so other families can try.
    Without a config file the hyper-parameters are inferred from the tensors (see :func:`config_from_tensors`).
    """
    path = Path(path)
    weights = path / WEIGHTS_SUFFIX
    if not weights.is_file():
        found = sorted(p for p in path.glob(f"*{WEIGHTS_SUFFIX}") if p.is_file())
        if len(found) != 1:
            return None
        weights = found[0]
    sd = load_torch_file(weights)
    if not isinstance(sd, dict) or not is_biggan(sd):
        return None
    config = sidecar(weights)
    if config is None and (path / CONFIG_SUFFIX).is_file():
        config = read_config_json(path / CONFIG_SUFFIX)
    return prepare(sd), config, FORMAT
