"""Latents saved as ``.npz``: z (with optional class vectors c), or w / w+ — including the StyleGAN projector's
``projected_w.npz`` (one array ``w [N, num_ws, w_dim]``).

Arrays only (``allow_pickle=False``); every shape is checked against the model's sizes when those are given, with a
message naming the file, the array and the shape expected.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bigart.atomic import atomic_write
from bigart.errors import BigartError


class LatentsFileError(BigartError):
    """A latents file that cannot be read or does not fit the model."""


@dataclass(frozen=True, eq=False)
class Latents:
    """One of ``z [N, z_dim]`` (with ``c [N, c_dim]`` or None) or ``ws [N, num_ws, w_dim]`` / ``[N, w_dim]``."""

    z: np.ndarray | None = None
    c: np.ndarray | None = None
    ws: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.z is None) == (self.ws is None):
            raise ValueError("latents hold either z or ws")
        if self.c is not None and self.z is None:
            raise ValueError("class vectors c go with z")

    def __len__(self) -> int:
        return len(self.z if self.z is not None else self.ws)

    @property
    def space(self) -> str:
        return "z" if self.z is not None else "w"

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (atomically) that :func:`load_latents` reads back."""
        arrays = {"z": self.z} if self.z is not None else {"w": self.ws}
        if self.c is not None:
            arrays["c"] = self.c

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **{k: np.asarray(v, np.float32) for k, v in arrays.items()})

        atomic_write(path, write)


def load_latents(
    path: str | os.PathLike,
    z_dim: int | None = None,
    w_dim: int | None = None,
    num_ws: int | None = None,
    c_dim: int | None = None,
) -> Latents:
    """Read ``z`` (+ ``c``), ``w`` or ``ws`` from an ``.npz`` and check them against the sizes given.

    A single latent (``z [z_dim]``, ``w [w_dim]`` or ``w [num_ws, w_dim]``) becomes a batch of one.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: np.asarray(f[k]) for k in f.files}
    except FileNotFoundError as e:
        raise LatentsFileError(f"{path}: no such latents file") from e
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise LatentsFileError(f"{path.name}: not a readable .npz latents file ({e})") from e
    for key, a in data.items():
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
            raise LatentsFileError(f"{path.name}: '{key}' must hold finite numbers")
    if "z" in data:
        z = data["z"].astype(np.float32)
        z = z[None] if z.ndim == 1 else z
        if z.ndim != 2 or (z_dim is not None and z.shape[1] != z_dim):
            raise LatentsFileError(f"{path.name}: 'z' must be [N, {z_dim or 'z_dim'}], got {list(data['z'].shape)}")
        c = data.get("c")
        if c is not None:
            c = c.astype(np.float32)
            c = c[None] if c.ndim == 1 else c
            if c.shape[0] != z.shape[0] or (c_dim is not None and c.shape[1] != c_dim):
                raise LatentsFileError(
                    f"{path.name}: 'c' must be [{z.shape[0]}, {c_dim or 'c_dim'}], got {list(data['c'].shape)}"
                )
        return Latents(z=z, c=c)
    for key in ("ws", "w"):
        if key not in data:
            continue
        w = data[key].astype(np.float32)
        if w_dim is not None:
            if w.ndim == 1 or (w.ndim == 2 and num_ws is not None and w.shape == (num_ws, w_dim) and w_dim != num_ws):
                w = w[None]  # one w, or one w+
        elif w.ndim == 1:
            w = w[None]
        ok = w.ndim in (2, 3) and (w_dim is None or w.shape[-1] == w_dim)
        ok = ok and (w.ndim == 2 or num_ws is None or w.shape[1] == num_ws)
        if not ok:
            want = f"[N, {w_dim or 'w_dim'}] or [N, {num_ws or 'num_ws'}, {w_dim or 'w_dim'}]"
            raise LatentsFileError(f"{path.name}: '{key}' must be {want}, got {list(data[key].shape)}")
        return Latents(ws=w)
    raise LatentsFileError(f"{path.name}: expected an array named 'z', 'w' or 'ws', found {sorted(data) or 'none'}")
