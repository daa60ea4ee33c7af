"""Read foreign checkpoint files without running code from them.

NVIDIA StyleGAN2-ADA / StyleGAN3 network pickles are plain ``pickle.dump`` output whose modules carry the
source code of their classes; the official loader ``exec``s that source. We unpickle them with an allow-list
instead: tensors, numpy values, plain containers, and NVIDIA's persistent objects kept as data
(:class:`PersistentObject`), whose ``module_src`` is never run. Any other global the file names is refused.
``torch.save`` files (``.pt``/``.pth``) go through ``torch.load(weights_only=True)``.
Every expected failure raises :class:`~bigart.errors.ModelLoadError` naming the file and what was expected.
"""

from __future__ import annotations

import argparse
import collections
import copyreg
import io
import pickle
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch._utils

from bigart.errors import ModelLoadError

try:  # where numpy keeps the functions its pickles name
    from numpy._core import multiarray as _multiarray  # numpy >= 2
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

PathArg = str | PathLike

NVIDIA_PICKLE = "an NVIDIA StyleGAN2-ADA / StyleGAN3 network pickle (.pkl)"
TORCH_FILE = "a PyTorch checkpoint (.pt / .pth written by torch.save)"
PERSISTENCE_VERSION = 6  # torch_utils/persistence.py `_version`, the same in both NVIDIA repositories
_TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")  # LONG1 of MAGIC_NUMBER


# --------------------------------------------------------------------------------------------------------------
# What a network pickle becomes


class EasyDict(dict):
    """Stands for ``dnnlib.util.EasyDict``: a dict whose keys also read as attributes (``kwargs.z_dim``)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # pickle and copy look up __setstate__ & co.: never answer them from the keys
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(eq=False)
class PersistentObject:
    """An object of an NVIDIA ``@persistent_class``, kept as data.

    ``state`` is the module's ``__dict__`` as pickled (``_parameters``, ``_buffers``, ``_modules``, plain
    attributes); ``module_src`` is the source of the module that defined the class, kept for inspection only.
    """

    class_name: str
    module_src: str = field(repr=False)
    state: dict[str, Any] = field(repr=False)

    @property
    def init_args(self) -> tuple:
        """Positional arguments the object was constructed with."""
        return tuple(self.state.get("_init_args") or ())

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Keyword arguments the object was constructed with (nested ``*_kwargs`` are :class:`EasyDict`)."""
        kwargs = self.state.get("_init_kwargs")
        return kwargs if kwargs is not None else {}

    @property
    def attributes(self) -> dict[str, Any]:
        """Plain attributes such as ``z_dim``, ``padding`` or ``up_factor`` (no torch bookkeeping)."""
        return {k: v for k, v in self.state.items() if not k.startswith("_") and k != "training"}

    @property
    def children(self) -> dict[str, PersistentObject]:
        """Direct submodules by name, like ``nn.Module.named_children``."""
        return {k: v for k, v in (self.state.get("_modules") or {}).items() if v is not None}

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, PersistentObject]]:
        """This object and every submodule, with dotted names, in ``nn.Module.named_modules`` order."""
        yield prefix, self
        for name, child in self.children.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def get_submodule(self, target: str) -> PersistentObject:
        """The submodule at a dotted path (``'synthesis.L3_52_512'``); ``''`` is this object."""
        obj = self
        for name in target.split(".") if target else []:
            children = obj.children
            if name not in children:
                raise AttributeError(f"{obj.class_name} has no submodule {name!r} (looking for {target!r})")
            obj = children[name]
        return obj

    def state_dict(self) -> dict[str, torch.Tensor]:
        """What ``module.state_dict()`` of the original network gives: same names, order and values."""
        out: dict[str, torch.Tensor] = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            skip = module.state.get("_non_persistent_buffers_set") or set()
            for name, tensor in (module.state.get("_parameters") or {}).items():
                if tensor is not None:
                    out[dot + name] = tensor.detach()
            for name, tensor in (module.state.get("_buffers") or {}).items():
                if tensor is not None and name not in skip:
                    out[dot + name] = tensor.detach()
        return out


# --------------------------------------------------------------------------------------------------------------
# Reasons a load stops; turned into ModelLoadError with the file name at the top


