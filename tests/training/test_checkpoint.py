"""Checkpoints: plain tensors and containers read with weights_only, RNG states that replay, and atomic writes that
survive ``kill -9`` at any moment (real child processes, killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from bigart.errors import BigartError
from bigart.training.checkpoint import is_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from bigart.training.loop import train

ROOT = Path(__file__).resolve().parents[2]


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    np.random.randn(3)  # leave a cached gaussian around
    save_checkpoint(tmp_path / "c.pt", {"rng": rng_state()})
    expect = (torch.rand(3), np.random.randn(3), random.random())
    torch.manual_seed(9)
    np.random.seed(9)
    random.seed(9)
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    got = (torch.rand(3), np.random.randn(3), random.random())
    assert torch.equal(expect[0], got[0]) and np.array_equal(expect[1], got[1]) and expect[2] == got[2]


def test_a_checkpoint_holding_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("true",))

    torch.save({"format": "bigart-train", "version": 1, "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(BigartError, match="not a readable training checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not is_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "other.pt").write_bytes(b"not a zip")
    assert not is_checkpoint(tmp_path / "other.pt")


_WRITER = """
import sys, torch
from bigart.training.checkpoint import save_checkpoint
path = sys.argv[1]
for step in range(100000):
    save_checkpoint(path, {"step": step, "payload": torch.full([2_000_000], float(step))})
    print(step, flush=True)
"""


def test_kill_9_during_writes_leaves_the_last_complete_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    caught_mid_write = False
    for attempt in range(25):  # until a kill has landed mid-write (about one in two here; fewer on a loaded machine)
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            first = child.stdout.readline()  # one checkpoint is complete
            assert first.strip().isdigit(), first
            time.sleep(random.uniform(0.05, 0.3))  # the child writes non-stop: a kill lands mid-write
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait()
        printed = [int(first)] + [int(line) for line in child.stdout.read().split()]
        state = load_checkpoint(path)
        assert state["step"] in (printed[-1], printed[-1] + 1)  # the printed one, or one renamed just before the kill
        assert torch.equal(state["payload"], torch.full([2_000_000], float(state["step"])))
        leftovers = list(tmp_path.glob(".checkpoint.pt.*.tmp"))
        caught_mid_write |= bool(leftovers)
        for f in leftovers:
            f.unlink()
        if caught_mid_write and attempt >= 1:
            break
    assert caught_mid_write, "no kill landed during a write; the test did not test what it should"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_a_training_run_killed_with_sigkill_resumes_exactly(tmp_path, tiny_spec):
    spec = tiny_spec("stylegan2", tmp_path / "killed", steps=100000, checkpoint_every=1, sample_every=1000)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    env = dict(os.environ)  # BIGART_THREADS=1 (conftest), as in this process: the same float sums
    child = subprocess.Popen(
        [sys.executable, "-m", "bigart", "finetune", "-q", str(spec_file)], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    ckpt = tmp_path / "killed" / "checkpoint.pt"
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists() or load_checkpoint(ckpt)["step"] < 2:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
        child.stderr.close()
    step = load_checkpoint(ckpt)["step"]
    logged = [json.loads(line)["step"] for line in (tmp_path / "killed" / "progress.jsonl").read_text().splitlines()]
    assert logged[-1] >= step  # the log may run ahead of the checkpoint; resuming trims it
    resumed = train(tiny_spec("stylegan2", tmp_path / "killed", steps=step + 2, resume=True))
    straight = train(tiny_spec("stylegan2", tmp_path / "straight", steps=step + 2, checkpoint_every=1))
    assert resumed.losses == straight.losses
    a, b = load_checkpoint(ckpt), load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])
    assert all(torch.equal(a["D"][k], b["D"][k]) for k in a["D"])
    logged = [json.loads(line)["step"] for line in (tmp_path / "killed" / "progress.jsonl").read_text().splitlines()]
    assert logged == list(range(1, step + 3))
    assert not list((tmp_path / "killed").glob(".checkpoint.pt.*.tmp"))
