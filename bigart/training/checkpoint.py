"""Training checkpoints: everything needed to continue a run exactly, written atomically, read without pickle code.

A checkpoint is a dict of tensors and plain containers (str, int, float, bool, None, lists, dicts), saved with
``torch.save`` to a temporary file in the same folder, flushed and fsynced, then renamed over the old one (and the
folder fsynced), so a crash or ``kill -9`` at any moment leaves either the previous checkpoint or the new one under
the final name, never a half-written file. It is read with ``torch.load(weights_only=True)``, which rebuilds only
tensors and containers and runs no code from the file.

RNG states are stored as tensors and lists: torch's CPU (and CUDA) generators, numpy's global ``RandomState``,
Python's ``random``, and any ``torch.Generator`` the trainer owns.
"""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bigart.atomic import atomic_write
from bigart.errors import BigartError

FORMAT = "bigart-train"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temporary file, fsync, rename, fsync of the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **state}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a bigart training checkpoint (a torch zip file whose top level says so)."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        state = load_checkpoint(path)
    except BigartError:
        return False
    return state.get("format") == FORMAT


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; BigartError naming the file when it is not one."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise BigartError(f"{path}: not a readable training checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise BigartError(f"{path}: not a bigart training checkpoint")
    if int(state.get("version", 0)) > VERSION:
        raise BigartError(f"{path}: checkpoint version {state['version']} is newer than this bigart reads ({VERSION})")
    return state


# --- RNG states as tensors and lists ----------------------------------------------------------------------------


def rng_state(cuda: bool = False) -> dict[str, Any]:
    """The global RNG states: torch CPU (and CUDA), numpy's global RandomState, Python's ``random``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
    }
    if cuda and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