class _Refused(Exception):
    """The file names a global that is not on the allow-list."""

    def __init__(self, name: str, why: str = "") -> None:
        super().__init__(name)
        self.name, self.why = name, why


class _TensorFlowPickle(Exception):
    """An old TensorFlow StyleGAN pickle (``dnnlib.tflib.network.Network``)."""


class _Damaged(Exception):
    """The file is readable but does not hold what it should."""


# --------------------------------------------------------------------------------------------------------------
# The allowed globals, each a checked stand-in for the original


def _reconstruct_persistent(meta: Any) -> PersistentObject:
    """Stands for ``torch_utils.persistence._reconstruct_persistent_obj``: keeps the object as data, never execs."""
    if not isinstance(meta, dict):
        raise _Damaged(f"a persistent object's description is a {type(meta).__name__}, expected a dict")
    if meta.get("type") != "class":
        raise _Damaged(f"a persistent object has type {meta.get('type')!r}, expected 'class'")
    if meta.get("version") != PERSISTENCE_VERSION:
        raise _Damaged(
            f"a persistent object has version {meta.get('version')!r}, "
            f"expected {PERSISTENCE_VERSION} (torch_utils.persistence of stylegan2-ada-pytorch / stylegan3)"
        )
    class_name, module_src, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
    if not isinstance(class_name, str) or not isinstance(module_src, str):
        raise _Damaged("a persistent object lacks its class name or module source")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise _Damaged(f"the state of a {class_name} is a {type(state).__name__}, expected a dict")
    return PersistentObject(class_name, module_src, state)


def _no_hooks(backward_hooks: Any) -> None:
    if backward_hooks:  # torch writes an empty OrderedDict; hooks would be callables from the file
        raise _Damaged("a tensor carries backward hooks")


