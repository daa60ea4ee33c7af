"""Pixel parity of bigart's StyleGAN2 / StyleGAN3 generators against the reference implementations.

This script never imports reference code. It reads a *cases directory* produced beforehand with the
reference repositories and checks that bigart reproduces the recorded outputs.

Producing a cases directory (done outside this repository, never committed):

1. In an environment where the reference code runs (NVIDIA's ``torch_utils`` imports ``pkg_resources``,
   so it needs ``setuptools<81``), build small, randomly initialised generators with each reference
   repository, one Python process per repository (the two NVIDIA repositories share the package names
   ``training``/``torch_utils``/``dnnlib``):

   * NVlabs/stylegan2-ada-pytorch ``training.networks.Generator`` (architectures orig/skip/resnet,
     conditional and unconditional, several resolutions, channel counts, mapping depths, ``num_fp16_res``
     and ``conv_clamp`` values);
   * NVlabs/stylegan3 ``training.networks_stylegan2.Generator`` and ``training.networks_stylegan3.Generator``
     (configs T and R);
   * rosinality/stylegan2-pytorch ``model.Generator`` (its CUDA ops compile at import; stub the compiler
     out and use the CPU code paths).

   Randomise everything that is zero or one at initialisation (biases, affine biases, noise strengths,
   ``w_avg``, SG3 ``magnitude_ema``, the SG3 input affine) so that parity is meaningful, and make the
   training-time ``G`` differ from ``G_ema``.

2. Save each network exactly as the reference training code saves it: NVIDIA ``pickle.dump`` of the
   ``network-snapshot-NNNNNN.pkl`` dict (``G``, ``D``, ``G_ema``, ``augment_pipe``,
   ``training_set_kwargs``); rosinality ``torch.save`` of either the ``convert_weight.py`` container
   (``g_ema`` + ``latent_avg``) or the ``train.py`` checkpoint (``g``, ``d``, ``g_ema``, optimisers,
   ``args``, ``ada_aug_p``).

3. Reload each file with the reference loader and record float32 NCHW outputs for a set of requests:
   z = ``np.random.RandomState(seed).randn(1, z_dim)``, truncation psi (applied towards ``w_avg`` /
   ``latent_avg``), optional truncation cutoff, one-hot class for conditional nets, noise mode
   (``const``: stored noise buffers; ``none``: no noise), FP32 forced.

Layout: ``<cases>/<name>/{<model file>, case.json, expected.npz}`` with ::

    case.json = {"model": "network-snapshot-000000.pkl", "family": "stylegan2" | "stylegan3",
                 "requests": [{"seed": 0, "psi": 0.7, "cutoff": null, "class": null, "noise_mode": "const",
                               "key": "r0"}, ...]}
    expected.npz[key] = float32 [1, C, H, W]

Usage::

    python bench/parity_stylegan.py CASES_DIR [--only SUBSTR] [--tol 1e-4] [--json OUT] [--python-api]

By default every (case, request group) runs the real CLI in a subprocess::

    python -m bigart render --model FILE --seeds S1,S2 --psi P [--cutoff N] [--class N]
        --noise-mode const|none --device cpu --npy --out TMP

and compares ``TMP/seedNNNN.npy`` (float32 CHW) with the recorded output. ``--python-api`` instead uses
``bigart.models.load_model(path).generator(z, c, psi=..., cutoff=..., noise_mode=...)`` in this process.
Exit status 1 when any request differs by more than ``--tol`` (max abs) or fails to render.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_cases(root: Path, only: str | None) -> list[tuple[str, Path, dict]]:
    cases = []
    for d in sorted(p for p in root.iterdir() if (p / "case.json").is_file()):
        if only and not any(s in d.name for s in only.split(",")):
            continue
        with open(d / "case.json") as f:
            cases.append((d.name, d, json.load(f)))
    return cases


def group_requests(requests: list[dict]) -> OrderedDict:
    """Requests that differ only by seed form one group (one CLI call)."""
    groups: OrderedDict = OrderedDict()
    for r in requests:
        k = (float(r["psi"]), r.get("cutoff"), r.get("class"), r.get("noise_mode", "const"))
        groups.setdefault(k, []).append(r)
    return groups


def _tail(text: str, n: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def run_cli(model: Path, key: tuple, reqs: list[dict], timeout: float) -> tuple[dict, str | None, float]:
    """Render one request group with the CLI; returns ({request key: CHW array}, error, seconds)."""
    psi, cutoff, cls, mode = key
    seeds = [int(r["seed"]) for r in reqs]
    with tempfile.TemporaryDirectory(prefix="bigart_parity_") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "bigart",
            "render",
            "--model",
            str(model),
            "--seeds",
            ",".join(str(s) for s in seeds),
            f"--psi={psi!r}",
        ]
        if cutoff is not None:
            cmd.append(f"--cutoff={int(cutoff)}")
        if cls is not None:
            cmd.append(f"--class={int(cls)}")
        cmd += ["--noise-mode", mode, "--device", "cpu", "--npy", "--out", tmp, "--quiet"]
        t0 = time.time()
        try:
            p = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}, f"timed out after {timeout:.0f}s: {' '.join(cmd)}", time.time() - t0
        dt = time.time() - t0
        if p.returncode != 0:
            return {}, f"rc={p.returncode}: {_tail(p.stderr or p.stdout)}", dt
        out = {}
        for r in reqs:
            f = Path(tmp) / f"seed{int(r['seed']):04d}.npy"
            if not f.is_file():
                return out, f"missing {f.name} (have: {sorted(os.listdir(tmp))})", dt
            out[r["key"]] = np.load(f)
        return out, None, dt


class PythonApi:
    """In-process rendering through ``bigart.models.load_model``."""

    def __init__(self) -> None:
        import torch

        from bigart.models import load_model

        self.torch = torch
        self.load_model = load_model
        self._cache: dict[Path, object] = {}

    def run_group(self, model: Path, key: tuple, reqs: list[dict]) -> tuple[dict, str | None, float]:
        torch = self.torch
        psi, cutoff, cls, mode = key
        t0 = time.time()
        try:
            if model not in self._cache:
                self._cache.clear()
                self._cache[model] = self.load_model(model).generator
            G = self._cache[model]
            out = {}
            for r in reqs:
                z = np.random.RandomState(int(r["seed"])).randn(1, G.z_dim).astype(np.float32)
                c = None
                if G.c_dim:
                    c = torch.zeros([1, G.c_dim])
                    if cls is not None:
                        c[0, int(cls)] = 1
                with torch.no_grad():
                    img = G(torch.from_numpy(z), c, psi=psi, cutoff=cutoff, noise_mode=mode)
                out[r["key"]] = img[0].float().cpu().numpy()
            return out, None, time.time() - t0
        except Exception as e:  # report and carry on with the other cases
            return {}, f"{type(e).__name__}: {_tail(str(e))}", time.time() - t0


def compare(got: np.ndarray, want: np.ndarray) -> tuple[float | None, str | None]:
    want = want[0] if want.ndim == 4 else want
    if got.shape != want.shape:
        return None, f"shape {list(got.shape)} != expected {list(want.shape)}"
    if got.dtype != np.float32:
        got = got.astype(np.float32)
    if not np.all(np.isfinite(got)):
        return None, "non-finite values in output"
    return float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()), None


def fmt_key(key: tuple) -> str:
    psi, cutoff, cls, mode = key
    s = f"psi={psi:g}"
    if cutoff is not None:
        s += f" cut={cutoff}"
    if cls is not None:
        s += f" cls={cls}"
    return s + f" {mode}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", type=Path, help="cases directory (see the module docstring)")
    ap.add_argument("--only", help="comma-separated substrings of case names to run")
    ap.add_argument("--tol", type=float, default=1e-4, help="max abs difference allowed (default 1e-4)")
    ap.add_argument("--json", type=Path, help="write the results to this JSON file")
    ap.add_argument("--python-api", action="store_true", help="compare through load_model(...).generator")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per CLI call")
    args = ap.parse_args(argv)

    cases = load_cases(args.cases, args.only)
    if not cases:
        print(f"no cases (case.json) under {args.cases}", file=sys.stderr)
        return 2
    api = PythonApi() if args.python_api else None
    results = []
    print(
        f"{'case':34s} {'family':9s} {'request group':26s} {'seeds':>14s} {'max|diff|':>10s} {'max|ref|':>8s}"
        f" {'s':>6s}  status"
    )
    for name, d, case in cases:
        expected = np.load(d / "expected.npz")
        model = d / case["model"]
        for key, reqs in group_requests(case["requests"]).items():
            if api is not None:
                got, err, dt = api.run_group(model, key, reqs)
            else:
                got, err, dt = run_cli(model, key, reqs, args.timeout)
            worst = None
            ref_max = 0.0
            for r in reqs:
                want = expected[r["key"]]
                ref_max = max(ref_max, float(np.abs(want).max()))
                diff, cerr = (None, err) if r["key"] not in got else compare(got[r["key"]], want)
                if err is None and r["key"] not in got:
                    cerr = "no output"
                ok = cerr is None and diff is not None and diff <= args.tol
                results.append(
                    {
                        "case": name,
                        "family": case.get("family"),
                        "model": case["model"],
                        "key": r["key"],
                        "seed": r["seed"],
                        "psi": r["psi"],
                        "cutoff": r.get("cutoff"),
                        "class": r.get("class"),
                        "noise_mode": r.get("noise_mode"),
                        "max_abs_diff": diff,
                        "error": cerr,
                        "ok": ok,
                    }
                )
                if diff is not None:
                    worst = diff if worst is None else max(worst, diff)
                if cerr and not err:
                    err = cerr
            seeds = ",".join(str(r["seed"]) for r in reqs)
            status = "ok" if err is None and worst is not None and worst <= args.tol else "FAIL"
            shown = f"{worst:10.2e}" if worst is not None else f"{'-':>10s}"
            print(
                f"{name:34s} {case.get('family', '?'):9s} {fmt_key(key):26s} {seeds:>14s} {shown} "
                f"{ref_max:8.3f} {dt:6.1f}  {status}" + (f"  {err}" if err else ""),
                flush=True,
            )

    n_fail = sum(not r["ok"] for r in results)
    per_case: OrderedDict = OrderedDict()
    for r in results:
        c = per_case.setdefault(r["case"], {"n": 0, "fail": 0, "max_abs_diff": None, "errors": 0})
        c["n"] += 1
        c["fail"] += not r["ok"]
        c["errors"] += r["error"] is not None
        if r["max_abs_diff"] is not None:
            c["max_abs_diff"] = max(c["max_abs_diff"] or 0.0, r["max_abs_diff"])
    print()
    print(f"{'case':34s} {'requests':>8s} {'failed':>6s} {'errors':>6s} {'max|diff|':>10s}")
    for k, c in per_case.items():
        shown = "-" if c["max_abs_diff"] is None else f"{c['max_abs_diff']:.2e}"
        print(f"{k:34s} {c['n']:8d} {c['fail']:6d} {c['errors']:6d} {shown:>10s}")
    mode = "python-api" if api is not None else "cli"
    n_ok = len(results) - n_fail
    print(f"\n{n_ok}/{len(results)} requests within {args.tol:g} ({mode}, {len(per_case)} cases)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "tol": args.tol,
                    "mode": mode,
                    "cases_dir": str(args.cases),
                    "summary": per_case,
                    "results": results,
                },
                f,
                indent=1,
            )
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
