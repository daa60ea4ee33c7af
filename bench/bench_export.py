"""Export benchmark: images/s of a 256x256 seed-range export against the engine's own best batch rate, one run.

    python bench/bench_export.py [--images N] [--threads N] [--backend torch|onnx] [--json out.json]

The model is a random-initialised StyleGAN2 at 256 px with a modest width (channel_base 8192, channel_max 256,
8 mapping layers; nothing is downloaded), saved as a bigart model file so the export loads it like any other.
"engine" is ``Engine.generate`` on seeds at batch 1, 2, 4 and 8 (best of 3 each, measured before and after the
exports, the better kept); "export" is the whole ``bigart.jobs.export.run`` of ``--images`` seeds into a fresh
folder (model load, plan, render, PNG files with recipes, manifest) at the engine's best batch size, with the
default two writer threads and, for comparison, with files written in the rendering thread. Target: export >= 85%
of the engine's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.quiet import busy_seconds
from bigart.engine.engine import Engine
from bigart.engine.request import RenderRequest
from bigart.engine.threads import physical_cores
from bigart.jobs.export import ExportSpec, run
from bigart.models import load_model, save_model_file

BATCHES = (1, 2, 4, 8)


def make_model(folder: Path, base: int, cmax: int) -> Path:
    from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels

    torch.manual_seed(0)
    cfg = StyleGAN2Config(
        z_dim=512, c_dim=0, w_dim=512, img_resolution=256, channels=nvidia_channels(256, base, cmax), mapping_layers=8
    )
    g = StyleGAN2Generator(cfg).eval().requires_grad_(False)
    path = folder / "sg2-256.safetensors"
    save_model_file(path, g.state_dict(), {"family": "stylegan2", "config": cfg.to_dict()})
    return path


def timed(fn) -> tuple[float, float | None]:
    """Wall seconds of ``fn()`` and the CPU seconds other processes used meanwhile (a shared machine)."""
    busy, cpu, t = busy_seconds(), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t
    others = None if busy is None else max(0.0, (busy_seconds() - busy) - (time.process_time() - cpu))
    return wall, others


def engine_rates(engine: Engine, reps: int = 3) -> dict[int, float]:
    """Best images/s of ``Engine.generate`` at each batch size (to pick the batch size)."""
    rates = {}
    for n in BATCHES:
        requests = [RenderRequest(seeds=tuple(range(r * n, (r + 1) * n)), psi=0.7) for r in range(reps + 1)]
        engine.generate(requests[-1])  # warm-up
        rates[n] = max(n / timed(lambda q=q: engine.generate(q))[0] for q in requests[:-1])
    return rates


def engine_series(engine: Engine, images: int, batch: int) -> dict:
    """The engine alone over the same seeds as an export, in batches of ``batch``: its own best rate."""

    def go() -> None:
        for i in range(0, images, batch):
            engine.generate(RenderRequest(seeds=tuple(range(i, min(images, i + batch))), psi=0.7))

    wall, others = timed(go)
    return {"what": f"engine generate, batch {batch}", "seconds": wall, "img_s": images / wall, "others_cpu_s": others}


def export_series(model: Path, out: Path, images: int, batch: int, backend: str, writers: int) -> dict:
    spec = ExportSpec.from_json(
        {
            "kind": "seeds",
            "model": str(model),
            "out": str(out),
            "seeds": f"0-{images - 1}",
            "psi": 0.7,
            "batch_size": batch,
            "backend": backend,
            "writers": writers,
        }
    )
    results = []
    wall, others = timed(lambda: results.append(run(spec)))
    (result,) = results
    assert len(result.written) == images and (out / "manifest.json").is_file()
    size = sum(p.stat().st_size for p in result.written) / images  # bytes per PNG
    what = f"export, batch {batch}, writers {writers}"
    return {
        "what": what,
        "writers": writers,
        "seconds": wall,
        "img_s": images / wall,
        "others_cpu_s": others,
        "b": size,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=64, help="seeds to export (default 64)")
    p.add_argument("--rounds", type=int, default=3, help="engine / export / export rounds, interleaved (default 3)")
    p.add_argument("--threads", type=int, help="threads for the engine (default: physical cores)")
    p.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    p.add_argument("--channel-base", type=int, default=8192)
    p.add_argument("--channel-max", type=int, default=256)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    threads = args.threads or physical_cores()
    os.environ["BIGART_THREADS"] = str(threads)  # the export's engine takes the same threads
    tmp = Path(tempfile.mkdtemp(prefix="bigart-bench-export-"))
    os.environ.setdefault("BIGART_CACHE_DIR", str(tmp / "onnx-cache"))
    model_path = make_model(tmp, args.channel_base, args.channel_max)
    engine = Engine(load_model(model_path), args.backend, threads=threads)
    rates = engine_rates(engine)
    batch = max(rates, key=rates.get)
    print(
        f"StyleGAN2 256 px, channel_base {args.channel_base}, channel_max {args.channel_max}, {args.backend} "
        f"({engine.provider}), {threads} thread(s); {args.images} images per run, {args.rounds} rounds interleaved"
    )
    print("engine img/s by batch: " + ", ".join(f"b{n} {r:.2f}" for n, r in rates.items()) + f" -> batch {batch}")
    rows = []
    for i in range(args.rounds):  # interleaved, so every series sees the same machine
        rows.append(engine_series(engine, args.images, batch))
        rows.append(export_series(model_path, tmp / f"out{i}-w2", args.images, batch, args.backend, 2))
        rows.append(export_series(model_path, tmp / f"out{i}-w0", args.images, batch, args.backend, 0))
    best = {}
    for r in rows:
        best[r["what"]] = max(best.get(r["what"], 0.0), r["img_s"])
    engine_best = best[f"engine generate, batch {batch}"]
    print(f"{'':32s} {'img/s':>7s} {'of engine':>9s} {'seconds':>8s} {'others CPU s':>12s}")
    for r in rows:
        others = "?" if r["others_cpu_s"] is None else f"{r['others_cpu_s']:.1f}"
        print(f"{r['what']:32s} {r['img_s']:7.2f} {r['img_s'] / engine_best:9.0%} {r['seconds']:8.1f} {others:>12s}")
    threaded, inline = best[f"export, batch {batch}, writers 2"], best[f"export, batch {batch}, writers 0"]
    ratio = threaded / engine_best
    print(
        f"best of {args.rounds}: engine {engine_best:.2f} img/s, export {threaded:.2f} img/s (writer threads), "
        f"{inline:.2f} img/s (files written in the rendering thread)"
    )
    print(
        f"export / engine = {ratio:.0%} (target >= 85%): {'ok' if ratio >= 0.85 else 'MISSED'}; "
        f"inline writing: {inline / engine_best:.0%}"
    )
    result = {
        "model": f"stylegan2-256 channel_base {args.channel_base} channel_max {args.channel_max}",
        "backend": args.backend,
        "provider": engine.provider,
        "threads": threads,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "engine_img_s_by_batch": {str(n): r for n, r in rates.items()},
        "batch": batch,
        "rows": rows,
        "best_img_s": best,
        "export_over_engine": ratio,
        "inline_export_over_engine": inline / engine_best,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
