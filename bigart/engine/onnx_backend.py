"""ONNX Runtime backend: export our nets once, verify them against torch, cache them, run them.

Graphs are exported with the TorchScript exporter (FORMATS.md section 5: it handles every family here with a
dynamic batch, and CycleGAN with a dynamic height and width) into one file each. They are cached in the user cache
folder (``BIGART_CACHE_DIR`` overrides it) under a key made of the model file's SHA-256, the graph's name, torch's
version, the exporter, the opset and our graph version. Each graph has a JSON sidecar with its own SHA-256 and the
max abs difference measured against torch when it was exported; a cached file that no longer matches (truncated,
overwritten, unreadable) is rebuilt with a warning.

Providers: CUDA (cuDNN algorithm search, no TF32 in fp32 graphs, IOBinding) then CPU. The provider really in use is
read back from the session; when CUDA was asked for and is not running, a warning names the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bigart.atomic import atomic_write
from bigart.engine.threads import physical_cores
from bigart.errors import BigartError
from bigart.models.ops import onnx_cpu_forms

log = logging.getLogger(__name__)

OPSET = 17
EXPORTER = "torchscript"
GRAPH_VERSION = 5  # bump whenever the wrappers change what a graph computes: old cache entries then go unused
TOLERANCE = 1e-3  # fp32 graphs: max abs difference to torch, outputs in [-1, 1]
FP16_TOLERANCE = 0.1  # fp16 preview graphs (CUDA only): about 13 of 255 levels at worst
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def cuda_libraries(cuda_version: str | None = None, platform: str = sys.platform) -> tuple[str, ...]:
    """The CUDA and cuDNN libraries the CUDA provider loads, for the CUDA major version the onnxruntime build
    names (``build_and_package_info.cuda_version``: 12 for onnxruntime-gpu up to 1.2x, 13 for later builds)."""
    if cuda_version is None:
        from onnxruntime.capi import build_and_package_info as build

        cuda_version = getattr(build, "cuda_version", None) or "12"
    major = int(str(cuda_version).split(".")[0])
    cufft = major - 1  # cuFFT's soname runs one behind CUDA's major version (CUDA 12: libcufft.so.11)
    if platform == "win32":
        return (
            f"cudart64_{major}.dll",
            f"cublasLt64_{major}.dll",
            f"cublas64_{major}.dll",
            f"cufft64_{cufft}.dll",
            "cudnn64_9.dll",
        )
    return (
        f"libcudart.so.{major}",
        f"libcublasLt.so.{major}",
        f"libcublas.so.{major}",
        f"libcufft.so.{cufft}",
        "libcudnn.so.9",
    )


# How many graphs were exported in this process (tests check that a cache hit exports nothing).
export_count = 0


def cache_dir() -> Path:
    """Where exported graphs live: ``$BIGART_CACHE_DIR`` or the user cache folder's ``onnx``."""
    env = os.environ.get("BIGART_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("bigart")) / "onnx"


@dataclass
class GraphSpec:
    """What to export: a module, example inputs, their names, and which axes are dynamic.

    ``check_inputs`` are fed to the exported graph and compared with the module's output on them, or with
    ``expected[i]()`` where the torch reference is called differently: batch 1 and 4 at least, so a batch size baked
    into the graph cannot go unnoticed.
    """

    name: str
    module: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    check_inputs: list[tuple[torch.Tensor, ...]]
    expected: list[Callable[[], torch.Tensor]] | None = None


# --------------------------------------------------------------------------------------------------------------
# Providers


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def _missing_cuda_library() -> str | None:
    """The first CUDA library the CUDA provider needs that cannot be loaded here, with the loader's message."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)  # onnxruntime >= 1.21: loads CUDA/cuDNN from the nvidia-* wheels
    if preload is not None:
        with contextlib.suppress(Exception):
            preload()
    for lib in cuda_libraries():
        try:
            ctypes.CDLL(lib)
        except OSError as e:
            return f"{lib} ({e})"
    return None


def cuda_problem() -> str:
    """Why the CUDA provider is not running, as precisely as we can tell."""
    import onnxruntime as ort

    if CUDA not in available_providers():
        return (
            f"onnxruntime {ort.__version__} here is a build without the CUDA provider "
            "(install onnxruntime-gpu in place of onnxruntime)"
        )
    missing = _missing_cuda_library()
    if missing:
        return f"the CUDA provider cannot load {missing}"
    return "the CUDA provider failed to start (ONNX Runtime's log above says why)"


def providers_for(device: str) -> tuple[list[Any], str | None]:
    """Providers to ask ONNX Runtime for on ``device``, and, when CUDA cannot even be tried, the reason."""
    if not str(device).startswith("cuda"):
        return [CPU], None
    if CUDA not in available_providers():
        return [CPU], cuda_problem()
    index = int(str(device).split(":")[1]) if ":" in str(device) else 0
    options = {
        "device_id": index,
        "cudnn_conv_algo_search": "EXHAUSTIVE",  # measure the convolution algorithms once per shape
        "cudnn_conv_use_max_workspace": "1",
        "do_copy_in_default_stream": "1",
        "use_tf32": "0",  # fp32 graphs must stay within TOLERANCE of torch; fp16 graphs do not use it
        "arena_extend_strategy": "kSameAsRequested",  # grow the memory pool as needed, not in doubling steps:
        # the app shares the GPU with torch (training, previews), and a doubled arena can take most of the card
    }
    return [(CUDA, options), CPU], None


def session_options(threads: int | None = None):
    """Intra-op threads = physical cores, one inter-op thread, sequential execution, every graph optimisation."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or physical_cores()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return so


# --------------------------------------------------------------------------------------------------------------
# Export and verification


def _export(spec: GraphSpec, cpu_forms: bool = True) -> bytes:
    """The graph as ONNX bytes; ``cpu_forms``: layers shaped for ONNX Runtime's CPU kernels (see ``onnx_cpu_forms``),
    else forms every provider runs (the CUDA provider's cuDNN convolutions want symmetric pads)."""
    global export_count
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad(), onnx_cpu_forms(cpu_forms):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            spec.module,
            spec.inputs,
            buf,
            input_names=spec.input_names,
            output_names=spec.output_names,
            dynamic_axes=spec.dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )
    export_count += 1
    return buf.getvalue()


