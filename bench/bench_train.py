"""Training throughput: images/s per family at small configurations on the CPU, fp32 against bf16 autocast, measured
side by side in one run.

    python bench/bench_train.py [--quick] [--threads N] [--rounds N] [--steps N] [--json out.json]
    python bench/bench_train.py --ops [--recipe models/recipes/NAME.json ...]   # operations a step dispatches

Per family, two trainers are built from the same spec and seed, one with ``precision: fp32`` and one with ``bf16``
(``torch.autocast`` on the CPU); after a warm-up step their timed blocks alternate (fp32, bf16, fp32, ...) so both
see the same machine, and each block's images/s is the batch times its steps over its wall time. A block during
which other processes used the CPU (a shared machine, read from ``/proc/stat``) is run again after a pause, and the
count is printed. Reported: the median block per precision and the bf16/fp32 ratio. A step is the whole training
step: the generator update (with the family's regularisers on their intervals), the discriminator update,
augmentation and the EMA. The CPU's bf16 flags (``avx512_bf16``, ``amx_bf16``) are printed: without them bf16
autocast is emulated and slower.

``--ops`` times nothing: it counts the operations one training step dispatches from the host (torch's dispatcher,
seen through a ``TorchDispatchMode``), averaged over 16 steps so that the regularisers' intervals (R1 every 16,
path length every 4) count at their rates, all of them and those that are not views. On a GPU these small networks
are bound by that count, not by arithmetic. ``--recipe FILE`` takes a family's resolution, batch and network
configurations from a training recipe instead of the ones below (the data stays random, without classes). Counts
are the device's (``--device``): torch's Adam fuses its per-tensor work on CUDA and loops on the CPU, so a CPU count
is the higher by some ten operations per parameter tensor.

Configurations (random data written to a temporary folder; networks random-initialised); W = 128 (64 with --quick):
  stylegan2   32 px, z = w = 128, 2 mapping layers, channels min(2048 / res, W) in G and D, batch 8
  biggan      32 px, BigGAN-deep blocks at channel width W/8, z 64, projection D at widths W/8 * (1, 2, 4, 4), batch 8
  cyclegan    64 px, ResNet generator ngf W/8 with 3 blocks, PatchGAN ndf W/8 n_layers 3, batch 4 (per domain)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quiet import Quiet
from bigart.engine.threads import physical_cores
from bigart.models.stylegan2 import nvidia_channels
from bigart.training.distributed import DistContext
from bigart.training.loop import TRAINERS
from bigart.training.spec import TrainSpec
from bigart.training.trainer import StepRNG


def write_images(folder: Path, n: int, size: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    for i in range(n):
        Image.fromarray((rng.rand(size, size, 3) * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def specs(root: Path, quick: bool) -> dict[str, dict]:
    width = 64 if quick else 128  # channel cap (StyleGAN2); the other families scale with it
    write_images(root / "plain", 32, 32, 0)
    write_images(root / "ab" / "trainA", 16, 64, 1)
    write_images(root / "ab" / "trainB", 16, 64, 2)
    sg2_channels = {str(r): c for r, c in nvidia_channels(32, 2048, width).items()}
    return {
        "stylegan2": {
            "data": str(root / "plain"),
            "resolution": 32,
            "batch": 8,
            "g_config": {"z_dim": 128, "w_dim": 128, "channels": sg2_channels, "mapping_layers": 2},
            "d_config": {"channels": sg2_channels},
        },
        "biggan": {
            "data": str(root / "plain"),
            "resolution": 32,
            "batch": 8,
            "g_config": {"z_dim": 64, "class_embed_dim": 64, "channel_width": width // 8, "n_stats": 3},
            "d_config": {"channels": [width // 8 * m for m in (1, 2, 4, 4)]},
        },
        "cyclegan": {
            "data": str(root / "ab"),
            "resolution": 64,
            "batch": 4,
            "g_config": {"ngf": width // 8, "n_blocks": 3},
            "d_config": {"ndf": width // 8, "n_layers": 3},
        },
    }


def build(family: str, extra: dict, precision: str, root: Path, device: str = "cpu"):
    spec = TrainSpec.from_dict(
        {
            "family": family,
            "device": device,
            "out": str(root / f"out-{family}-{precision}"),
            "cache_dir": str(root / "cache"),
            "steps": 10**9,
            "precision": precision,
            "aug_p": 0.2,
            **extra,
        }
    )
    return TRAINERS[family](spec, DistContext(device))


QUIET = Quiet(retries=4, floor=0.05)


def run_block(trainer, steps: int) -> float:
    """images/s over ``steps`` training steps (timed again if other processes took the CPU meanwhile)."""

    def block() -> None:
        for _ in range(steps):
            trainer.train_step(StepRNG(0, trainer.step, 0))
            trainer.step += 1
        if str(trainer.spec.device).startswith("cuda"):
            torch.cuda.synchronize()

    return trainer.spec.batch * steps / QUIET.time(block)


VIEWS = {"view", "_unsafe_view", "reshape", "unsqueeze", "squeeze", "t", "transpose", "permute", "expand", "detach"}
VIEWS |= {"slice", "select", "as_strided", "alias", "split", "unbind", "chunk", "narrow", "unfold"}


def count_ops(trainer, steps: int = 16) -> tuple[float, float]:
    """Mean operations dispatched per training step over ``steps`` steps: all, and those that are not views."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.all = self.compute = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.all += 1
            self.compute += func.overloadpacket.__name__.rstrip("_") not in VIEWS
            return func(*args, **(kwargs or {}))

    with Count() as c:
        for _ in range(steps):
            trainer.train_step(StepRNG(0, trainer.step, 0))
            trainer.step += 1
    return c.all / steps, c.compute / steps


