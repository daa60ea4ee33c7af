"""Generator output to pixels and files: quantisation as the reference scripts do it, PNGs carrying their recipe."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from bigart.atomic import atomic_write

RECIPE_CHUNK = "bigart"


def to_uint8(img: torch.Tensor | np.ndarray) -> np.ndarray:
    """``[N, C, H, W]`` (or ``[C, H, W]``) float output in nominal [-1, 1] -> ``[N, H, W, C]`` uint8.

    ``x * 127.5 + 128``, clamped, truncated: what ``gen_images.py`` writes.
    """
    x = img.detach().to("cpu", torch.float32).numpy() if isinstance(img, torch.Tensor) else np.asarray(img, np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected [N, C, H, W] images, got shape {x.shape}")
    x = np.clip(x.transpose(0, 2, 3, 1) * 127.5 + 128, 0, 255)
    return x.astype(np.uint8)


def save_png(path: str | os.PathLike, pixels: np.ndarray, recipe: dict[str, Any] | None = None) -> None:
    """Write ``[H, W, C]`` uint8 pixels (C = 1, 3 or 4) as a PNG with ``recipe`` as JSON in its ``bigart`` chunk."""
    path = Path(path)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    img = Image.fromarray(pixels)
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_itxt(RECIPE_CHUNK, json.dumps(recipe, sort_keys=True), zip=True)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG", pnginfo=info))


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a float32 array atomically."""
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array, np.float32))

    atomic_write(path, write)


def read_recipe(path: str | os.PathLike) -> dict[str, Any] | None:
    """The recipe stored in a bigart PNG, or None if it has none."""
    with Image.open(path) as img:
        img.load()
        text = img.text.get(RECIPE_CHUNK) if hasattr(img, "text") else None
    return None if text is None else json.loads(text)