def _check_view(numel: int, offset: Any, size: tuple, stride: tuple) -> None:
    """A tensor must lie inside its storage: ``set_`` would silently grow the storage (uninitialised memory)."""
    numbers = (offset, *size, *stride)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in numbers):
        raise _Damaged(f"a tensor has shape {size}, strides {stride} and offset {offset}")
    if 0 not in size:
        needed = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
        if needed > numel:
            raise _Damaged(f"a tensor of shape {list(size)} reaches element {needed} of a storage of {numel}")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    """Stands for ``torch._utils._rebuild_tensor_v2``: a view of a storage, without hooks."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise _Damaged(f"a tensor's storage is a {type(storage).__name__}")
    _no_hooks(backward_hooks)
    size, stride = tuple(size), tuple(stride)
    _check_view(storage._size(), storage_offset, size, stride)  # _size(): .size() warns
    tensor = torch._utils._rebuild_tensor(storage, storage_offset, size, stride)
    tensor.requires_grad = bool(requires_grad)
    if metadata:
        torch._utils.set_tensor_metadata(tensor, metadata)
    return tensor


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None) -> torch.nn.Parameter:
    """Stands for ``torch._utils._rebuild_parameter(_with_state)``; extra Python state on a parameter is dropped."""
    if not isinstance(data, torch.Tensor):
        raise _Damaged(f"a parameter holds a {type(data).__name__}, expected a tensor")
    _no_hooks(backward_hooks)
    return torch.nn.Parameter(data, bool(requires_grad))


def _load_storage(blob: Any) -> torch.storage.TypedStorage:
    """Stands for ``torch.storage._load_from_bytes``: each storage is an inner ``torch.save`` blob.

    PyTorch's own version runs a full unpickler on the blob; ``weights_only=True`` reads these legacy blobs too.
    """
    if not isinstance(blob, bytes | bytearray):
        raise _Damaged(f"a tensor storage is a {type(blob).__name__}, expected bytes")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated")
            storage = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        name = _torch_refused_global(str(e))
        if name:
            raise _Refused(name, "inside a tensor's storage") from e
        raise _Damaged(f"a tensor's storage could not be read ({_torch_reason(str(e))})") from e
    except Exception as e:
        raise _Damaged(f"a tensor's storage could not be read ({type(e).__name__}: {e})") from e
    if not isinstance(storage, torch.storage.TypedStorage):
        raise _Damaged(f"a tensor's storage holds a {type(storage).__name__}, expected a storage")
    return storage


def _np_dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    """Stands for ``numpy.dtype``; refuses object dtypes (their items would be arbitrary Python objects)."""
    if not isinstance(spec, str):
        raise _Damaged(f"a numpy dtype is described by a {type(spec).__name__}, expected a string")
    return _checked_dtype(np.dtype(spec, align, copy))


_NUMPY_POINTER_FLAGS = 0x01 | 0x02 | 0x04  # NPY_ITEM_REFCOUNT, NPY_LIST_PICKLE, NPY_ITEM_IS_POINTER


def _checked_dtype(dtype: Any) -> np.dtype:
    """A dtype of plain numbers: no Python objects and no flags saying the items are pointers."""
    if not isinstance(dtype, np.dtype):
        raise _Damaged(f"a numpy dtype is a {type(dtype).__name__}")
    if dtype.hasobject or dtype.flags & _NUMPY_POINTER_FLAGS:
        raise _Refused("numpy.dtype", f"to make an object array ({dtype!r}, flags {dtype.flags:#x})")
    return dtype


def _np_scalar(dtype: Any, data: Any = None) -> np.generic:
    """Stands for ``numpy.(_)core.multiarray.scalar`` (``np.float64`` attributes such as ``weight_gain``)."""
    if not isinstance(data, bytes):
        raise _Damaged(f"a numpy scalar holds a {type(data).__name__}, expected bytes")
    return _multiarray.scalar(_checked_dtype(dtype), data)


class _NdarrayName:
    """Stands for ``numpy.ndarray`` as the argument of ``_reconstruct``; it cannot be called."""


_NDARRAY = _NdarrayName()


def _np_reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """Stands for ``numpy.(_)core.multiarray._reconstruct``: an empty ndarray that the pickle then fills."""
    if subtype is not _NDARRAY:
        raise _Damaged("a numpy array of a subclass, expected numpy.ndarray")
    if tuple(shape) != (0,) or typecode != b"b":  # numpy always writes these; the data come with __setstate__
        raise _Damaged(f"a numpy array placeholder of shape {shape!r} and type {typecode!r}, expected (0,) and b'b'")
    return _multiarray._reconstruct(np.ndarray, (0,), b"b")


def _np_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any, axis_order: Any = None) -> np.ndarray:
    """Stands for ``numpy.(_)core.numeric._frombuffer`` (numpy arrays pickled with protocol 5)."""
    if not isinstance(buf, bytes | bytearray):
        raise _Damaged(f"a numpy array buffer is a {type(buf).__name__}, expected bytes")
    extra = () if axis_order is None else (axis_order,)  # numpy 1.x's _frombuffer has no axis_order
    return _numeric._frombuffer(buf, _checked_dtype(dtype), shape, order, *extra)


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """Stands for ``_codecs.encode``, which protocol-2 pickles use to spell bytes as latin-1 text."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Damaged(f"_codecs.encode of {type(text).__name__} with {encoding!r}, expected latin-1 text")
    return text.encode("latin1")


def _bytes(data: Any = b"", encoding: str | None = None) -> bytes:
    """Stands for ``bytes`` (protocol-2 pickles write ``bytes()``) from bytes or text only: ``bytes(n)`` would
    allocate n bytes."""
    if isinstance(data, str) and encoding is not None:
        data = _codecs_encode(data, encoding)
    if not isinstance(data, bytes | bytearray):
        raise _Damaged(f"bytes or bytearray of {type(data).__name__}, expected bytes")
    return bytes(data)


def _bytearray(data: Any = b"", encoding: str | None = None) -> bytearray:
    """Stands for ``bytearray``, with the same limits as :func:`_bytes`."""
    return bytearray(_bytes(data, encoding))


_SAFE_CLASSES = (EasyDict, collections.OrderedDict, dict, list, set, frozenset, tuple)