def _to_fp16(data: bytes) -> bytes:
    """The graph with fp16 weights and arithmetic, fp32 inputs and outputs (for CUDA previews)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load_from_string(data), keep_io_types=True)
    return model.SerializeToString()


def _verify(spec: GraphSpec, session) -> float:
    """Max abs difference between the graph and torch over ``spec.check_inputs`` (inf when not finite)."""
    worst = 0.0
    with torch.no_grad():
        for i, inputs in enumerate(spec.check_inputs):
            ref = (spec.expected[i]() if spec.expected else spec.module(*inputs)).float().numpy()
            feed = {n: t.numpy() for n, t in zip(spec.input_names, inputs, strict=True)}
            out = session.run(None, feed)[0]
            if out.shape != ref.shape:
                raise BigartError(f"the ONNX graph {spec.name} gives shape {out.shape}, torch {ref.shape}")
            diff = float(np.abs(out.astype(np.float32) - ref).max()) if out.size else 0.0
            worst = max(worst, diff if np.isfinite(diff) else float("inf"))
    return worst


class OnnxGraph:
    """A verified, cached ONNX Runtime session for one graph of one model.

    ``fp16`` asks for a half-precision variant; it is built only when the session really runs on CUDA and kept only
    when it verifies within ``FP16_TOLERANCE``, otherwise the fp32 graph runs (with a warning). ``precision`` says
    which one runs, ``providers`` what ONNX Runtime really uses, ``provider_warning`` why CUDA is not among them.
    """

    def __init__(
        self,
        model_sha256: str,
        spec_factory: Callable[[], GraphSpec],
        name: str,
        device: str = "cpu",
        threads: int | None = None,
        fp16: bool = False,
        iobinding: bool | None = None,
    ) -> None:
        self.name, self.device, self.threads = name, str(device), threads or physical_cores()
        self._spec_factory = spec_factory
        self._spec: GraphSpec | None = None
        self.provider_warning: str | None = None
        providers, reason = providers_for(self.device)
        if reason:
            self._warn_cuda(reason)
        # the graph's form follows the provider it is exported for: CPU kernels or CUDA's
        self.form = "cuda" if isinstance(providers[0], tuple) else "cpu"
        self.path, self.sidecar = self._paths(model_sha256, "fp32")
        self.session, self.info = self._open_or_build(providers, "fp32")
        self.providers = self.session.get_providers()
        if self.device.startswith("cuda") and self.providers[0] != CUDA and not self.provider_warning:
            self._warn_cuda(cuda_problem())
        self.precision = "fp32"
        if fp16 and self.providers[0] == CUDA:
            self._try_fp16(model_sha256, providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        # Outputs stay on the device until converted: bind them there when the graph runs on CUDA.
        self.iobinding = self.providers[0] == CUDA if iobinding is None else iobinding

    # --- cache ---------------------------------------------------------------------------------------------------
    def _paths(self, model_sha256: str, precision: str) -> tuple[Path, Path]:
        key = hashlib.sha256(
            f"{model_sha256}|{self.name}|{precision}|torch {torch.__version__}|{EXPORTER}|opset {OPSET}"
            f"|graph {GRAPH_VERSION}|form {self.form}".encode()
        ).hexdigest()[:32]
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.onnx"
        return path, path.with_suffix(".json")

    def _spec_once(self) -> GraphSpec:
        if self._spec is None:
            self._spec = self._spec_factory()
        return self._spec

    def _open_cached(self, path: Path, sidecar: Path, providers: list[Any]):
        """The cached session and its sidecar, None when there is none, rebuilt (with a warning) when damaged."""
        import onnxruntime as ort

        if not path.exists() and not sidecar.exists():
            return None
        try:
            info = json.loads(sidecar.read_text())
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != info.get("onnx_sha256"):
                raise ValueError("its contents no longer match the hash recorded when it was made")
            session = ort.InferenceSession(data, session_options(self.threads), providers=providers)
        except Exception as e:  # any damage means: rebuild
            warnings.warn(
                f"the cached ONNX graph {path.name} ({self.name}) is damaged ({e}); exporting it again", stacklevel=5
            )
            for p in (path, sidecar):
                with contextlib.suppress(OSError):
                    p.unlink()
            return None
        return session, {**info, "cached": True}

    def _open_or_build(self, providers: list[Any], precision: str, data: bytes | None = None):
        """Open the cached graph of ``precision``, or export (or convert ``data``), verify and cache it."""
        import onnxruntime as ort

        path, sidecar = (self.path, self.sidecar) if precision == "fp32" else (self.fp16_path, self.fp16_sidecar)
        cached = self._open_cached(path, sidecar, providers)
        if cached is not None:
            return cached
        spec = self._spec_once()
        t = time.perf_counter()
        data = _export(spec, self.form == "cpu") if data is None else _to_fp16(data)
        session = ort.InferenceSession(data, session_options(self.threads), providers=providers)
        diff = _verify(spec, session)
        tolerance = TOLERANCE if precision == "fp32" else FP16_TOLERANCE
        info = {
            "name": self.name,
            "precision": precision,
            "onnx_sha256": hashlib.sha256(data).hexdigest(),
            "max_abs_diff": diff,
            "tolerance": tolerance,
            "verified_on": session.get_providers()[0],
            "check_batches": sorted({int(t.shape[0]) for inputs in spec.check_inputs for t in inputs[:1]}),
            "inputs": {i.name: list(i.shape) for i in session.get_inputs()},
            "outputs": {o.name: list(o.shape) for o in session.get_outputs()},
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "exporter": EXPORTER,
            "opset": OPSET,
            "graph_version": GRAPH_VERSION,
            "form": self.form,
            "export_seconds": round(time.perf_counter() - t, 3),
        }
        if not diff <= tolerance:
            if precision != "fp32":
                raise _Fp16Rejected(diff)
            raise BigartError(
                f"the ONNX export of {self.name} differs from torch by {diff:.2e} (over {tolerance}); "
                "use the torch backend"
            )
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
        atomic_write(sidecar, lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2)))
        log.info("exported ONNX graph %s (max abs diff %.2e) to %s", self.name, diff, path)
        return session, {**info, "cached": False}

    def _try_fp16(self, model_sha256: str, providers: list[Any]) -> None:
        self.fp16_path, self.fp16_sidecar = self._paths(model_sha256, "fp16")
        try:
            session, info = self._open_or_build(providers, "fp16", data=self.path.read_bytes())
        except _Fp16Rejected as e:
            reason = f"differs from torch by {e.diff:.2e} (over {FP16_TOLERANCE})"
        except Exception as e:  # a graph the converter or the provider cannot take in fp16
            reason = f"could not be built ({type(e).__name__}: {e})"
        else:
            self.session, self.info, self.precision = session, info, "fp16"
            return
        warnings.warn(f"the fp16 ONNX graph of {self.name} {reason}; previews run in fp32", stacklevel=4)

    def _warn_cuda(self, reason: str) -> None:
        self.provider_warning = reason
        warnings.warn(f"ONNX Runtime: CUDA was requested but {reason}; running on the CPU", stacklevel=4)

    # --- running -------------------------------------------------------------------------------------------------
    def run(self, *arrays: np.ndarray | None) -> np.ndarray:
        """Feed the inputs in order (float32) and return the first output as a numpy array."""
        feed = {
            n: np.ascontiguousarray(a, dtype=np.float32)
            for n, a in zip(self.input_names, arrays, strict=True)
            if a is not None
        }
        if not self.iobinding:
            return self.session.run(None, feed)[0]
        binding = self.session.io_binding()
        device = "cuda" if self.providers[0] == CUDA else "cpu"
        device_id = int(self.device.split(":")[1]) if ":" in self.device else 0
        for name, array in feed.items():
            binding.bind_cpu_input(name, array)
        for name in self.output_names:
            binding.bind_output(name, device, device_id)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]


class _Fp16Rejected(Exception):
    def __init__(self, diff: float) -> None:
        super().__init__(f"fp16 graph differs by {diff}")
        self.diff = diff
