"""One interface over the torch and ONNX Runtime backends: a render request in, images out.

StyleGAN runs as two steps, mapping and synthesis, with truncation, style mixing and direction offsets done in numpy
between them; BigGAN as one step whose batch-norm statistics follow the truncation through an input (one graph for
every truncation); CycleGAN as one step per direction with any height and width. Both backends take and give numpy
arrays, so callers never see which one ran, and ``describe()`` says what really runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bigart.engine.images import to_uint8
from bigart.engine.request import RenderRequest, RenderResult
from bigart.engine.threads import physical_cores
from bigart.errors import BigartError
from bigart.latent import truncate, z_from_seeds
from bigart.latent.biggan import truncated_z_from_seeds
from bigart.latent.mixing import MixingSchedule
from bigart.models import LoadedModel

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "preview")
STYLEGAN = ("stylegan2", "stylegan3")


# --------------------------------------------------------------------------------------------------------------
# What each graph computes (used by both backends, so they run the same function)


class _Mapping(nn.Module):
    """z (+ c) -> w ``[N, w_dim]``, untruncated: truncation, mixing and directions happen in numpy."""

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


def _table_statistics(means: torch.Tensor, variances: torch.Tensor, weights: torch.Tensor):
    """Batch-norm statistics as ``weights @ table``: the truncation-dependent row mix as a graph input."""
    return weights @ means, weights @ variances


class _BigGAN(nn.Module):
    """``(z, class weights, stats_weights)`` -> image, for every truncation at once.

    BigGAN picks its batch-norm statistics by truncation with ``math.modf`` on a Python float, which an exported graph
    would freeze. Here the pick is a weight vector over the statistics table rows (``stats_weights``, computed in
    numpy by :func:`stats_weights` with the model's own function), and every norm layer takes ``weights @ table``.
    """

    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor, c: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        from bigart.models import biggan

        g = self.g
        cond = torch.cat((z, g.embeddings(c)), dim=1)
        original = biggan.truncation_statistics
        biggan.truncation_statistics = _table_statistics  # only while this forward is traced for export
        try:
            return g.generator(cond, weights)
        finally:
            biggan.truncation_statistics = original


def stats_weights(n_stats: int, truncation: float) -> np.ndarray:
    """float32 ``[n_stats]`` weights over BigGAN's statistics rows for ``truncation``, quirks included: the model's
    ``truncation_statistics`` applied to an identity table yields exactly the weights it gives each row."""
    from bigart.models.biggan import check_truncation, truncation_statistics

    eye = torch.eye(n_stats, dtype=torch.float64)
    return truncation_statistics(eye, eye, check_truncation(truncation))[0].numpy().astype(np.float32)


class _Translate(nn.Module):
    def __init__(self, g: nn.Module, direction: str) -> None:
        super().__init__()
        self.g, self.direction = g, direction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(x, self.direction)


class _TranslationNet:
    """The engine seen as a CycleGAN net by the translation code (whole images)."""

    def __init__(self, engine: Engine) -> None:
        g = engine.g
        self.engine = engine
        self.size_multiple, self.input_nc, self.output_nc = g.size_multiple, g.input_nc, g.output_nc

    def __call__(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return torch.from_numpy(self.engine.translate(x.cpu().numpy(), direction))


def _cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), where previews in bf16 pay off."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def preview_precision(backend: str, device: str) -> str:
    """The precision ``precision='preview'`` gives: bf16 on CPUs that have it (torch), fp16 on CUDA, else fp32.

    ONNX Runtime's CPU provider has no faster half-precision convolutions, so ONNX previews on the CPU stay fp32.
    """
    if str(device).startswith("cuda"):
        return "fp16"
    return "bf16" if backend == "torch" and _cpu_has_bf16() else "fp32"


# --------------------------------------------------------------------------------------------------------------


class Engine:
    """Runs a loaded model on the ``torch`` or ``onnx`` backend.

    ``precision='preview'`` trades accuracy for speed (see :func:`preview_precision`); ``threads`` defaults to the
    physical cores. ONNX graphs are exported (or taken from the cache) on first use.
    """

    def __init__(
        self,
        model: LoadedModel,
        backend: str = "torch",
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise BigartError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if precision not in PRECISIONS:
            raise BigartError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        device = str(device)
        if backend == "torch" and device.startswith("cuda") and not torch.cuda.is_available():
            raise BigartError("CUDA was asked for, but PyTorch sees no CUDA device here; use --device cpu")
        self.model, self.backend, self.device = model, backend, device
        self.g = model.generator
        self.threads = int(threads or physical_cores())
        self.precision = "fp32" if precision == "fp32" else preview_precision(backend, device)
        self._graphs: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        if backend == "torch":
            if not device.startswith("cuda"):
                torch.set_num_threads(self.threads)
            elif self.precision == "fp32":
                # TF32 convolutions (cuDNN's default) are off by ~1e-2 from fp32: recipes would not re-render
                # within tolerance of the CPU. These switches are process-wide; previews use fp16 instead.
                torch.backends.cudnn.allow_tf32 = False
                torch.backends.cuda.matmul.allow_tf32 = False
            self.g.to(device)

    # --- backends -----------------------------------------------------------------------------------------------
    def _graph(
        self,
        name: str,
        module: nn.Module,
        example: tuple[torch.Tensor, ...],
        names: list[str],
        dynamic: dict[str, dict[int, str]],
        checks: list[tuple[torch.Tensor, ...]],
        expected=None,
    ):
        from bigart.engine.onnx_backend import GraphSpec, OnnxGraph

        if name not in self._graphs:

            def spec() -> GraphSpec:
                cpu = module.to("cpu").eval()
                return GraphSpec(name, cpu, example, names, ["out"], {**dynamic, "out": {0: "n"}}, checks, expected)

            self._graphs[name] = OnnxGraph(
                self.model.sha256, spec, name, self.device, self.threads, fp16=self.precision == "fp16"
            )
        return self._graphs[name]

    def _torch(self, module: nn.Module, *arrays: np.ndarray | None, fast: bool = False) -> np.ndarray:
        dev = torch.device(self.device)
        half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision) if fast else None
        autocast = torch.autocast(dev.type, dtype=half) if half is not None else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            args = [
                None if a is None else torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(dev) for a in arrays
            ]
            return module(*args).float().cpu().numpy()

    # --- StyleGAN -----------------------------------------------------------------------------------------------
    def map(
        self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0, cutoff: int | None = None
    ) -> np.ndarray:
        """``z [N, z_dim]`` (+ ``c [N, c_dim]``) -> ``ws [N, num_ws, w_dim]``, truncated in numpy."""
        g = self.g
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != g.z_dim:
            raise BigartError(f"z must be [N, {g.z_dim}], got {list(z.shape)}")
        if g.c_dim and (c is None or np.shape(c) != (z.shape[0], g.c_dim)):
            raise BigartError(f"this model is class-conditional: c must be [{z.shape[0]}, {g.c_dim}]")
        t = time.perf_counter()
        if self.backend == "torch":
            w = self._torch(_Mapping(g), z, c if g.c_dim else None)
        else:
            ex = [torch.randn(2, g.z_dim)] + ([torch.eye(g.c_dim)[[0, -1]]] if g.c_dim else [])
            names = ["z"] + (["c"] if g.c_dim else [])
            checks = [tuple(torch.randn(n, a.shape[1]) for a in ex) for n in (1, 4)]
            graph = self._graph("mapping", _Mapping(g), tuple(ex), names, {n: {0: "n"} for n in names}, checks)
            w = graph.run(z, c) if g.c_dim else graph.run(z)
        ws = np.repeat(w[:, None], g.num_ws, axis=1)
        out = truncate(ws, self.w_avg, psi, cutoff)
        self.timings["map"] = time.perf_counter() - t
        return out

    @property
    def w_avg(self) -> np.ndarray:
        return self.g.mapping.w_avg.detach().float().cpu().numpy()

    def synthesize(self, ws: np.ndarray, noise_mode: str = "const") -> np.ndarray:
        """``ws [N, num_ws, w_dim]`` -> float32 images ``[N, C, H, W]`` in nominal [-1, 1]."""
        g = self.g
        ws = np.asarray(ws, np.float32)
        if ws.ndim != 3 or ws.shape[1:] != (g.num_ws, g.w_dim):
            raise BigartError(f"ws must be [N, {g.num_ws}, {g.w_dim}], got {list(ws.shape)}")
        if noise_mode not in ("const", "random", "none"):
            raise BigartError(f"noise mode must be const, random or none, got {noise_mode!r}")
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_Synthesis(g, noise_mode), ws, fast=True)
        else:
            if self.model.family == "stylegan3":
                noise_mode, name = "const", "synthesis"  # StyleGAN3 has no noise inputs: one graph
            elif noise_mode == "random":
                raise BigartError(
                    "noise mode 'random' needs the torch backend (ONNX graphs hold no random ops); "
                    "use const or none with onnx"
                )
            else:
                name = f"synthesis-{noise_mode}"
            ex = torch.randn(2, g.num_ws, g.w_dim)
            checks = [(torch.randn(n, g.num_ws, g.w_dim),) for n in (1, 4)]
            graph = self._graph(name, _Synthesis(g, noise_mode), (ex,), ["ws"], {"ws": {0: "n"}}, checks)
            out = graph.run(ws)
        self.timings["synthesis"] = time.perf_counter() - t
        return out

    # --- BigGAN -------------------------------------------------------------------------------------------------
    def biggan(self, z: np.ndarray, c: np.ndarray, truncation: float) -> np.ndarray:
        """``z [N, z_dim]``, dense class weights ``c [N, num_classes]`` -> images; one ONNX graph for every
        truncation (its statistics are an input, see :class:`_BigGAN`)."""
        g = self.g
        weights = stats_weights(g.config.n_stats, truncation)
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_TorchBigGAN(g, truncation), z, c, fast=True)
        else:
            n_cls = g.num_classes

            def classes(n: int) -> torch.Tensor:
                return torch.eye(n_cls)[torch.arange(n) % n_cls] * 0.7 + torch.rand(n, n_cls) * 0.3 / n_cls

            sw = lambda trunc: torch.from_numpy(stats_weights(g.config.n_stats, trunc))  # noqa: E731
            example = (torch.randn(2, g.z_dim) * 0.5, classes(2), sw(0.5))
            checks, expected = [], []
            for n, trunc in ((1, 0.4), (4, 1.0), (4, 0.7)):
                zc = (torch.randn(n, g.z_dim) * trunc, classes(n))
                checks.append((*zc, sw(trunc)))
                expected.append(lambda zc=zc, trunc=trunc: g(*zc, trunc))
            graph = self._graph(
                "biggan",
                _BigGAN(g),
                example,
                ["z", "c", "stats_weights"],
                {"z": {0: "n"}, "c": {0: "n"}},
                checks,
                expected,
            )
            out = graph.run(z, c, weights)
        self.timings["generate"] = time.perf_counter() - t
        return out

    # --- CycleGAN -----------------------------------------------------------------------------------------------
    def translate(self, x: np.ndarray, direction: str = "AtoB") -> np.ndarray:
        """``[N, C, H, W]`` in [-1, 1] (H, W multiples of the net's size multiple) -> translated images."""
        g = self.g
        if direction not in g.directions:
            raise BigartError(f"{self.model.path.name} translates {' and '.join(g.directions)}, not {direction}")
        t = time.perf_counter()
        if self.backend == "torch":
            out = self._torch(_Translate(g, direction), x, fast=True)
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

    # --- one request, any family ----------------------------------------------------------------------------------
    def render(self, request: RenderRequest, stamp: int = 0, ws: np.ndarray | None = None) -> RenderResult:
        """Render ``request`` into uint8 pixels; failures come back as ``RenderResult.error``, never raised.

        ``ws`` (StyleGAN): the request's :meth:`request_ws`, when the caller has it already (a mapping cache)."""
        self.timings = {}
        start = time.perf_counter()
        backend, provider = self.backend, None
        try:
            family = self.model.family
            if family == "cyclegan":
                pixels, backend = self._translate_request(request)
            else:
                images = self.generate(request) if ws is None else self.synthesize(ws, request.noise_mode)
                t = time.perf_counter()
                pixels = to_uint8(images)
                pixels = pixels[0] if len(pixels) == 1 else pixels
                self.timings["convert"] = time.perf_counter() - t
        except Exception as e:
            expected = isinstance(e, (BigartError, ValueError))
            if not expected:
                log.exception("render failed")
            message = str(e) if expected else f"{type(e).__name__}: {e}"
            timings = {**self.timings, "total": time.perf_counter() - start}
            return RenderResult(stamp, None, timings, message, backend, self._provider(backend))
        timings = {**self.timings, "total": time.perf_counter() - start}
        return RenderResult(stamp, pixels, timings, None, backend, provider or self._provider(backend))

    def generate(self, request: RenderRequest) -> np.ndarray:
        """A generator's float32 output ``[N, C, H, W]`` (nominal [-1, 1]) for ``request``; raises on bad input."""
        family = self.model.family
        if family in STYLEGAN:
            return self.synthesize(self.request_ws(request), request.noise_mode)
        if family == "biggan":
            return self._biggan_request(request)
        raise BigartError(f"{self.model.path.name} is a {family} model: it translates images, it generates none")

    def _class_rows(self, request: RenderRequest, num_classes: int, n: int) -> np.ndarray | None:
        if num_classes == 0:
            if request.class_weights:
                raise BigartError(f"{self.model.path.name} is not class-conditional: class weights do not apply")
            return None
        if not request.class_weights:
            raise BigartError(f"{self.model.path.name} is class-conditional: the request needs class weights")
        return np.repeat(request.class_vector(num_classes)[None], n, axis=0)

    def request_ws(self, request: RenderRequest) -> np.ndarray:
        """The StyleGAN ``ws [N, num_ws, w_dim]`` a request describes: mapped (or given), truncated, mixed, offset."""
        g = self.g
        if request.image is not None:
            raise BigartError("a StyleGAN model renders latents, not images to translate")
        n = request.batch
        if request.ws is not None:
            ws = request.ws.numpy()
            if ws.ndim == 2:
                ws = np.repeat(ws[:, None], g.num_ws, axis=1)
            if ws.ndim != 3 or ws.shape[1:] != (g.num_ws, g.w_dim):
                raise BigartError(f"ws must be [N, {g.w_dim}] or [N, {g.num_ws}, {g.w_dim}], got {list(ws.shape)}")
            ws = truncate(ws, self.w_avg, request.psi, request.cutoff)
            c = self._class_rows(request, g.c_dim, 1) if request.mixing else None
        else:
            z = z_from_seeds(request.seeds, g.z_dim) if request.seeds else request.z.numpy()
            c = self._class_rows(request, g.c_dim, n)
            ws = self.map(z, c, request.psi, request.cutoff)
        if request.mixing:
            schedule = MixingSchedule(request.mixing)
            if schedule.num_ws != g.num_ws:
                raise BigartError(f"mixing needs one source per ws layer ({g.num_ws}), got {schedule.num_ws}")
            m = len(request.mix_seeds)
            c_mix = None if c is None else np.repeat(c[:1], m, axis=0)
            sources = self.map(z_from_seeds(request.mix_seeds, g.z_dim), c_mix, request.psi, request.cutoff)
            ws = schedule.apply([ws, *sources])
        return self.offset_ws(ws, request)

    def offset_ws(self, ws: np.ndarray, request: RenderRequest) -> np.ndarray:
        """``ws`` moved along the request's directions (the last step of :meth:`request_ws`, so that a caller that
        caches the mapped and mixed ``ws`` of a request without directions gets the same values)."""
        g = self.g
        for vector, strength in request.directions:
            v = vector.numpy()
            if v.shape not in ((g.w_dim,), (g.num_ws, g.w_dim)):
                raise BigartError(f"a direction must be [{g.w_dim}] or [{g.num_ws}, {g.w_dim}], got {list(v.shape)}")
            ws = ws + np.float32(strength) * v
        return ws.astype(np.float32, copy=False)

    def _biggan_request(self, request: RenderRequest) -> np.ndarray:
        g = self.g
        if request.seeds:
            z = truncated_z_from_seeds(request.seeds, g.z_dim, request.psi)
        elif request.z is not None:
            z = request.z.numpy()
        else:
            raise BigartError("BigGAN renders seeds or z: it has no w space and translates no images")
        z = z.astype(np.float32, copy=True)
        for vector, strength in request.directions:  # BigGAN's directions live in z
            v = vector.numpy()
            if v.shape != (g.z_dim,):
                raise BigartError(f"a BigGAN direction must be a z vector [{g.z_dim}], got {list(v.shape)}")
            z += np.float32(strength) * v
        return self.biggan(z, self._class_rows(request, g.num_classes, len(z)), request.psi)

    def _translate_request(self, request: RenderRequest) -> tuple[np.ndarray, str]:
        from bigart.engine.translate import LoadedImage, to_pixels, translate_image

        if request.image is None:
            raise BigartError("a CycleGAN model translates an image: the request has none")
        g = self.g
        rgba = request.image.numpy().astype(np.uint8, copy=False)
        rgb, alpha = rgba[..., :3], (rgba[..., 3] if rgba.shape[2] == 4 else None)
        long_side = request.working_size or max(rgb.shape[:2])
        tiled = request.tile is not None and long_side > request.tile
        # Tiles share instance-norm statistics through hooks in the torch net, so tiled images run on torch (fp32).
        backend = "torch" if tiled else self.backend
        net = g if tiled else _TranslationNet(self)
        t = time.perf_counter()
        image = LoadedImage(np.ascontiguousarray(rgb), alpha, Path("request"), "RGBA" if alpha is not None else "RGB")
        out = translate_image(
            net, image, request.direction, request.tile, request.overlap, request.working_size, self.device
        )
        self.timings["translate"] = time.perf_counter() - t
        t = time.perf_counter()
        pixels = to_pixels(out, alpha)
        self.timings["convert"] = time.perf_counter() - t
        return pixels, backend

    # --- what runs ----------------------------------------------------------------------------------------------
    def _provider(self, backend: str) -> str:
        return f"torch-{self.device}" if backend == "torch" else self.provider

    @property
    def provider(self) -> str:
        """The execution provider really in use (for torch: ``torch-<device>``)."""
        if self.backend == "torch":
            return f"torch-{self.device}"
        if not self._graphs:
            return "not started"
        return next(iter(self._graphs.values())).providers[0]

    def describe(self) -> dict[str, Any]:
        """Backend, provider really in use, device, precision, threads and, for onnx, each graph's verification."""
        info: dict[str, Any] = {
            "backend": self.backend,
            "device": self.device,
            "provider": self.provider,
            "precision": self.precision,
            "threads": self.threads if self.backend == "onnx" or self.device == "cpu" else None,
        }
        if self.backend == "torch":
            info["torch"] = torch.__version__
            return info
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        graphs = self._graphs.values()
        info["providers"] = next(iter(graphs)).providers if graphs else []
        if graphs and {g.precision for g in graphs} != {self.precision}:
            info["precision"] = ",".join(sorted({g.precision for g in graphs}))
        info["graphs"] = {
            n: {k: g.info.get(k) for k in ("max_abs_diff", "cached", "precision", "verified_on")}
            for n, g in self._graphs.items()
        }
        warnings = sorted({g.provider_warning for g in graphs if g.provider_warning})
        if warnings:
            info["warnings"] = warnings
        return info


class _TorchBigGAN(nn.Module):
    def __init__(self, g: nn.Module, truncation: float) -> None:
        super().__init__()
        self.g, self.truncation = g, truncation

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.g(z, c, self.truncation)


def engine_report() -> dict[str, Any]:
    """Backends, providers, device and threads on this machine (``bigart inspect --engine``); needs no model."""
    import onnxruntime as ort

    from bigart.engine.onnx_backend import CUDA, available_providers, cache_dir, cuda_problem

    providers = available_providers()
    return {
        "backends": list(BACKENDS),
        "torch": torch.__version__,
        "torch_devices": ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())],
        "onnxruntime": ort.__version__,
        "onnx_providers_available": providers,
        "onnx_cuda": "provider available" if CUDA in providers else cuda_problem(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": physical_cores(),
        "preview_precision_cpu": preview_precision("torch", "cpu"),
        "onnx_cache": str(cache_dir()),
    }


def export_onnx(model: LoadedModel, out: str | Path, threads: int | None = None) -> list[Path]:
    """Export (or take from the cache) every graph of ``model`` into ``out``: ``<graph>.onnx`` + ``<graph>.json``
    (its verification), and ``manifest.json`` with what a caller needs between graphs (StyleGAN's ``w_avg``).
    The graphs are shaped for ONNX Runtime's CPU provider (``form`` "cpu": asymmetric convolution pads, which the
    CUDA provider's cuDNN does not take); the app exports its CUDA graphs itself."""
    import json
    import shutil

    engine = Engine(model, "onnx", "cpu", threads=threads)
    g = model.generator
    manifest: dict[str, Any] = {"family": model.family, "model_sha256": model.sha256, "graphs": {}}
    if model.family in STYLEGAN:
        z = np.zeros((1, g.z_dim), np.float32)
        c = np.eye(g.c_dim, dtype=np.float32)[:1] if g.c_dim else None
        ws = engine.map(z, c)
        for mode in ("const", "none") if model.family == "stylegan2" else ("const",):
            engine.synthesize(ws, mode)
        manifest.update(num_ws=g.num_ws, w_dim=g.w_dim, z_dim=g.z_dim, c_dim=g.c_dim, w_avg=engine.w_avg.tolist())
        manifest["between_graphs"] = "ws = repeat(mapping(z, c), num_ws); ws = w_avg + psi * (ws - w_avg)"
    elif model.family == "biggan":
        engine.biggan(np.zeros((1, g.z_dim), np.float32), np.eye(g.num_classes, dtype=np.float32)[:1], 1.0)
        manifest.update(
            n_stats=g.config.n_stats,
            stats_weights={
                f"{t:g}": stats_weights(g.config.n_stats, t).tolist()
                for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
            },
        )
    elif model.family == "cyclegan":
        for d in g.directions:
            nc = g.input_nc if d == "AtoB" else g.output_nc
            engine.translate(np.zeros((1, nc, g.size_multiple, g.size_multiple), np.float32), d)
    else:
        raise BigartError(f"no ONNX export for {model.family} models")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, graph in engine._graphs.items():
        shutil.copyfile(graph.path, out / f"{name}.onnx")
        shutil.copyfile(graph.sidecar, out / f"{name}.json")
        manifest["graphs"][name] = {k: graph.info.get(k) for k in ("inputs", "outputs", "max_abs_diff", "form")}
        written.append(out / f"{name}.onnx")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return written