def _copyreg_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """Stands for ``copyreg._reconstructor`` (protocol 0/1 pickles) for allowed container classes only."""
    if cls not in _SAFE_CLASSES or base not in (object, *_SAFE_CLASSES):
        raise _Refused("copyreg._reconstructor", f"for {cls!r}")
    return copyreg._reconstructor(cls, base, state)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch.storage", "_load_from_bytes"): _load_storage,
        ("torch", "Size"): torch.Size,
        ("numpy", "dtype"): _np_dtype,
        ("numpy", "ndarray"): _NDARRAY,
        ("_codecs", "encode"): _codecs_encode,
        ("copyreg", "_reconstructor"): _copyreg_reconstructor,
        ("builtins", "bytes"): _bytes,
        ("builtins", "bytearray"): _bytearray,
    }
    for name, value in vars(torch).items():
        if isinstance(value, torch.dtype):
            allowed["torch", name] = value
    for core in ("numpy.core", "numpy._core"):  # numpy 1.x writers / numpy >= 2 writers
        allowed[f"{core}.multiarray", "scalar"] = _np_scalar
        allowed[f"{core}.multiarray", "_reconstruct"] = _np_reconstruct
        allowed[f"{core}.numeric", "_frombuffer"] = _np_frombuffer
    for cls in (set, frozenset, slice, complex, tuple, list, dict, object):
        allowed["builtins", cls.__name__] = cls
    return allowed


_ALLOWED = _allowed_globals()
_PY2_NAMES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # protocol < 3 pickles spell them so


class _NetworkUnpickler(pickle._Unpickler):
    """An unpickler that resolves only the allow-listed globals and sets the state only of what network pickles
    build (numpy dtypes and arrays, checked; dict subclasses); anything else stops the load.

    It is pickle's pure-Python unpickler, because the C one gives no hook on BUILD, and numpy's
    ``dtype.__setstate__`` accepts any flags: a "float" dtype flagged as holding objects would make numpy treat
    the file's bytes as object pointers.
    """

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        module = _PY2_NAMES.get(module, module)
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "dnnlib.tflib" or module.startswith("dnnlib.tflib."):
            raise _TensorFlowPickle(f"{module}.{name}")
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise _Damaged("the pickle refers to persistent ids, which network pickles do not use")

    def load_build(self) -> None:
        inst, state = self.stack[-2], self.stack[-1]
        if isinstance(inst, np.dtype):
            super().load_build()
            _checked_dtype(inst)
        elif type(inst) is np.ndarray:
            if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[4], bytes | bytearray)):
                raise _Damaged("a numpy array's state is not (version, shape, dtype, fortran, bytes)")
            _checked_dtype(state[2])
            super().load_build()
        elif type(inst) in (EasyDict, collections.OrderedDict):  # attributes such as a state dict's _metadata
            super().load_build()
        else:
            raise _Damaged(f"the pickle sets the state of a {type(inst).__name__}, which network pickles never do")

    dispatch[pickle.BUILD[0]] = load_build


# --------------------------------------------------------------------------------------------------------------
# Public entry points


def _file_head(path: PathArg, expected: str, size: int = 64) -> tuple[Path, bytes]:
    """The first bytes of a regular, non-empty file, or ModelLoadError saying why there are none."""
    path = Path(path)
    if path.is_dir():
        raise ModelLoadError(f"{path} is a folder; expected {expected}")
    try:
        with path.open("rb") as f:
            head = f.read(size)
    except FileNotFoundError as e:
        raise ModelLoadError(f"{path} does not exist; expected {expected}") from e
    except OSError as e:
        raise ModelLoadError(f"{path} cannot be read ({e.strerror or e}); expected {expected}") from e
    if not head:
        raise ModelLoadError(f"{path} is empty; expected {expected}")
    return path, head