def from_recipe(path: str, data: Path) -> tuple[str, dict]:
    r = json.loads(Path(path).read_text())
    keys = ("resolution", "batch", "g_config", "d_config", "precision")
    return r["family"], {"data": str(data), **{k: r[k] for k in keys if r.get(k) is not None}}


def print_table(columns: str, results: list[dict], cells) -> None:
    """A table of ``results``: family, resolution and batch, then ``columns`` filled by ``cells(row)``."""
    header = f"{'family':<10} {'res':>4} {'batch':>5} {columns}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['family']:<10} {r['resolution']:>4} {r['batch']:>5} {cells(r)}")


def main_ops(args: argparse.Namespace) -> int:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        configs = specs(root, args.quick)
        write_images(root / "plain64", 32, 64, 3)
        for path in args.recipe:
            family, config = from_recipe(path, root / ("ab" if "cyclegan" in path else "plain64"))
            configs[family] = {**config, "recipe": path}
        for family in args.families.split(","):
            extra = {k: v for k, v in configs[family].items() if k not in ("recipe", "precision")}
            trainer = build(family, extra, configs[family].get("precision", "fp32"), root, args.device)
            count_ops(trainer, 1)  # first-call work (caches, lazy buffers) is not a step's
            n_all, n_compute = count_ops(trainer)
            results.append(
                {
                    "family": family,
                    "recipe": configs[family].get("recipe"),
                    "resolution": extra["resolution"],
                    "batch": extra["batch"],
                    "ops_per_step": n_all,
                    "non_view_ops_per_step": n_compute,
                }
            )
    print(f"device {args.device}, torch {torch.__version__}; operations dispatched per training step (mean of 16)")
    print_table(
        f"{'ops/step':>9} {'not views':>9}  config",
        results,
        lambda r: f"{r['ops_per_step']:>9,.0f} {r['non_view_ops_per_step']:>9,.0f}  {r['recipe'] or 'bench default'}",
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"device": args.device, "torch": torch.__version__, "results": results}, indent=2)
        )
    return 0


def cpu_bf16_flags() -> list[str]:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags.split() if "bf16" in f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller images, fewer rounds")
    ap.add_argument("--threads", type=int, default=physical_cores())
    ap.add_argument("--rounds", type=int, default=None, help="timed blocks per precision (default 3, quick 2)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed block (default 4, quick 2)")
    ap.add_argument("--families", default="stylegan2,biggan,cyclegan")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU (bf16 autocast there too)")
    ap.add_argument("--ops", action="store_true", help="count the operations a step dispatches instead of timing")
    ap.add_argument("--recipe", action="append", default=[], help="with --ops: a family's networks from this recipe")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.ops:
        return main_ops(args)
    rounds = args.rounds or (2 if args.quick else 3)
    steps = args.steps or (2 if args.quick else 4)  # R1 and path length come every 16 and 4 steps: part of a block
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        configs = specs(root, args.quick)
        for family in args.families.split(","):
            trainers = {p: build(family, configs[family], p, root, args.device) for p in ("fp32", "bf16")}
            for t in trainers.values():  # warm-up: allocations, first-call overheads
                run_block(t, 1)
            blocks: dict[str, list[float]] = {"fp32": [], "bf16": []}
            for _ in range(rounds):
                for p, t in trainers.items():
                    blocks[p].append(run_block(t, steps))
            fp32, bf16 = statistics.median(blocks["fp32"]), statistics.median(blocks["bf16"])
            g_params = sum(p.numel() for p in trainers["fp32"].G.parameters())
            d_params = sum(p.numel() for p in trainers["fp32"].D.parameters())
            results.append(
                {
                    "family": family,
                    "resolution": configs[family]["resolution"],
                    "batch": configs[family]["batch"],
                    "g_params": g_params,
                    "d_params": d_params,
                    "fp32_img_s": fp32,
                    "bf16_img_s": bf16,
                    "bf16_over_fp32": bf16 / fp32,
                    "blocks": blocks,
                }
            )
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": args.threads,
            "device": args.device,
            "bf16_flags": cpu_bf16_flags(),
            "torch": torch.__version__,
        },
        "quick": args.quick,
        "rounds": rounds,
        "steps_per_block": steps,
        "blocks_discarded_under_other_load": QUIET.discarded,
        "blocks_kept_under_other_load": QUIET.contended,
        "results": results,
    }
    flags = report["machine"]["bf16_flags"] or "none"
    print(f"device {args.device}, threads {args.threads}, torch {torch.__version__}, CPU bf16 flags: {flags}")
    print_table(
        f"{'G params':>9} {'D params':>9} {'fp32 img/s':>10} {'bf16 img/s':>10} {'bf16/fp32':>9}",
        results,
        lambda r: (
            f"{r['g_params']:>9,} {r['d_params']:>9,} {r['fp32_img_s']:>10.1f} {r['bf16_img_s']:>10.1f} "
            f"{r['bf16_over_fp32']:>9.2f}"
        ),
    )
    print(
        f"{QUIET.discarded} timed blocks discarded because other processes used the CPU meanwhile; "
        f"{QUIET.contended} kept under load after retries"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
