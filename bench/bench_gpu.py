"""GPU benchmark: torch CUDA (fp32, fp16 preview) against ONNX Runtime's CUDA provider (fp32, fp16 preview).

    python bench/bench_gpu.py [--quick | --big] [--reps N] [--json out.json]

Needs a CUDA GPU, and onnxruntime-gpu for the ONNX rows (without it they show the warning bigart gives and run on the
CPU, which is reported as such). Per model (the random-initialised ones of ``bench_engine.py``), measured side by
side in one run: what really ran (provider, precision, warnings), parity with torch fp32 on the CPU at batch 4
(max abs difference in [-1, 1]), batch-1 latency p50/p90 (end to end: numpy in, numpy out, device copies included),
and images/s at the best batch size.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_engine import _models, _p
from bigart.engine.engine import Engine
from bigart.models.registry import LoadedModel


def _big_models():
    """The published full-size layouts the issue asks for, random-initialised."""
    from bigart.models.biggan import LAYERS_512, BigGANConfig, BigGANGenerator
    from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels

    torch.manual_seed(0)
    channels = nvidia_channels(1024, 32768, 512)
    cfg = StyleGAN2Config(z_dim=512, c_dim=0, w_dim=512, mapping_layers=8, img_resolution=1024, channels=channels)
    yield "stylegan2-1024-config-f", StyleGAN2Generator(cfg)
    yield "biggan-deep-512", BigGANGenerator(BigGANConfig(channel_width=128, layers=LAYERS_512))


def _inputs(g, family: str, n: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    if family in ("stylegan2", "stylegan3"):
        return (rng.randn(n, g.z_dim).astype(np.float32),)
    if family == "biggan":
        return (rng.randn(n, g.z_dim) * 0.4).astype(np.float32), np.eye(g.num_classes, dtype=np.float32)[:n]
    return ((rng.rand(n, 3, 256, 256) * 2 - 1).astype(np.float32),)


def _runner(engine: Engine, n: int):
    g, family = engine.g, engine.model.family
    x = _inputs(g, family, n)
    if family in ("stylegan2", "stylegan3"):
        ws = engine.map(x[0], psi=0.7)
        return lambda: engine.synthesize(ws, "const")
    if family == "biggan":
        return lambda: engine.biggan(x[0], x[1], 0.4)
    return lambda: engine.translate(x[0], "AtoB")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(quick: bool, reps: int, big: bool = False) -> dict:
    rows = []
    batches = (1, 4, 16) if big else (1, 8, 32) if quick else (1, 4, 16, 32, 64)
    for name, g in _big_models() if big else _models(quick):
        g = g.eval().requires_grad_(False)
        m = LoadedModel(g.family, g, g.config, Path(name), name.encode().hex()[:64].ljust(64, "0"), "bench")
        reference = _runner(Engine(m, "torch", "cpu"), 4)()  # torch fp32 on the CPU
        out = {"model": name, "warnings": [], "engines": {}}
        # One engine at a time: ONNX first (exporting moves the module to the CPU; torch then moves it to the GPU),
        # each freed before the next, so no engine's memory pool squeezes another's batch.
        for key, backend, precision in (
            ("onnx-fp32", "onnx", "fp32"),
            ("onnx-fp16", "onnx", "preview"),
            ("torch-fp32", "torch", "fp32"),
            ("torch-fp16", "torch", "preview"),
        ):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                e = Engine(m, backend, "cuda", precision)
                got = _runner(e, 4)()
            out["warnings"] += sorted({str(x.message) for x in caught} - set(out["warnings"]))
            fns = {b: _runner(e, b) for b in batches}
            for fn in fns.values():
                fn()
            lat = [_timed(fns[1]) for _ in range(reps)]
            best = max((b / min(_timed(fns[b]) for _ in range(3)), b) for b in batches)
            d = e.describe()
            out["engines"][key] = {
                "provider": e.provider,
                "precision": d.get("precision"),
                "max_abs_diff_vs_cpu_fp32": float(np.abs(got - reference).max()),
                "p50_ms": _p(lat, 0.5),
                "p90_ms": _p(lat, 0.9),
                "best_img_s": best[0],
                "best_batch": best[1],
                "graphs": d.get("graphs"),
            }
            r = out["engines"][key]
            print(
                f"{name:24s} {key:10s} {r['provider']:24s} {r['precision']!s:5s}"
                f" diff {r['max_abs_diff_vs_cpu_fp32']:.1e}  p50 {r['p50_ms']:7.2f} ms  p90 {r['p90_ms']:7.2f} ms"
                f"  best {r['best_img_s']:8.1f} img/s @ {best[1]}",
                flush=True,
            )
            del e, fns
            gc.collect()
            torch.cuda.empty_cache()
        t32, o32 = out["engines"]["torch-fp32"], out["engines"]["onnx-fp32"]
        out["onnx_vs_torch_p50"] = t32["p50_ms"] / o32["p50_ms"]
        out["onnx_vs_torch_best"] = o32["best_img_s"] / t32["best_img_s"]
        print(f"{name:24s} onnx/torch fp32: p50 {out['onnx_vs_torch_p50']:.2f}x, best {out['onnx_vs_torch_best']:.2f}x")
        for msg in out["warnings"]:
            print(f"{name:24s} warning: {msg}")
        rows.append(out)
    import onnxruntime as ort

    return {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "providers_available": ort.get_available_providers(),
        "rows": rows,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--big", action="store_true", help="StyleGAN2 1024 (config f) and BigGAN-deep 512 instead")
    p.add_argument("--json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here", file=sys.stderr)
        return 1
    result = bench(args.quick, args.reps, args.big)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
