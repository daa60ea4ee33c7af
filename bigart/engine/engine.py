"""One interface over the torch and ONNX Runtime backends.

StyleGAN runs as two steps, mapping and synthesis, with truncation (and later mixing and directions) done in numpy
between them; BigGAN as one step per truncation; CycleGAN as one step per direction with any height and width.
Both backends take and give numpy arrays, so callers never see which one ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bigart.engine.threads import physical_cores
from bigart.errors import BigartError
from bigart.latent import truncate
from bigart.models import LoadedModel

BACKENDS = ("torch", "onnx")


class _Mapping(nn.Module):
    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.g.mapping(z, c)[:, 0]


class _Synthesis(nn.Module):
    def __init__(self, g: nn.Module, noise_mode: str) -> None:
        super().__init__()
        self.g, self.noise_mode = g, noise_mode

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return self.g.synthesis(ws, noise_mode=self.noise_mode)


class _BigGAN(nn.Module):
    def __init__(self, g: nn.Module, truncation: float) -> None:
        super().__init__()
        self.g, self.truncation = g, truncation

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.g(z, c, self.truncation)


class _Translate(nn.Module):
    def __init__(self, g: nn.Module, direction: str) -> None:
        super().__init__()
        self.g, self.direction = g, direction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(x, self.direction)


class Engine:
    """Runs a loaded model on the ``torch`` or ``onnx`` backend; ``describe()`` says what really runs."""

    def __init__(self, model: LoadedModel, backend: str = "torch", device: str = "cpu") -> None:
        if backend not in BACKENDS:
            raise BigartError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "torch" and device.startswith("cuda") and not torch.cuda.is_available():
            raise BigartError("CUDA was asked for, but PyTorch sees no CUDA device here; use --device cpu")
        self.model, self.backend, self.device = model, backend, device
        self.g = model.generator
        self._graphs: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        if backend == "torch":
            self.g.to(device)

    # --- graphs -------------------------------------------------------------------------------------------------
    def _graph(
        self,
        name: str,
        module: nn.Module,
        example: tuple[torch.Tensor, ...],
        names: list[str],
        dynamic: dict[str, dict[int, str]],
        checks: list[tuple[torch.Tensor, ...]],
    ):
        from bigart.engine.onnx_backend import GraphSpec, OnnxGraph

        if name not in self._graphs:
            cpu = module.to("cpu").eval()
            spec = lambda: GraphSpec(name, cpu, example, names, ["out"], {**dynamic, "out": {0: "n"}}, checks)  # noqa: E731
            self._graphs[name] = OnnxGraph(self.model.sha256, spec, name, self.device)
        return self._graphs[name]

    def _torch(self, module: nn.Module, *arrays: np.ndarray | None) -> np.ndarray:
        dev = torch.device(self.device)
        with torch.no_grad():
            args = [
                None if a is None else torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(dev) for a in arrays
            ]
            return module(*args).float().cpu().numpy()

    # --- StyleGAN -----------------------------------------------------------------------------------------------
    def map(
        self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0, cutoff: int | None = None
    ) -> np.ndarray:
        """``z [N, z_dim]`` (+ ``c [N, c_dim]``) -> truncated ``ws [N, num_ws, w_dim]``."""
        g = self.g
        t = time.perf_counter()
        if self.backend == "torch":
            w = self._torch(_Mapping(g), z, c)
        else:
            ex = [torch.randn(2, g.z_dim)] + ([torch.eye(g.c_dim)[:2]] if g.c_dim else [])
            names = ["z"] + (["c"] if g.c_dim else [])
            checks = [tuple(torch.randn(n, a.shape[1]) for a in ex) for n in (1, 4)]
            graph = self._graph("mapping", _Mapping(g), tuple(ex), names, {n: {0: "n"} for n in names}, checks)
            w = graph.run(z, c) if g.c_dim else graph.run(z)
        ws = np.repeat(w[:, None], g.num_ws, axis=1)
        out = truncate(ws, g.mapping.w_avg.detach().cpu().numpy(), psi, cutoff)
        self.timings["map"] = time.perf_counter() - t
        return out

    def synthesize(self, ws: np.ndarray, noise_mode: str = "const") -> np.ndarray:
        """``ws [N, num_ws, w_dim]`` -> float32 images ``[N, C, H, W]`` in nominal [-1, 1]."""
        g = self.g
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_Synthesis(g, noise_mode), ws)
        else:
            if noise_mode == "random":
                raise BigartError("noise mode 'random' runs on the torch backend only; use const or none with onnx")
            ex = torch.randn(2, g.num_ws, g.w_dim)
            checks = [(torch.randn(n, g.num_ws, g.w_dim),) for n in (1, 4)]
            graph = self._graph(
                f"synthesis-{noise_mode}", _Synthesis(g, noise_mode), (ex,), ["ws"], {"ws": {0: "n"}}, checks
            )
            out = graph.run(ws)
        self.timings["synthesis"] = time.perf_counter() - t
        return out

    # --- BigGAN -------------------------------------------------------------------------------------------------
    def biggan(self, z: np.ndarray, c: np.ndarray, truncation: float) -> np.ndarray:
        """``z [N, 128]``, dense class weights ``c [N, num_classes]`` -> images; ONNX graphs are kept per truncation."""
        g = self.g
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_BigGAN(g, truncation), z, c)
        else:
            ex = (torch.randn(2, g.z_dim), torch.eye(g.num_classes)[:2])
            checks = [
                (
                    torch.randn(n, g.z_dim) * truncation,
                    torch.eye(g.num_classes)[:n] if n <= g.num_classes else torch.rand(n, g.num_classes),
                )
                for n in (1, 4)
            ]
            graph = self._graph(
                f"biggan-t{truncation:.9g}",
                _BigGAN(g, truncation),
                ex,
                ["z", "c"],
                {"z": {0: "n"}, "c": {0: "n"}},
                checks,
            )
            out = graph.run(z, c)
        self.timings["biggan"] = time.perf_counter() - t
        return out

    # --- CycleGAN -----------------------------------------------------------------------------------------------
    def translate(self, x: np.ndarray, direction: str = "AtoB") -> np.ndarray:
        """``[N, C, H, W]`` in [-1, 1] (H, W multiples of the net's size multiple) -> translated images."""
        g = self.g
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_Translate(g, direction), x)
        else:
            m, nc = max(g.size_multiple, 32), (g.input_nc if direction == "AtoB" else g.output_nc)
            ex = torch.rand(2, nc, m, 2 * m) * 2 - 1
            checks = [(torch.rand(1, nc, 2 * m, m) * 2 - 1,), (torch.rand(4, nc, m, m) * 2 - 1,)]
            graph = self._graph(
                f"translate-{direction}",
                _Translate(g, direction),
                (ex,),
                ["x"],
                {"x": {0: "n", 2: "h", 3: "w"}},
                checks,
            )
            out = graph.run(x)
        self.timings["translate"] = time.perf_counter() - t
        return out

    # --- what runs ----------------------------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        """The execution provider really in use (for torch: the torch device)."""
        if self.backend == "torch":
            return f"torch-{self.device}"
        if not self._graphs:
            return "not started"
        return next(iter(self._graphs.values())).providers[0]

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": self.backend, "device": self.device, "provider": self.provider}
        info["threads"] = torch.get_num_threads() if self.backend == "torch" else physical_cores()
        if self.backend == "onnx":
            info["graphs"] = {
                n: {k: g.info.get(k) for k in ("max_abs_diff", "cached")} for n, g in self._graphs.items()
            }
            warnings = [g.provider_warning for g in self._graphs.values() if g.provider_warning]
            if warnings:
                info["warning"] = warnings[0]
        return info


