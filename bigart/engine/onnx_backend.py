"""ONNX Runtime backend: export our nets once, verify them against torch, cache them, run them.

Graphs are cached in the user cache folder (``BIGART_CACHE_DIR`` overrides it) under a key made of the model
file's SHA-256, the graph's name, torch's version and the opset. Each graph has a JSON sidecar with its own SHA-256
and the max abs difference measured against torch when it was exported; a cached file that no longer matches
(truncated, overwritten, unreadable) is rebuilt with a warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bigart.atomic import atomic_write
from bigart.engine.threads import physical_cores
from bigart.errors import BigartError

OPSET = 17
EXPORTER = "torchscript"
TOLERANCE = 1e-3


def cache_dir() -> Path:
    env = os.environ.get("BIGART_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("bigart")) / "onnx"


@dataclass
class GraphSpec:
    """What to export: a module, example inputs (batch 2), their names, and which axes are dynamic."""

    name: str
    module: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    check_inputs: list[tuple[torch.Tensor, ...]]  # compared with torch after export (batch 1 and 4, other sizes)


def _missing_cuda_library() -> str | None:
    """Name the first CUDA library the CUDA provider needs that cannot be loaded here, if any."""
    for lib in ("libcudart.so.12", "libcublas.so.12", "libcudnn.so.9", "libcufft.so.11"):
        try:
            ctypes.CDLL(lib)
        except OSError:
            return lib
    return None


def providers_for(device: str) -> tuple[list[Any], str | None]:
    """ONNX Runtime providers for ``device`` and, when CUDA was asked for but cannot run, the reason why."""
    import onnxruntime as ort

    cpu = "CPUExecutionProvider"
    if not str(device).startswith("cuda"):
        return [cpu], None
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return [cpu], (
            f"onnxruntime {ort.__version__} has no CUDA provider (install onnxruntime-gpu for GPU inference)"
        )
    missing = _missing_cuda_library()
    if missing:
        return [cpu], f"the CUDA provider needs {missing}, which cannot be loaded here"
    index = int(str(device).split(":")[1]) if ":" in str(device) else 0
    cuda = ("CUDAExecutionProvider", {"device_id": index, "cudnn_conv_algo_search": "EXHAUSTIVE"})
    return [cuda, cpu], None


def session_options():
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = physical_cores()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return so


def _export(spec: GraphSpec) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
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
    return buf.getvalue()


def _verify(spec: GraphSpec, session) -> float:
    worst = 0.0
    with torch.no_grad():
        for inputs in spec.check_inputs:
            ref = spec.module(*inputs).float().numpy()
            feed = {n: t.numpy() for n, t in zip(spec.input_names, inputs, strict=True)}
            out = session.run(None, feed)[0]
            if out.shape != ref.shape:
                raise BigartError(f"ONNX graph {spec.name} gives shape {out.shape}, torch {ref.shape}")
            worst = max(worst, float(np.abs(out - ref).max()))
    return worst


class OnnxGraph:
    """A verified, cached ONNX Runtime session for one graph of one model."""

    def __init__(self, model_sha256: str, spec_factory: Callable[[], GraphSpec], name: str, device: str = "cpu"):
        import onnxruntime as ort

        self.name = name
        key = hashlib.sha256(f"{model_sha256}|{name}|torch {torch.__version__}|opset {OPSET}|{EXPORTER}".encode())
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{key.hexdigest()[:32]}.onnx"
        self.sidecar = self.path.with_suffix(".json")
        providers, self.provider_warning = providers_for(device)
        if self.provider_warning:
            warnings.warn(f"ONNX Runtime: {self.provider_warning}; using the CPU", stacklevel=3)
        self.session = None
        self.info: dict[str, Any] = {}
        if self.path.exists():
            self._open_cached(ort, providers)
        if self.session is None:
            spec = spec_factory()
            data = _export(spec)
            self.session = ort.InferenceSession(data, session_options(), providers=providers)
            diff = _verify(spec, self.session)
            if diff > TOLERANCE:
                raise BigartError(
                    f"the ONNX export of {name} differs from torch by {diff:.2e} (over {TOLERANCE}); "
                    "use the torch backend"
                )
            self.info = {
                "name": name,
                "onnx_sha256": hashlib.sha256(data).hexdigest(),
                "max_abs_diff": diff,
                "torch": torch.__version__,
                "opset": OPSET,
                "exporter": EXPORTER,
            }
            atomic_write(self.path, lambda tmp: Path(tmp).write_bytes(data))
            atomic_write(self.sidecar, lambda tmp: Path(tmp).write_text(json.dumps(self.info, indent=2)))
            self.info["cached"] = False
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        if (
            str(device).startswith("cuda")
            and self.providers[0] != "CUDAExecutionProvider"
            and not self.provider_warning
        ):
            self.provider_warning = "the CUDA provider failed to start (see ONNX Runtime's log)"
            warnings.warn(f"ONNX Runtime: {self.provider_warning}; using the CPU", stacklevel=3)

    def _open_cached(self, ort, providers: Sequence[Any]) -> None:
        try:
            info = json.loads(self.sidecar.read_text())
            data = self.path.read_bytes()
            if hashlib.sha256(data).hexdigest() != info.get("onnx_sha256"):
                raise ValueError("its contents do not match the hash recorded when it was made")
            self.session = ort.InferenceSession(data, session_options(), providers=list(providers))
            self.info = {**info, "cached": True}
        except Exception as e:  # any damage means: rebuild
            warnings.warn(
                f"cached ONNX graph {self.path.name} ({self.name}) is damaged ({e}); rebuilding it", stacklevel=4
            )
            for p in (self.path, self.sidecar):
                with contextlib.suppress(OSError):
                    p.unlink()
            self.session = None

    def run(self, *arrays: np.ndarray) -> np.ndarray:
        feed = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(self.input_names, arrays, strict=True)}
        return self.session.run(None, feed)[0]
