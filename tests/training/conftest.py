"""Tiny image folders written with Pillow and tiny training specs, one per family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bigart.training.spec import TrainSpec


def make_folder(
    folder: Path, n: int, size: tuple[int, int] = (20, 24), classes: list[str] | None = None, seed: int = 0
):
    """``n`` random RGB PNGs (``size`` = height, width), spread over class sub-folders when given."""
    rng = np.random.RandomState(seed)
    paths = []
    for i in range(n):
        sub = folder / classes[i % len(classes)] if classes else folder
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (rng.rand(size[0], size[1], 3) * 255).astype(np.uint8)
        path = sub / f"img{i:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


TINY = {
    "stylegan2": {
        "g_config": {"z_dim": 8, "w_dim": 8, "channels": {"4": 8, "8": 8, "16": 8}},
        "d_config": {"channels": {"4": 8, "8": 8, "16": 8}},
        "r1_interval": 2,
        "pl_interval": 2,
    },
    "biggan": {
        "g_config": {"z_dim": 8, "class_embed_dim": 8, "channel_width": 4, "n_stats": 3},
        "d_config": {"channels": [8, 8, 8]},
        "r1_interval": 2,
    },
    "cyclegan": {
        "g_config": {"ngf": 4, "n_blocks": 1},
        "d_config": {"ndf": 4, "n_layers": 2},
        "pool_size": 3,
    },
}


@pytest.fixture
def datasets(tmp_path_factory):
    """Image folders: ``plain`` (8 unlabelled), ``classes`` (8 in two class folders), ``ab`` (trainA/trainB)."""
    root = tmp_path_factory.mktemp("data")
    make_folder(root / "plain", 8)
    make_folder(root / "classes", 8, classes=["cats", "dogs"], seed=1)
    make_folder(root / "ab" / "trainA", 6, seed=2)
    make_folder(root / "ab" / "trainB", 6, seed=3)
    return {"plain": root / "plain", "classes": root / "classes", "ab": root / "ab"}


@pytest.fixture
def tiny_spec(datasets):
    """tiny_spec(family, out, **overrides) -> a 16 px TrainSpec that trains in a fraction of a second per step."""

    def make(family: str, out: Path, **kw) -> TrainSpec:
        data = {"stylegan2": "plain", "biggan": "classes", "cyclegan": "ab"}[family]
        base = {
            "family": family,
            "data": str(datasets[data]),
            "out": str(out),
            "resolution": 16,
            "steps": 4,
            "batch": 4,
            "num_samples": 4,
            "sample_every": 2,
            "checkpoint_every": 3,
            "aug_p": 0.3,
            "aug_interval": 1,
            "aug_speed_kimg": 0.02,
            **TINY[family],
        }
        return TrainSpec.from_dict({**base, **kw})

    return make


@pytest.fixture
def deterministic():
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(was)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """One torch thread here and in child processes (``bigart finetune`` sets threads from BIGART_THREADS): the
    machine has about one core, and bit-exact comparisons between processes need equal thread counts."""
    monkeypatch.setenv("BIGART_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # an Engine built by an earlier test may have left the process on every core
    yield
    torch.set_num_threads(threads)
