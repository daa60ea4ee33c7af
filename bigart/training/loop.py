"""The training loop: ``train(spec, progress) -> TrainResult`` for StyleGAN2, BigGAN and CycleGAN.

One loop, with the per-family parts in a :class:`Trainer` subclass each: building the networks (from scratch with a
small configuration, or from any generator ``load_model`` reads, with the discriminator from the base file when it
holds one), one optimisation step, the sample grid and the exported model.

Runs are exactly resumable (see :mod:`bigart.training.trainer`).

Files in ``spec.out``: ``spec.json``, ``checkpoint.pt`` (atomically replaced every ``checkpoint_every`` steps, at
the end and on cancel), ``progress.jsonl`` (one JSON line per step: step, images seen, losses, augmentation p,
seconds per step), ``samples/step-000100.png`` (a grid from fixed latents, seeds 0..n-1, every ``sample_every``
steps), and with ``export`` a bigart ``.safetensors`` of the generator average with a card in its header.

``progress`` needs ``start(total, description)``, ``advance(n)``, ``check_aborted()`` (raising to cancel) and
``close()``, as ``bigart.jobs.progress.Progress`` has. A cancel (or SIGINT/SIGTERM) stops before the next step,
writes a checkpoint and, for a cancel, re-raises the progress object's exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bigart.training.biggan import BigGANTrainer
from bigart.training.checkpoint import load_checkpoint
from bigart.training.cyclegan import CycleGANTrainer
from bigart.training.distributed import DistContext
from bigart.training.spec import TrainResult, TrainSpec
from bigart.training.stylegan2 import StyleGAN2Trainer
from bigart.training.trainer import CHECKPOINT, PROGRESS, ProgressLike, Trainer

TRAINERS: dict[str, type[Trainer]] = {
    "stylegan2": StyleGAN2Trainer,
    "biggan": BigGANTrainer,
    "cyclegan": CycleGANTrainer,
}


def train(spec: TrainSpec, progress: ProgressLike | None = None) -> TrainResult:
    """Run (or resume) the training ``spec`` describes; see the module documentation."""
    ctx = DistContext(spec.device)
    try:
        trainer = TRAINERS[spec.family if not spec.resume else _resumed_family(spec)](spec, ctx)
        return trainer.run(progress)
    finally:
        ctx.close()


def _resumed_family(spec: TrainSpec) -> str:
    path = Path(spec.out) / CHECKPOINT
    if not path.exists():
        return spec.family
    return str(load_checkpoint(path)["family"])


def iter_progress_log(out: str | Path) -> Iterator[dict[str, Any]]:
    """The rows of a run's ``progress.jsonl``."""
    path = Path(out) / PROGRESS
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if line.strip():
            yield json.loads(line)
