"""N steps in one go equal N/2 steps, a stop, and N/2 more after resuming: bit for bit, for every family."""

from __future__ import annotations

import json

import pytest
import torch

from bigart.jobs.progress import Aborted, Progress
from bigart.training.checkpoint import load_checkpoint
from bigart.training.loop import train

FAMILIES = ["stylegan2", "biggan", "cyclegan"]


def assert_same_state(a: dict, b: dict) -> None:
    for net in ("G", "G_ema", "D"):
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs"
    for opt in ("opt_G", "opt_D"):
        for i, sa in a[opt]["state"].items():
            for k, v in sa.items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(b[opt]["state"][i][k])), f"{opt} {i} {k}"
    assert a["augment"] == b["augment"]
    assert a["order"] == b["order"]
    assert (a["step"], a["images_seen"]) == (b["step"], b["images_seen"])
    for ra, rb in zip(a["ranks"], b["ranks"], strict=True):
        assert ra["weights_sha256"] == rb["weights_sha256"]
        for pool in ("pool_a", "pool_b"):
            if pool in ra:
                assert torch.equal(ra[pool]["images"], rb[pool]["images"])
                assert torch.equal(ra[pool]["rng"], rb[pool]["rng"])


@pytest.mark.parametrize("family", FAMILIES)
def test_resume_is_exact(family, tmp_path, tiny_spec, deterministic):
    straight = train(tiny_spec(family, tmp_path / "straight", steps=4))
    first = train(tiny_spec(family, tmp_path / "split", steps=2))
    assert first.step == 2 and first.resumed_from is None
    second = train(tiny_spec(family, tmp_path / "split", steps=4, resume=True))
    assert second.resumed_from == 2 and second.step == 4 and straight.step == 4
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert_same_state(a, b)
    # the run really trained: the weights moved, and the augmentation probability was adapted (GAN families)
    g0 = load_checkpoint(tmp_path / "split" / "checkpoint.pt")["G"]
    assert straight.losses == second.losses
    assert any(v.is_floating_point() for v in g0.values())
    if family != "cyclegan":
        assert a["augment"]["p"] != 0.3
    rows = [json.loads(line) for line in (tmp_path / "split" / "progress.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    straight_rows = [json.loads(x) for x in (tmp_path / "straight" / "progress.jsonl").read_text().splitlines()]
    for r, s in zip(rows, straight_rows, strict=True):
        assert {k: v for k, v in r.items() if k != "sec_per_step"} == {
            k: v for k, v in s.items() if k != "sec_per_step"
        }


class CancelAt(Progress):
    """Cancels (as a front end's Cancel button would) once ``n`` images were reported."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        if self.done >= self.n:
            self.abort()


def test_cancel_stops_within_a_step_and_resumes_exactly(tmp_path, tiny_spec, deterministic):
    straight = train(tiny_spec("stylegan2", tmp_path / "straight", steps=4))
    with pytest.raises(Aborted):
        train(tiny_spec("stylegan2", tmp_path / "cancelled", steps=4), CancelAt(4))  # 4 images = 1 step
    state = load_checkpoint(tmp_path / "cancelled" / "checkpoint.pt")
    assert state["step"] == 1
    resumed = train(tiny_spec("stylegan2", tmp_path / "cancelled", steps=4, resume=True))
    assert resumed.step == 4
    assert_same_state(
        load_checkpoint(tmp_path / "straight" / "checkpoint.pt"),
        load_checkpoint(tmp_path / "cancelled" / "checkpoint.pt"),
    )
    assert straight.losses == resumed.losses


def test_a_run_folder_is_not_overwritten_without_resume(tmp_path, tiny_spec):
    from bigart.errors import BigartError

    train(tiny_spec("stylegan2", tmp_path / "run", steps=1))
    with pytest.raises(BigartError, match="--resume"):
        train(tiny_spec("stylegan2", tmp_path / "run", steps=2))


def test_lr_decay_falls_linearly_to_zero_and_can_be_added_on_resume(tmp_path, tiny_spec, deterministic):
    from bigart.training.stylegan2 import StyleGAN2Trainer

    straight = train(tiny_spec("stylegan2", tmp_path / "straight", steps=4, lr_decay_steps=2))
    first = train(tiny_spec("stylegan2", tmp_path / "split", steps=2))  # no decay asked for yet
    second = train(tiny_spec("stylegan2", tmp_path / "split", steps=4, resume=True, lr_decay_steps=2))
    assert second.step == 4 and first.step == 2
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    # steps 0 and 1 run at full rate in both runs (factor min(1, (4 - t) / 3)), so adding the decay on resume
    # equals having it from the start
    assert_same_state(a, b)
    assert straight.losses == second.losses
    assert [g["lr"] for g in a["opt_G"]["param_groups"]] == [pytest.approx(0.0025 / 3)] * len(
        a["opt_G"]["param_groups"]
    )
    trainer = StyleGAN2Trainer.__new__(StyleGAN2Trainer)
    trainer.spec = tiny_spec("stylegan2", tmp_path / "x", steps=10, lr_decay_steps=4)
    assert [trainer.lr_factor(t) for t in range(10)] == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    # a decayed run differs from one without decay
    plain = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    train(tiny_spec("stylegan2", tmp_path / "nodecay", steps=4))
    c = load_checkpoint(tmp_path / "nodecay" / "checkpoint.pt")
    assert not all(torch.equal(plain["G"][k], c["G"][k]) for k in c["G"])


def test_lr_schedule_points_are_joined_linearly_with_jumps(tmp_path, tiny_spec):
    from bigart.errors import BigartError
    from bigart.training.spec import TrainSpec

    spec = tiny_spec("stylegan2", tmp_path / "x", steps=12, lr_schedule=[[2, 1], [5, 0.25], [5, 1], [7, 1], [9, 0]])
    assert [spec.lr_factor(t) for t in range(12)] == pytest.approx(
        [1, 1, 1, 0.75, 0.5, 1, 1, 1, 0.5, 0, 0, 0]  # before the first point its factor, then lines; a jump at 5
    )
    # the decay of the last N steps is the schedule [[steps - N - 1, 1], [steps, 0]]
    decay = tiny_spec("stylegan2", tmp_path / "y", steps=10, lr_decay_steps=4)
    same = tiny_spec("stylegan2", tmp_path / "z", steps=10, lr_schedule=[[5, 1], [10, 0]])
    assert [same.lr_factor(t) for t in range(10)] == pytest.approx([decay.lr_factor(t) for t in range(10)])
    for bad, match in (
        ([[3, 1], [2, 0]], "must not decrease"),
        ([[0, -1]], ">= 0"),
        ([[0, float("nan")]], ">= 0"),
        ([[0]], "pairs"),
        ([], "at least one"),
    ):
        with pytest.raises(BigartError, match=match):
            TrainSpec(family="stylegan2", data="d", out="o", resolution=32, lr_schedule=bad)
    with pytest.raises(BigartError, match="not both"):
        TrainSpec(family="stylegan2", data="d", out="o", resolution=32, lr_schedule=[[0, 1]], lr_decay_steps=3)


def test_a_resumed_run_may_replace_its_decay_with_a_schedule(tmp_path, tiny_spec, deterministic):
    """A warm restart: 2 steps decaying to zero, then resumed with a schedule that jumps back to full rate;
    equal to the same schedule from the start."""
    schedule = [[0, 1], [2, 0], [2, 1], [4, 0.5]]  # steps 0, 1 as the decay above; 2: 1, 3: 0.75
    train(tiny_spec("stylegan2", tmp_path / "split", steps=2, lr_decay_steps=1))
    second = train(tiny_spec("stylegan2", tmp_path / "split", steps=4, resume=True, lr_schedule=schedule))
    straight = train(tiny_spec("stylegan2", tmp_path / "straight", steps=4, lr_schedule=schedule))
    assert second.step == 4
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert_same_state(a, b)
    assert straight.losses == second.losses
    assert [g["lr"] for g in b["opt_G"]["param_groups"]] == [pytest.approx(0.0025 * 0.75)] * len(
        b["opt_G"]["param_groups"]
    )


def test_stop_at_is_an_early_checkpoint_of_the_same_run(tmp_path, tiny_spec, deterministic):
    """``--stop-at`` ends an invocation early but keeps the run's steps and decay, so resuming from the run folder
    alone finishes the very run trained straight through; stopping by ``--steps`` instead moves the decay."""
    from bigart.cli import main
    from bigart.models import read_model_file

    straight = train(tiny_spec("biggan", tmp_path / "straight", steps=4, lr_decay_steps=2))
    spec_file = tmp_path / "recipe.json"
    spec_file.write_text(json.dumps(tiny_spec("biggan", tmp_path / "ignored", steps=4, lr_decay_steps=2).to_dict()))
    out, early = tmp_path / "run", tmp_path / "early.safetensors"
    assert main(["finetune", str(spec_file), "--out", str(out), "--stop-at", "2", "--export", str(early), "-q"]) == 0
    stopped = load_checkpoint(out / "checkpoint.pt")
    assert stopped["step"] == 2
    # step 1 ran at the full rate (the decay is over the run's last 2 of 4 steps), 3 times step 3's 1/3
    lr_stopped = stopped["opt_G"]["param_groups"][0]["lr"]
    lr_straight_end = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")["opt_G"]["param_groups"][0]["lr"]
    assert lr_stopped == pytest.approx(3 * lr_straight_end) and lr_stopped > 0
    card = read_model_file(early)[1]["card"]
    assert card["steps"] == 2 and "stop_at" not in card["recipe"] and card["recipe"]["steps"] == 4
    assert json.loads((out / "spec.json").read_text())["stop_at"] is None
    assert main(["finetune", "--out", str(out), "--resume", "-q"]) == 0
    assert_same_state(load_checkpoint(tmp_path / "straight" / "checkpoint.pt"), load_checkpoint(out / "checkpoint.pt"))
    assert straight.step == 4
    train(tiny_spec("biggan", tmp_path / "by-steps", steps=2, lr_decay_steps=2))
    half = load_checkpoint(tmp_path / "by-steps" / "checkpoint.pt")["opt_G"]["param_groups"][0]["lr"]
    assert half == pytest.approx(lr_straight_end)  # --steps 2 decayed the first half already (1/3 at step 1)
    train(tiny_spec("biggan", tmp_path / "by-steps", steps=4, lr_decay_steps=2, resume=True))
    other, same = load_checkpoint(tmp_path / "by-steps" / "checkpoint.pt"), load_checkpoint(out / "checkpoint.pt")
    assert not all(torch.equal(other["G"][k], same["G"][k]) for k in other["G"])
