"""What a training run is asked to do (``TrainSpec``, a JSON-able dataclass) and what it reports (``TrainResult``)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from bigart.errors import BigartError

FAMILIES = ("stylegan2", "biggan", "cyclegan")
PRECISIONS = ("fp32", "bf16", "fp16")
AUGMENTS = ("ada", "fixed", "none")

# Fields a resumed run may take from the new spec; everything else comes from the checkpoint, so the run is the same.
RESUME_OVERRIDES = (
    "out",
    "data",
    "data_b",
    "steps",
    "sample_every",
    "checkpoint_every",
    "export",
    "resume",
    "license",
    "class_names",
    "lr_decay_steps",
    "lr_schedule",
    "stop_at",
)


def _checked_schedule(points: Any) -> list[list[float]]:
    """``[[step, factor], ...]`` with steps non-decreasing and factors >= 0, or a clear error."""
    try:
        out = [[int(s), float(f)] for s, f in points]
    except (TypeError, ValueError) as e:
        raise BigartError(f"lr_schedule is a list of [step, factor] pairs ({e})") from None
    if not out:
        raise BigartError("lr_schedule needs at least one [step, factor] pair")
    if any(b[0] < a[0] for a, b in pairwise(out)):
        raise BigartError("lr_schedule steps must not decrease")
    if any(s < 0 or not f >= 0 for s, f in out):  # `not f >= 0` also refuses NaN
        raise BigartError("lr_schedule steps and factors must be >= 0")
    return out


@dataclass
class TrainSpec:
    """One training or fine-tuning run. ``None`` means the family's default (see the loop's documentation)."""

    family: str
    data: str
    out: str
    data_b: str | None = None  # CycleGAN: domain B (else data/trainA and data/trainB)
    paired: bool = False  # CycleGAN: pair A and B images by file name
    base: str | None = None  # model (or bigart training checkpoint) to fine-tune; None trains from scratch
    resolution: int | None = None  # from the base model when fine-tuning StyleGAN2/BigGAN
    steps: int = 1000
    # end this invocation at this step (checkpoint, samples and export there) while the run keeps its own steps and
    # learning-rate schedule, so ``--resume`` goes on as if it had not stopped: an early checkpoint of the same run
    stop_at: int | None = None
    batch: int = 8
    lr_g: float | None = None
    lr_d: float | None = None
    lr_decay_steps: int | None = None  # the learning rates fall linearly to zero over the last N steps (None/0: off)
    # or any schedule: [[step, factor], ...], the rates' multiplier, linear between points (see ``lr_factor``)
    lr_schedule: list[list[float]] | None = None
    loss: str = "logistic"  # BigGAN: 'logistic' or 'hinge'
    r1_gamma: float | None = None  # None: 0.0002 * resolution^2 / batch (logistic), 0 (hinge)
    r1_interval: int = 16
    pl_weight: float = 2.0  # StyleGAN2 path-length regularisation (0: off)
    pl_interval: int = 4
    style_mixing: float = 0.9  # StyleGAN2 mixing probability
    augment: str = "ada"  # 'ada' (adaptive p), 'fixed' (p = aug_p), 'none'
    aug_p: float = 0.0
    aug_target: float = 0.6
    aug_interval: int = 4
    aug_speed_kimg: float = 100.0
    augmentations: list[str] = field(default_factory=lambda: ["color", "translation", "cutout"])
    mirror: bool = True
    ema_kimg: float | None = None  # half-life of the generator average in thousands of images
    ema_rampup: float | None = None  # None: 0.05 from scratch, off when fine-tuning
    freeze_d: int = 0  # fine-tuning: freeze the first K discriminator blocks (from the image side)
    d_warmup: int = 0  # StyleGAN2: the first N steps train the discriminator alone (a base without its own D)
    g_config: dict[str, Any] | None = None  # overrides of the generator configuration (from scratch)
    d_config: dict[str, Any] | None = None  # overrides of the discriminator configuration
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    lambda_paired: float = 0.0
    pool_size: int = 50
    class_index: int = 0  # class used for unlabelled data on a class-conditional model
    class_names: list[str] | None = None  # names the exported model records for the class folders (sorted order)
    standing_batches: int = 4  # BigGAN: batches per truncation row for the exported standing statistics
    sample_every: int = 100
    checkpoint_every: int = 500
    num_samples: int = 16
    seed: int = 0
    precision: str = "fp32"  # 'fp32', 'bf16' (autocast, CPU or CUDA), 'fp16' (autocast, CUDA)
    device: str = "cpu"
    resume: bool = False
    export: str | None = None  # write the generator average as a bigart .safetensors at the end
    license: str | None = None  # license note for a model trained from scratch
    cache_dir: str | None = None  # decoded-image cache (default: OUT/cache)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise BigartError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.precision not in PRECISIONS:
            raise BigartError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.augment not in AUGMENTS:
            raise BigartError(f"augment must be one of {', '.join(AUGMENTS)}, got {self.augment!r}")
        if self.loss not in ("logistic", "hinge"):
            raise BigartError(f"loss must be 'logistic' or 'hinge', got {self.loss!r}")
        if self.loss == "hinge" and self.family != "biggan":
            raise BigartError("the hinge loss is offered for BigGAN only")
        if self.steps < 0 or self.batch < 1:
            raise BigartError(f"need steps >= 0 and batch >= 1, got steps={self.steps}, batch={self.batch}")
        if self.stop_at is not None and self.stop_at < 1:
            raise BigartError(f"stop_at is a step >= 1, got {self.stop_at}")
        for name in ("sample_every", "checkpoint_every", "r1_interval", "pl_interval", "aug_interval"):
            if getattr(self, name) < 1:
                raise BigartError(f"{name} must be at least 1")
        if self.lr_decay_steps is not None and self.lr_decay_steps < 0:
            raise BigartError("lr_decay_steps must be >= 0")
        if self.lr_schedule is not None:
            self.lr_schedule = _checked_schedule(self.lr_schedule)
            if self.lr_decay_steps:
                raise BigartError("give lr_decay_steps or lr_schedule, not both")
        if self.freeze_d < 0:
            raise BigartError("freeze_d must be >= 0")
        if self.d_warmup < 0 or (self.d_warmup and self.family != "stylegan2"):
            raise BigartError(f"d_warmup is a number of steps >= 0, offered for StyleGAN2 only (got {self.d_warmup})")
        if self.base is None and self.resolution is None and not self.resume:
            raise BigartError("training from scratch needs a resolution (or a base model to fine-tune)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run_dict(self) -> dict[str, Any]:
        """The run's spec as its checkpoint and ``spec.json`` keep it: without ``stop_at``, which belongs to one
        invocation (a resumed run takes it from the new spec only)."""
        return {**self.to_dict(), "stop_at": None}

    @property
    def end_step(self) -> int:
        """The step this invocation trains to: ``steps``, or ``stop_at`` when that comes first."""
        return self.steps if self.stop_at is None else min(self.steps, self.stop_at)

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step`` (0-based), a pure function of the step, so a resumed run
        may change the schedule and the recipe still reproduces the run from scratch.

        ``lr_schedule`` points are joined linearly; before the first point its factor holds, after the last
        point the last one; a step listed twice is a jump (the later point holds from that step on).
        ``lr_decay_steps`` N is the schedule ``[[steps - N - 1, 1], [steps, 0]]``: constant, then a linear fall
        to zero over the last N steps (the CycleGAN paper's schedule, counted in steps).
        """
        n = self.lr_decay_steps or 0
        points = self.lr_schedule or ([[self.steps - n - 1, 1.0], [self.steps, 0.0]] if n > 0 else [[0, 1.0]])
        i = max((k for k, (s, _) in enumerate(points) if s <= step), default=None)
        if i is None:
            return float(points[0][1])
        if i == len(points) - 1:
            return float(points[-1][1])
        (s0, f0), (s1, f1) = points[i], points[i + 1]
        return float(f0 + (f1 - f0) * (step - s0) / (s1 - s0))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise BigartError(f"unknown training spec keys: {', '.join(unknown)}")
        try:
            return cls(**d)
        except TypeError as e:
            raise BigartError(f"training spec: {e}") from e

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> TrainSpec:
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise BigartError(f"{path}: not a readable JSON training spec ({e})") from e
        if not isinstance(d, dict):
            raise BigartError(f"{path}: a training spec is a JSON object")
        return cls.from_dict(d)


@dataclass
class TrainResult:
    """Where a run ended: steps done, images seen, wall time, the files written, the last losses."""

    out: Path
    step: int
    images_seen: int
    seconds: float
    checkpoint: Path
    export: Path | None = None
    losses: dict[str, float] = field(default_factory=dict)
    aborted: bool = False
    resumed_from: int | None = None
