"""The same job under torchrun: two CPU processes (gloo), DistributedDataParallel, rank 0 writing; the ranks agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from bigart.training.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_torchrun_two_processes_agree_on_the_weights(tmp_path, tiny_spec):
    spec = tiny_spec("stylegan2", tmp_path / "run", steps=3, checkpoint_every=2, sample_every=2)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "bigart", "finetune", "-q", str(spec_file)]
    env = dict(os.environ)
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["world_size"] == 2 and state["step"] == 3
    hashes = [rank["weights_sha256"] for rank in state["ranks"]]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    # each rank drew its own latents and augmentation: their RNG states at the end differ
    assert not torch.equal(state["ranks"][0]["rng"]["torch"], state["ranks"][1]["rng"]["torch"])
    rows = [json.loads(line) for line in (tmp_path / "run" / "progress.jsonl").read_text().splitlines()]
    assert [row["images_seen"] for row in rows] == [4, 8, 12]  # the global batch, written once (rank 0)
    assert sorted(p.name for p in (tmp_path / "run" / "samples").iterdir()) == [
        "step-000000.png",
        "step-000002.png",
        "step-000003.png",
    ]