def _kind(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip"
    if len(head) > 8 and head[8:9] == b"{":
        header_len = int.from_bytes(head[:8], "little")
        if 0 < header_len <= path.stat().st_size - 8:
            return "safetensors"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "torch-legacy" if _TORCH_LEGACY_MAGIC in head[:32] else "pickle"
    return "unknown"


def sniff(path: PathArg) -> str:
    """The file's container from its first bytes, so the registry picks a reader.

    One of ``'pickle'`` (a plain pickle, such as an NVIDIA network pickle), ``'torch-zip'`` (``torch.save``
    since torch 1.6), ``'torch-legacy'`` (older ``torch.save``), ``'safetensors'`` or ``'unknown'``.
    """
    path, head = _file_head(path, "a model file (.pkl, .pt, .pth or .safetensors)")
    return _kind(path, head)


_KIND_NAMES = {
    "torch-zip": "a PyTorch zip checkpoint (torch.save)",
    "torch-legacy": "a legacy PyTorch checkpoint (torch.save)",
    "safetensors": "a safetensors file",
    "pickle": "a plain Python pickle (an NVIDIA network pickle?), not a torch.save checkpoint",
}


def read_nvidia_pickle(path: PathArg) -> dict[str, Any]:
    """The top-level dict of an NVIDIA network pickle, networks as :class:`PersistentObject`.

    Keys as written (``G``, ``D``, ``G_ema``, ``augment_pipe``, ``training_set_kwargs``); the last two default
    to None, as in NVIDIA's ``legacy.load_network_pkl``. ``G_ema`` is required.
    """
    path, head = _file_head(path, NVIDIA_PICKLE)
    kind = _kind(path, head)
    if kind in ("torch-zip", "torch-legacy", "safetensors"):
        raise ModelLoadError(f"{path} is {_KIND_NAMES[kind]}, not {NVIDIA_PICKLE}")
    with path.open("rb") as f:
        try:
            data = _NetworkUnpickler(f).load()
        except (_Refused, _TensorFlowPickle, _Damaged) as e:
            raise ModelLoadError(_stopped(path, e)) from e
        except Exception as e:  # the parser's own errors, or an allowed constructor's on malformed arguments
            ran_out = f.tell() >= path.stat().st_size
            raise ModelLoadError(_unreadable(path, head, kind, e, ran_out)) from e
    _check_networks(path, data)
    data.setdefault("training_set_kwargs", None)
    data.setdefault("augment_pipe", None)
    return data


def _check_networks(path: Path, data: Any) -> None:
    """The structure ``PersistentObject.state_dict`` relies on, checked once where the data come in."""
    if not isinstance(data, dict):
        raise ModelLoadError(
            f"{path} holds a {type(data).__name__}; expected {NVIDIA_PICKLE}, whose top level is a dict with 'G_ema'"
        )
    if "G_ema" not in data:
        found = ", ".join(repr(k) for k in list(data)[:8]) or "none"
        raise ModelLoadError(f"{path} has no 'G_ema' network (keys: {found}); expected {NVIDIA_PICKLE}")
    if not isinstance(data["G_ema"], PersistentObject):
        raise ModelLoadError(
            f"{path}: 'G_ema' is a {type(data['G_ema']).__name__}, expected a network; expected {NVIDIA_PICKLE}"
        )
    for key, value in data.items():
        if not isinstance(value, PersistentObject):
            continue
        for prefix, module in value.named_modules(str(key)):
            problem = _structure_problem(module)
            if problem:
                raise ModelLoadError(f"{path}: {prefix} ({module.class_name}) {problem}; expected {NVIDIA_PICKLE}")


def _structure_problem(module: PersistentObject) -> str | None:
    for slot in ("_parameters", "_buffers"):
        tensors = module.state.get(slot) or {}
        if not isinstance(tensors, dict):
            return f"has {slot} of type {type(tensors).__name__}, expected a dict"
        bad = [k for k, v in tensors.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor | None)]
        if bad:
            return f"has non-tensor entries in {slot}: {bad[:4]}"
    modules = module.state.get("_modules") or {}
    if not isinstance(modules, dict):
        return f"has _modules of type {type(modules).__name__}, expected a dict"
    bad = [k for k, v in modules.items() if not isinstance(k, str) or not isinstance(v, PersistentObject | None)]
    if bad:
        return f"has submodules that are not persistent network objects: {bad[:4]}"
    skip = module.state.get("_non_persistent_buffers_set") or set()
    if not isinstance(skip, set | frozenset):
        return f"has _non_persistent_buffers_set of type {type(skip).__name__}, expected a set"
    return None


