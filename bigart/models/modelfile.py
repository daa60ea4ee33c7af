"""bigart's own model file: ``.safetensors`` tensors plus a JSON header describing the model.

The header (``__metadata__["bigart"]``) holds the family, the hyper-parameters, provenance (source file name
and SHA-256), license, default truncation and class names. Reading it never executes anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from bigart.atomic import atomic_write
from bigart.errors import ModelLoadError

HEADER_KEY = "bigart"
FORMAT_VERSION = 1


def save_model_file(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    """Write tensors and header atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    header = {"format_version": FORMAT_VERSION, **header}
    if "family" not in header or "config" not in header:
        raise ValueError("a model file header needs at least 'family' and 'config'")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={HEADER_KEY: json.dumps(header, sort_keys=True)}))


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and header of a bigart ``.safetensors`` file; the header is ``{}`` for a plain safetensors file."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except Exception as e:
        raise ModelLoadError(f"{path}: not a readable .safetensors file ({e})") from e
    header: dict[str, Any] = {}
    if HEADER_KEY in meta:
        try:
            header = json.loads(meta[HEADER_KEY])
        except json.JSONDecodeError as e:
            raise ModelLoadError(f"{path}: the bigart header is not valid JSON ({e})") from e
        if not isinstance(header, dict) or header.get("format_version", 0) > FORMAT_VERSION:
            raise ModelLoadError(
                f"{path}: bigart model file format {header.get('format_version')!r} is newer than this bigart "
                f"understands ({FORMAT_VERSION}); update bigart"
            )
    return tensors, header