def engine_report() -> dict[str, Any]:
    """Backends, providers, device and threads on this machine (``bigart inspect --engine``)."""
    import onnxruntime as ort

    from bigart.engine.onnx_backend import cache_dir

    return {
        "backends": list(BACKENDS),
        "torch": torch.__version__,
        "torch_cuda": torch.cuda.is_available(),
        "onnxruntime": ort.__version__,
        "onnx_providers_available": ort.get_available_providers(),
        "threads": physical_cores(),
        "onnx_cache": str(cache_dir()),
    }


def export_onnx(model: LoadedModel, out: str | Path, truncation: float = 1.0) -> list[Path]:
    """Export (or take from the cache) every graph of ``model`` into ``out``: ``<name>.onnx`` + ``<name>.json``."""
    import shutil

    engine = Engine(model, "onnx", "cpu")
    g = model.generator
    if model.family in ("stylegan2", "stylegan3"):
        z = np.zeros((1, g.z_dim), np.float32)
        c = np.eye(g.c_dim, dtype=np.float32)[:1] if g.c_dim else None
        ws = engine.map(z, c)
        engine.synthesize(ws, "const")
        if model.family == "stylegan2":
            engine.synthesize(ws, "none")
    elif model.family == "biggan":
        engine.biggan(np.zeros((1, g.z_dim), np.float32), np.eye(g.num_classes, dtype=np.float32)[:1], truncation)
    else:
        for d in g.directions:
            nc = g.input_nc if d == "AtoB" else g.output_nc
            engine.translate(np.zeros((1, nc, g.size_multiple, g.size_multiple), np.float32), d)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, graph in engine._graphs.items():
        shutil.copyfile(graph.path, out / f"{name}.onnx")
        shutil.copyfile(graph.sidecar, out / f"{name}.json")
        written.append(out / f"{name}.onnx")
    return written