def load_torch_file(path: PathArg) -> Any:
    """What ``torch.save`` stored in a ``.pt``/``.pth`` file, read with ``weights_only=True``.

    ``argparse.Namespace`` is also allowed: rosinality's train.py stores its ``args`` so.
    """
    path, head = _file_head(path, TORCH_FILE)
    kind = _kind(path, head)
    if kind not in ("torch-zip", "torch-legacy"):
        what = _KIND_NAMES.get(kind, f"not a PyTorch checkpoint (it starts with {head[:16]!r})")
        raise ModelLoadError(f"{path} is {what}; expected {TORCH_FILE}")
    if kind == "torch-zip" and not _zip_has_end_record(path):
        raise ModelLoadError(_truncated(path, "the zip archive has no end record"))
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        message = str(e)
        name = _torch_refused_global(message)
        if name:
            raise ModelLoadError(_refusal(path, name, "", TORCH_FILE)) from e
        if "Weights only load failed" in message:
            raise ModelLoadError(
                f"refusing to load {path}: it holds more than tensors and plain containers "
                f"({_torch_reason(message)}); expected {TORCH_FILE}"
            ) from e
        if "truncated" in message:
            raise ModelLoadError(_truncated(path, "the pickle stops early")) from e
        raise ModelLoadError(f"{path} is damaged ({_first_line(message)}); expected {TORCH_FILE}") from e
    except EOFError as e:
        raise ModelLoadError(_truncated(path, "it ends early")) from e
    except Exception as e:  # torch reports damage as RuntimeError or OSError with its own wording
        message = _first_line(str(e))
        if "EOF" in message or "truncated" in message:
            raise ModelLoadError(_truncated(path, message)) from e
        raise ModelLoadError(f"{path} is damaged ({type(e).__name__}: {message}); expected {TORCH_FILE}") from e


def _zip_has_end_record(path: Path) -> bool:
    """A zip ends with its central directory; a cut download loses it (torch then says only 'Invalid argument')."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - (22 + 65535)))  # end record (22 bytes) + the longest zip comment
        return b"PK\x05\x06" in f.read()


# --------------------------------------------------------------------------------------------------------------
# Messages


def _refusal(path: Path, name: str, why: str, expected: str) -> str:
    detail = f" {why}" if why else ""
    return (
        f"refusing to load {path}: it asks to run {name!r}{detail}; a model file may hold only tensors, numbers "
        f"and plain containers, anything else could run code (expected {expected})"
    )


def _stopped(path: Path, e: Exception) -> str:
    if isinstance(e, _Refused):
        return _refusal(path, e.name, e.why, NVIDIA_PICKLE)
    if isinstance(e, _TensorFlowPickle):
        return (
            f"{path} is an old TensorFlow StyleGAN pickle ({e}); convert it to a PyTorch network pickle with "
            "NVIDIA's legacy.py first (python legacy.py --source old.pkl --dest new.pkl), then open that"
        )
    return f"{path} is damaged or not {NVIDIA_PICKLE}: {e}"


def _unreadable(path: Path, head: bytes, kind: str, e: Exception, ran_out: bool) -> str:
    if kind == "unknown":
        return f"{path} is not a pickle (it starts with {head[:16]!r}); expected {NVIDIA_PICKLE}"
    if ran_out:
        return (
            f"{path} is truncated (it ends in the middle of the pickle; was the download complete?); "
            f"expected {NVIDIA_PICKLE}"
        )
    return f"{path} is damaged ({type(e).__name__}: {_first_line(str(e))}); expected {NVIDIA_PICKLE}"


def _truncated(path: Path, detail: str) -> str:
    return f"{path} is truncated ({detail}; was the download complete?); expected {TORCH_FILE}"


_TORCH_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _torch_refused_global(message: str) -> str | None:
    """The global named in a ``weights_only`` refusal; torch drops the ``builtins.`` prefix, we put it back."""
    match = _TORCH_GLOBAL.search(message)
    if not match:
        return None
    name = match.group(1).rstrip(".")
    return name if "." in name else f"builtins.{name}"


def _torch_reason(message: str) -> str:
    """The one line of a ``weights_only`` error that says what was refused."""
    match = re.search(r"WeightsUnpickler error: ([^\n]*)", message)
    return match.group(1).strip() if match else _first_line(message)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "no details"
