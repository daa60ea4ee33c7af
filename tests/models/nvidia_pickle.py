"""Write network pickles laid out the way NVIDIA's ``torch_utils.persistence`` writes them, from any nn.Module.

Every module is pickled as ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with
``meta = dict(type='class', version=6, module_src=..., class_name=..., state=module.__dict__ + _init_args /
_init_kwargs)``; nested ``*_kwargs`` dicts become ``dnnlib.util.EasyDict``; tensors pickle as torch pickles them
(``torch._utils._rebuild_tensor_v2`` over ``torch.storage._load_from_bytes`` blobs). Stand-ins for
``torch_utils`` and ``dnnlib`` are in ``sys.modules`` only while pickling, so no reader can lean on them.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import io
import pickle
import sys
import types
from collections.abc import Iterator
from os import PathLike
from typing import Any

import torch

_FAKE_MODULES = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")


@contextlib.contextmanager
def _nvidia_modules() -> Iterator[tuple[Any, type]]:
    """``torch_utils.persistence._reconstruct_persistent_obj`` and ``dnnlib.util.EasyDict``, importable by name
    for the pickler while the block runs; sys.modules is restored afterwards."""

    def _reconstruct_persistent_obj(meta):  # pragma: no cover - written, never called
        raise AssertionError("a test stand-in: readers must not import torch_utils")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    easy_dict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})

    modules = {name: types.ModuleType(name) for name in _FAKE_MODULES}
    modules["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    modules["torch_utils"].persistence = modules["torch_utils.persistence"]
    modules["dnnlib.util"].EasyDict = easy_dict
    modules["dnnlib"].util = modules["dnnlib.util"]
    saved = {name: sys.modules.get(name) for name in _FAKE_MODULES}
    sys.modules.update(modules)
    try:
        yield _reconstruct_persistent_obj, easy_dict
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class _PersistencePickler(pickle.Pickler):
    """Pickles every nn.Module the way ``@persistence.persistent_class`` does in its ``__reduce__``."""

    def __init__(self, file, protocol, reconstruct, easy_dict, names, init_kwargs, meta_overrides, module_src):
        super().__init__(file, protocol=protocol)
        self._reconstruct, self._easy_dict = reconstruct, easy_dict
        self._names, self._init_kwargs = names, init_kwargs
        self._meta_overrides, self._module_src = meta_overrides or {}, module_src
        self._sources: dict[str, str] = {}  # one string per module, so the pickle memoises it like NVIDIA's

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, torch.nn.Module):
            return NotImplemented
        state = dict(obj.__dict__)
        for name, value in state.items():  # bigart's nets keep a config dataclass; NVIDIA's hold only plain values
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                state[name] = dataclasses.asdict(value)
        state["_init_args"] = ()
        state["_init_kwargs"] = self._kwargs(self._init_kwargs.get(id(obj), {}))
        meta = dict(
            type="class",
            version=6,
            module_src=self._source(type(obj)),
            class_name=self._names.get(id(obj), type(obj).__name__),
            state=state,
        )
        meta.update(self._meta_overrides)
        return self._reconstruct, (meta,), None

    def _kwargs(self, kwargs: dict) -> dict:
        """Top level a plain dict (``dict(kwargs)`` in the decorator), nested dicts EasyDicts (from train.py)."""
        return {k: self._easy(v) for k, v in kwargs.items()}

    def _easy(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._easy_dict({k: self._easy(v) for k, v in value.items()})
        return value

    def _source(self, cls: type) -> str:
        if self._module_src is not None:
            return self._module_src
        if cls.__module__ not in self._sources:
            try:
                self._sources[cls.__module__] = inspect.getsource(sys.modules[cls.__module__])
            except (OSError, TypeError, KeyError):
                self._sources[cls.__module__] = f"# source of {cls.__module__} (not available)\n"
        return self._sources[cls.__module__]


class _Discriminator(torch.nn.Module):
    """A stand-in ``D`` so the file has all three networks."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)


def dump_nvidia_style(
    path: str | PathLike,
    obj: Any,
    *,
    protocol: int = 4,
    names: dict[int, str] | None = None,
    init_kwargs: dict[int, dict] | None = None,
    meta_overrides: dict | None = None,
    module_src: str | None = None,
    numpy1_names: bool = False,
) -> bytes:
    """Pickle any object with its nn.Modules as NVIDIA persistent objects; returns the bytes written.

    ``names``/``init_kwargs`` are keyed by ``id(module)``; ``meta_overrides`` replaces meta fields (e.g. version);
    ``numpy1_names`` spells numpy globals ``numpy.core.*`` as numpy 1.x writers (all published files) do.
    """
    buf = io.BytesIO()
    with _nvidia_modules() as (reconstruct, easy_dict):
        _PersistencePickler(
            buf, protocol, reconstruct, easy_dict, names or {}, init_kwargs or {}, meta_overrides, module_src
        ).dump(obj)
    data = buf.getvalue()
    if numpy1_names:
        assert protocol <= 3, "renaming needs GLOBAL opcodes (text names), i.e. protocol <= 3"
        data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    with open(path, "wb") as f:
        f.write(data)
    return data


def write_nvidia_pickle(
    path: str | PathLike,
    G_ema: torch.nn.Module,
    init_kwargs: dict,
    class_name: str = "Generator",
    extra: dict | None = None,
    **dump_options: Any,
) -> bytes:
    """A ``network-snapshot.pkl`` holding ``G_ema`` (constructed with ``init_kwargs``): stylegan3's key order,
    ``G`` a copy of ``G_ema``, a small ``D``; ``extra`` entries are added or replace these."""
    G = copy.deepcopy(G_ema)
    D = _Discriminator()
    snapshot = {
        "G": G,
        "D": D,
        "G_ema": G_ema,
        "augment_pipe": None,
        "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "data.zip"},
    }
    snapshot.update(extra or {})
    names = {id(G): class_name, id(G_ema): class_name, id(D): "Discriminator"}
    kwargs = {id(G): init_kwargs, id(G_ema): init_kwargs, id(D): {"c_dim": 0, "img_resolution": 4}}
    return dump_nvidia_style(path, snapshot, names=names, init_kwargs=kwargs, **dump_options)


def sg2_kwargs(g: torch.nn.Module, **synthesis: Any) -> dict[str, Any]:
    """The ``G_ema`` constructor kwargs NVIDIA's trainer would record for one of our tiny StyleGAN2 generators
    (``synthesis``: more synthesis kwargs, e.g. ``num_fp16_res``, ``conv_clamp``)."""
    cfg = g.config
    return {
        "z_dim": cfg.z_dim,
        "c_dim": cfg.c_dim,
        "w_dim": cfg.w_dim,
        "img_resolution": cfg.img_resolution,
        "img_channels": cfg.img_channels,
        "mapping_kwargs": {"num_layers": cfg.mapping_layers},
        "synthesis_kwargs": {"channel_base": 256, "channel_max": 32, "architecture": cfg.architecture, **synthesis},
    }
