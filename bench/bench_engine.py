"""Engine benchmark: torch eager vs ONNX Runtime, measured side by side in one run.

    python bench/bench_engine.py [--quick] [--threads N] [--json out.json]

For each model: batch-1 latency p50/p90 on both backends and their ratio, images/s at the best batch size, and
achieved GFLOP/s (FLOPs counted by torch's FlopCounterMode on the same forward pass) against a fp32 matrix-multiply
ceiling measured in the same run with the same thread count. Models are random-initialised, built here:
StyleGAN2 at 256 px with the stylegan2-ada ``paper256`` channel counts (channel_base 16384, channel_max 512,
8 mapping layers), a 64x64 preview of it (the same widths, 64 px output), a small StyleGAN3-T, a BigGAN-deep 128
layout at channel width 32, and a CycleGAN resnet_9blocks (ngf 64) on 256x256.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigart.engine.engine import Engine
from bigart.models.registry import LoadedModel


def matmul_ceiling(threads: int, n: int = 2048, reps: int = 5) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _models(quick: bool):
    from bigart.models.biggan import LAYERS_128, BigGANConfig, BigGANGenerator
    from bigart.models.cyclegan import CycleGANConfig, CycleGANModel
    from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels
    from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator

    torch.manual_seed(0)
    paper = nvidia_channels(256, 16384, 512)
    yield (
        "stylegan2-paper256",
        "stylegan2",
        StyleGAN2Generator(
            StyleGAN2Config(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, channels=paper, mapping_layers=8)
        ),
    )
    yield (
        "stylegan2-paper256-preview64",
        "stylegan2",
        StyleGAN2Generator(
            StyleGAN2Config(
                z_dim=512, c_dim=0, w_dim=512, img_resolution=64, channels={r: paper[r] for r in paper if r <= 64}
            )
        ),
    )
    if quick:
        return
    yield (
        "stylegan3-t-128-small",
        "stylegan3",
        StyleGAN3Generator(
            StyleGAN3Config(
                z_dim=512, c_dim=0, w_dim=512, img_resolution=128, img_channels=3, channel_base=8192, channel_max=256
            )
        ),
    )
    yield "biggan-deep-128-cw32", "biggan", BigGANGenerator(BigGANConfig(channel_width=32, layers=LAYERS_128))
    yield "cyclegan-resnet9-256", "cyclegan", CycleGANModel(CycleGANConfig(kind="resnet", ngf=64, n_blocks=9))


def _runner(engine: Engine, family: str, g, n: int):
    rng = np.random.RandomState(0)
    if family in ("stylegan2", "stylegan3"):
        ws = engine.map(rng.randn(n, g.z_dim).astype(np.float32), psi=0.7)
        return lambda: engine.synthesize(ws, "const")
    if family == "biggan":
        z, c = (rng.randn(n, g.z_dim) * 0.4).astype(np.float32), np.eye(g.num_classes, dtype=np.float32)[:n]
        return lambda: engine.biggan(z, c, 0.4)
    x = (rng.rand(n, 3, 256, 256) * 2 - 1).astype(np.float32)
    return lambda: engine.translate(x, "AtoB")


def _flops(family: str, g, n: int) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        if family in ("stylegan2", "stylegan3"):
            g.synthesis(torch.randn(n, g.num_ws, g.w_dim))
        elif family == "biggan":
            g(torch.randn(n, g.z_dim) * 0.4, torch.eye(g.num_classes)[:n], 0.4)
        else:
            g(torch.rand(n, 3, 256, 256))
    return float(fc.get_total_flops())


def bench(quick: bool, threads: int) -> dict:
    torch.set_num_threads(threads)
    os.environ["BIGART_THREADS"] = str(threads)
    ceiling = matmul_ceiling(threads)
    rows = []
    reps = 5 if quick else 9
    for name, family, g in _models(quick):
        g = g.eval().requires_grad_(False)
        m = LoadedModel(family, g, g.config, Path(name), name.encode().hex()[:64].ljust(64, "0"), "bench")
        flops1 = _flops(family, g, 1)
        row = {"model": name, "gflop_per_image": flops1 / 1e9}
        for backend in ("torch", "onnx"):
            engine = Engine(m, backend)
            run = _runner(engine, family, g, 1)
            run()  # warm-up (and export for onnx)
            times = sorted(_time(run) for _ in range(reps))
            row[f"{backend}_p50_ms"] = 1000 * statistics.median(times)
            row[f"{backend}_p90_ms"] = 1000 * times[int(0.9 * (len(times) - 1))]
            best = (0.0, 1)
            for n in (1, 2, 4, 8) if not quick else (1, 4):
                run_n = _runner(engine, family, g, n)
                run_n()
                t = min(_time(run_n) for _ in range(3))
                best = max(best, (n / t, n))
            row[f"{backend}_best_img_s"], row[f"{backend}_best_batch"] = best
            row[f"{backend}_gflops"] = best[0] * flops1 / 1e9
            row[f"{backend}_of_ceiling"] = row[f"{backend}_gflops"] / ceiling
        row["onnx_speedup_p50"] = row["torch_p50_ms"] / row["onnx_p50_ms"]
        rows.append(row)
        print(_fmt(row), flush=True)
    return {"threads": threads, "matmul_ceiling_gflops": ceiling, "torch": torch.__version__, "rows": rows}


def _fmt(r: dict) -> str:
    return (
        f"{r['model']:30s} {r['gflop_per_image']:7.2f} GF"
        f" | torch p50 {r['torch_p50_ms']:8.1f} p90 {r['torch_p90_ms']:8.1f} ms"
        f" | onnx p50 {r['onnx_p50_ms']:8.1f} p90 {r['onnx_p90_ms']:8.1f} ms | x{r['onnx_speedup_p50']:.2f}"
        f" | best img/s torch {r['torch_best_img_s']:6.2f} (b{r['torch_best_batch']}) onnx {r['onnx_best_img_s']:6.2f}"
        f" (b{r['onnx_best_batch']}) | GFLOP/s torch {r['torch_gflops']:6.1f} ({r['torch_of_ceiling']:.0%})"
        f" onnx {r['onnx_gflops']:6.1f} ({r['onnx_of_ceiling']:.0%})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="StyleGAN2 only, fewer repetitions")
    p.add_argument("--threads", type=int, help="threads for both backends (default: physical cores)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    from bigart.engine.threads import physical_cores

    threads = args.threads or physical_cores()
    os.environ.setdefault("BIGART_CACHE_DIR", tempfile.mkdtemp(prefix="bigart-bench-"))
    result = bench(args.quick, threads)
    print(f"matmul ceiling (fp32 2048^3, {threads} threads): {result['matmul_ceiling_gflops']:.1f} GFLOP/s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
