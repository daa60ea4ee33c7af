"""Engine benchmark: torch eager against ONNX Runtime, measured side by side in one run.

    python bench/bench_engine.py [--quick] [--threads N] [--reps N] [--json out.json]

Per model: batch-1 latency p50/p90 on both backends (runs interleaved, so both see the same machine) and their
ratio, images/s at the best batch size, and achieved GFLOP/s (FLOPs counted by torch's FlopCounterMode on the same
forward pass) against a fp32 matrix-multiply ceiling (torch GEMM 2048^3, same threads): the best GEMM rate among
GEMMs timed between that model's own runs, so both sides of the ratio come from the same minutes (this machine's
speed drifts by several percent over a run); the run's highest GEMM rate (before, between and after the models) is
reported too. Both backends use the same thread count (default: physical cores). On a shared
machine a timed run during which other processes used the CPU is done again after a pause (Linux; counted in the
output), so the numbers describe this machine, not its neighbours.

Models are random-initialised here, nothing is downloaded:
  stylegan2-paper256      StyleGAN2 256 px, stylegan2-ada ``paper256`` widths (channel_base 16384, channel_max 512,
                          8 mapping layers): 512 channels up to 32 px, 256 at 64, 128 at 128, 64 at 256
  stylegan2-preview64     "a 64x64 preview of it": the same widths for the blocks up to 64 px (4..64), 64 px output;
                          also on torch in preview precision (bf16 where the CPU has it), row ``...-torch-preview``
  stylegan3-t-256-small   StyleGAN3-T 256 px, channel_base 8192, channel_max 256 (a quarter of the published width)
  biggan-deep-128-ch32    BigGAN-deep 128 px layout at channel width 32 (the published model has 128)
  cyclegan-resnet9-256    CycleGAN resnet_9blocks, ngf 64 (the published size), one 256x256 image
``--quick`` runs the two StyleGAN2 rows only. ONNX graphs are exported into a temporary cache (not timed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quiet import Quiet
from bigart.engine.engine import Engine
from bigart.engine.threads import physical_cores
from bigart.models.registry import LoadedModel

PAUSE = 0.02  # seconds between timed runs, so one backend's spinning worker threads never overlap the other's run


GEMM_N = 2048


def _gemm(threads: int, n: int = GEMM_N):
    """A no-argument fp32 GEMM ``n``^3 (the ceiling's workload), warmed up."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    return lambda: a @ b


def matmul_ceiling(threads: int, n: int = GEMM_N, reps: int = 7) -> float:
    """fp32 GEMM GFLOP/s, best of ``reps``."""
    gemm = _gemm(threads, n)
    return 2 * n**3 / min(_time(gemm) for _ in range(reps)) / 1e9


QUIET = Quiet()


def _time(fn) -> float:
    return QUIET.time(fn)


def _models(quick: bool):
    from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels

    torch.manual_seed(0)
    paper = nvidia_channels(256, 16384, 512)
    sg2 = {"z_dim": 512, "c_dim": 0, "w_dim": 512, "mapping_layers": 8}
    yield "stylegan2-paper256", StyleGAN2Generator(StyleGAN2Config(img_resolution=256, channels=paper, **sg2))
    preview = {r: c for r, c in paper.items() if r <= 64}
    yield "stylegan2-preview64", StyleGAN2Generator(StyleGAN2Config(img_resolution=64, channels=preview, **sg2))
    if quick:
        return
    from bigart.models.biggan import LAYERS_128, BigGANConfig, BigGANGenerator
    from bigart.models.cyclegan import CycleGANConfig, CycleGANModel
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    sg3 = StyleGAN3Config(
        z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, channel_base=8192, channel_max=256
    )
    yield "stylegan3-t-256-small", StyleGAN3Generator(sg3)
    yield "biggan-deep-128-ch32", BigGANGenerator(BigGANConfig(channel_width=32, layers=LAYERS_128))
    yield "cyclegan-resnet9-256", CycleGANModel(CycleGANConfig(kind="resnet", ngf=64, n_blocks=9))


def _runner(engine: Engine, n: int):
    """A no-argument function rendering a batch of ``n`` (latents prepared outside the timing)."""
    g, family = engine.g, engine.model.family
    rng = np.random.RandomState(0)
    if family in ("stylegan2", "stylegan3"):
        ws = engine.map(rng.randn(n, g.z_dim).astype(np.float32), psi=0.7)
        return lambda: engine.synthesize(ws, "const")
    if family == "biggan":
        z, c = (rng.randn(n, g.z_dim) * 0.4).astype(np.float32), np.eye(g.num_classes, dtype=np.float32)[:n]
        return lambda: engine.biggan(z, c, 0.4)
    x = (rng.rand(n, 3, 256, 256) * 2 - 1).astype(np.float32)
    return lambda: engine.translate(x, "AtoB")


def _flops(engine: Engine) -> float:
    """FLOPs of one image, counted on the torch forward pass."""
    g, family = engine.g, engine.model.family
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        if family in ("stylegan2", "stylegan3"):
            g.synthesis(torch.randn(1, g.num_ws, g.w_dim))
        elif family == "biggan":
            g(torch.randn(1, g.z_dim) * 0.4, torch.eye(g.num_classes)[:1], 0.4)
        else:
            g(torch.rand(1, 3, 256, 256), "AtoB")
    return float(fc.get_total_flops())


def _latency(runs: dict[str, object], reps: int) -> dict[str, list[float]]:
    """Batch-1 latencies, the backends (and the ceiling's GEMM) interleaved run by run."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn()  # warm-up (and, for onnx, the export or the cache load)
        fn()
    for _ in range(reps):
        for k, fn in runs.items():
            time.sleep(PAUSE)
            times[k].append(_time(fn))
    return times


def _best_batch(engines: dict[str, Engine], batches: tuple[int, ...], gemm, gemm_times: list[float]):
    """Best images/s per engine over the batch sizes (3 runs each), a GEMM timed between them (into ``gemm_times``)."""
    best = {k: (0.0, 1) for k in engines}
    for n in batches:
        runs = {k: _runner(e, n) for k, e in engines.items()}
        for fn in runs.values():
            fn()
        for _ in range(3):
            for k, fn in runs.items():
                time.sleep(PAUSE)
                best[k] = max(best[k], (n / _time(fn), n))
            time.sleep(PAUSE)
            gemm_times.append(_time(gemm))
    return best


def _p(times: list[float], q: float) -> float:
    s = sorted(times)
    return 1000 * s[min(len(s) - 1, round(q * (len(s) - 1)))]


def bench(quick: bool, threads: int, reps: int) -> dict:
    torch.set_num_threads(threads)
    os.environ["BIGART_THREADS"] = str(threads)
    ceiling_before = matmul_ceiling(threads)
    print(f"matmul ceiling (torch fp32 GEMM 2048^3, {threads} threads): {ceiling_before:.1f} GFLOP/s", flush=True)
    rows = []
    batches = (1, 4) if quick else (1, 2, 4, 8)
    for name, g in _models(quick):
        g = g.eval().requires_grad_(False)
        m = LoadedModel(g.family, g, g.config, Path(name), name.encode().hex()[:64].ljust(64, "0"), "bench")
        engines = {"torch": Engine(m, "torch", threads=threads), "onnx": Engine(m, "onnx", threads=threads)}
        if name == "stylegan2-preview64":
            engines["torch-preview"] = Engine(m, "torch", precision="preview", threads=threads)
        flops = _flops(engines["torch"])
        gemm = _gemm(threads)
        lat = _latency({**{k: _runner(e, 1) for k, e in engines.items()}, "gemm": gemm}, reps)
        gemm_times = lat.pop("gemm")
        best = _best_batch(engines, batches, gemm, gemm_times)
        # the ceiling beside this model: the best GEMM rate among the GEMMs timed between its runs, so both sides of
        # the ratio come from the same minutes of this shared machine
        beside = 2 * GEMM_N**3 / min(gemm_times) / 1e9
        made = {"torch": {"model": name, "gflop_per_image": flops / 1e9, "ceiling_beside_gflops": beside}}
        made["onnx"] = made["torch"]
        if "torch-preview" in engines:
            made["torch-preview"] = {**made["torch"], "model": f"{name}-torch-preview"}
        for k, e in engines.items():
            row, backend = made[k], ("onnx" if k == "onnx" else "torch")
            row[f"{backend}_p50_ms"], row[f"{backend}_p90_ms"] = _p(lat[k], 0.5), _p(lat[k], 0.9)
            row[f"{backend}_best_img_s"], row[f"{backend}_best_batch"] = best[k]
            row[f"{backend}_gflops"] = best[k][0] * flops / 1e9
            row[f"{backend}_precision"] = e.precision
            row[f"{backend}_provider"] = e.provider
        made["torch"]["onnx_speedup_p50"] = made["torch"]["torch_p50_ms"] / made["torch"]["onnx_p50_ms"]
        for row in {id(r): r for r in made.values()}.values():
            rows.append(row)
            print(_fmt(row, beside), flush=True)
        del engines, g, m
        gc.collect()
    ceiling_after = matmul_ceiling(threads)
    highest = max([ceiling_before, ceiling_after] + [r["ceiling_beside_gflops"] for r in rows])
    for row in rows:
        for backend in ("torch", "onnx"):
            if f"{backend}_gflops" in row:
                row[f"{backend}_of_ceiling"] = row[f"{backend}_gflops"] / row["ceiling_beside_gflops"]
                row[f"{backend}_of_highest_ceiling"] = row[f"{backend}_gflops"] / highest
    return {
        "threads": threads,
        "matmul_ceiling_gflops": highest,
        "matmul_ceiling_before_after": [ceiling_before, ceiling_after],
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "cpu": platform.processor() or platform.machine(),
        "runs_discarded_for_other_load": QUIET.discarded,
        "runs_kept_under_other_load": QUIET.contended,
        "rows": rows,
    }


def _fmt(r: dict, ceiling: float) -> str:
    def cell(backend: str) -> str:
        if f"{backend}_p50_ms" not in r:
            return " " * 58
        gf = r[f"{backend}_gflops"]
        return (
            f"{r[f'{backend}_p50_ms']:7.1f} {r[f'{backend}_p90_ms']:7.1f} {r[f'{backend}_best_img_s']:6.2f}"
            f" b{r[f'{backend}_best_batch']:<2d} {gf:6.1f} {gf / ceiling:5.0%} {r[f'{backend}_precision']:>5s} |"
        )

    speedup = f"x{r['onnx_speedup_p50']:.2f}" if "onnx_speedup_p50" in r else ""
    return f"{r['model']:32s} {r['gflop_per_image']:6.2f} | {cell('torch')} {cell('onnx')} {speedup}"


HEADER = (
    f"{'model':32s} {'GF/img':>6s} | {'torch: p50':>10s} {'p90':>7s} {'img/s':>6s} {'batch':5s} {'GF/s':>6s} "
    f"{'ceil':>5s} {'prec':>5s} | {'onnx: p50':>10s} {'p90':>7s} {'img/s':>6s} {'batch':5s} {'GF/s':>6s} "
    f"{'ceil':>5s} {'prec':>5s} | onnx speed-up"
)


def _targets(result: dict) -> list[str]:
    rows = {r["model"]: r for r in result["rows"]}
    out = []
    paper = rows.get("stylegan2-paper256")
    if paper:
        frac, ratio = paper["onnx_of_ceiling"], paper["onnx_speedup_p50"]
        out.append(
            f"paper256 onnx GFLOP/s / ceiling beside it = {frac:.0%} (target >= 70%): "
            f"{'ok' if frac >= 0.7 else 'MISSED'}; / the run's highest GEMM rate = "
            f"{paper['onnx_of_highest_ceiling']:.0%}"
        )
        out.append(
            f"paper256 onnx speed-up over torch eager = x{ratio:.2f} (target >= 1.4): "
            f"{'ok' if ratio >= 1.4 else 'MISSED'}"
        )
    for key in ("stylegan2-preview64", "stylegan2-preview64-torch-preview"):
        r = rows.get(key)
        if r:
            best = min(r.get("onnx_p50_ms", 1e9), r["torch_p50_ms"])
            out.append(f"{key} best p50 = {best:.0f} ms (target <= 120 ms): {'ok' if best <= 120 else 'MISSED'}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the two StyleGAN2 rows only, fewer repetitions")
    p.add_argument("--threads", type=int, help="threads for both backends (default: physical cores)")
    p.add_argument("--reps", type=int, help="timed batch-1 runs per backend (default 15, quick 7)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    threads = args.threads or physical_cores()
    os.environ.setdefault("BIGART_CACHE_DIR", tempfile.mkdtemp(prefix="bigart-bench-"))
    print(HEADER)
    result = bench(args.quick, threads, args.reps or (7 if args.quick else 15))
    a, b = result["matmul_ceiling_before_after"]
    print(
        f"matmul ceiling before/after the models: {a:.1f} / {b:.1f} GFLOP/s, highest of the run "
        f"{result['matmul_ceiling_gflops']:.1f}; the 'ceil' column divides by the GEMM rate measured between each "
        "model's own runs ('*_of_ceiling' in the JSON; '*_of_highest_ceiling' divides by the run's highest)"
    )
    print(
        f"timed runs redone because other processes used the CPU: {result['runs_discarded_for_other_load']}"
        f" (kept under load after retries: {result['runs_kept_under_other_load']})"
    )
    for line in _targets(result):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
