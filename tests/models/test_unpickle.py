"""The safe reading layer: NVIDIA pickles give back the network's own state dict, and nothing in a file ever runs."""

from __future__ import annotations

import argparse
import builtins
import collections
import importlib
import os
import pickle
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bigart.errors import ModelLoadError
from bigart.models.unpickle import EasyDict, PersistentObject, load_torch_file, read_nvidia_pickle, sniff
from tests.models.nvidia_pickle import dump_nvidia_style, write_nvidia_pickle

# --------------------------------------------------------------------------------------------------------------
# A tiny network with what NVIDIA modules hold: parameters, buffers (one not persistent, one None), submodules,
# and plain attributes (lists, ints, numpy float64 scalars, numpy int arrays as in StyleGAN3 layers).


class TinyLayer(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, channels, 3, 3))
        self.register_parameter("bias", None)
        self.register_buffer("up_filter", torch.randn(6))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.register_buffer("missing", None)
        self.padding = [1, 2, 1, 2]
        self.up_factor = 2
        self.weight_gain = np.float64(1 / 3)
        self.in_size = np.array([36, 36], dtype=np.int64)


class TinyMapping(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc0 = nn.Linear(8, 8)
        self.register_buffer("w_avg", torch.randn(8))


class TinySynthesis(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.L0 = TinyLayer(4)
        self.L1 = TinyLayer(4)


class TinyGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mapping = TinyMapping()
        self.synthesis = TinySynthesis()
        self.z_dim = 8


INIT_KWARGS = {
    "z_dim": 8,
    "c_dim": 0,
    "w_dim": 8,
    "img_resolution": 16,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 1, "lr_multiplier": 0.01},
    "synthesis_kwargs": {"channel_base": 256, "channel_max": 4, "layer_kwargs": {"use_radial_filters": True}},
}


def tiny_generator() -> TinyGenerator:
    torch.manual_seed(0)
    return TinyGenerator().eval().requires_grad_(False)


def assert_same_state_dict(got: dict[str, torch.Tensor], net: nn.Module) -> None:
    want = net.state_dict()
    assert list(got) == list(want)
    for name, tensor in want.items():
        assert got[name].dtype == tensor.dtype and torch.equal(got[name], tensor), name


class _Call:
    """Pickles as ``func(*args)``: the call a malicious file asks the unpickler to make. Callable, so calls chain."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __call__(self, *args):  # pragma: no cover - never called, only pickled
        raise AssertionError

    def __reduce__(self):
        return self.func, self.args


class _Built:
    """Pickles as ``func(*args)`` and then ``__setstate__(state)``: a BUILD opcode."""

    def __init__(self, func, args, state) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return self.func, self.args, self.state


# --------------------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("protocol", [1, 2, 3, 4, 5])
def test_round_trip_gives_the_modules_state_dict(tmp_path, protocol):
    g = tiny_generator()
    path = tmp_path / "network-snapshot-000100.pkl"
    write_nvidia_pickle(path, g, INIT_KWARGS, protocol=protocol)
    assert not {"torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"} & set(sys.modules)

    data = read_nvidia_pickle(path)

    assert list(data)[:5] == ["G", "D", "G_ema", "augment_pipe", "training_set_kwargs"]
    G_ema = data["G_ema"]
    assert isinstance(G_ema, PersistentObject) and G_ema.class_name == "Generator"
    assert_same_state_dict(G_ema.state_dict(), g)
    assert_same_state_dict(data["G"].state_dict(), g)
    assert data["D"].class_name == "Discriminator"
    assert G_ema.init_kwargs == INIT_KWARGS and G_ema.init_args == ()
    assert isinstance(G_ema.init_kwargs["mapping_kwargs"], EasyDict)
    assert G_ema.init_kwargs["synthesis_kwargs"].layer_kwargs.use_radial_filters is True
    assert data["augment_pipe"] is None
    assert data["training_set_kwargs"]["path"] == "data.zip"


def test_numpy_1_names_as_in_published_files(tmp_path):
    g = tiny_generator()
    path = tmp_path / "ffhq.pkl"
    raw = write_nvidia_pickle(path, g, INIT_KWARGS, protocol=3, numpy1_names=True, module_src="# networks.py\n")
    assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw

    layer = read_nvidia_pickle(path)["G_ema"].get_submodule("synthesis.L1")

    assert layer.attributes["weight_gain"] == np.float64(1 / 3)
    assert layer.attributes["in_size"].dtype == np.int64
    assert np.array_equal(layer.attributes["in_size"], [36, 36])


def test_submodules_and_their_attributes(tmp_path):
    g = tiny_generator()
    path = tmp_path / "g.pkl"
    write_nvidia_pickle(path, g, INIT_KWARGS)

    G_ema = read_nvidia_pickle(path)["G_ema"]

    assert [name for name, _ in G_ema.named_modules()] == [name for name, _ in g.named_modules()]
    assert list(G_ema.children) == ["mapping", "synthesis"]
    layer = G_ema.get_submodule("synthesis.L0")
    assert layer.class_name == "TinyLayer"
    assert layer.attributes["padding"] == [1, 2, 1, 2] and layer.attributes["up_factor"] == 2
    assert isinstance(layer.attributes["weight_gain"], np.float64)
    assert torch.equal(layer.state["_buffers"]["up_filter"], g.synthesis.L0.up_filter)
    assert G_ema.attributes["z_dim"] == 8
    assert G_ema.module_src.splitlines()[0] == Path(__file__).read_text().splitlines()[0]
    assert G_ema.get_submodule("") is G_ema
    with pytest.raises(AttributeError, match="L9"):
        G_ema.get_submodule("synthesis.L9")


def test_missing_optional_entries_default_to_none(tmp_path):
    g = tiny_generator()
    path = tmp_path / "only_g_ema.pkl"
    dump_nvidia_style(path, {"G_ema": g})

    data = read_nvidia_pickle(path)

    assert data["training_set_kwargs"] is None and data["augment_pipe"] is None
    assert_same_state_dict(data["G_ema"].state_dict(), g)


def test_module_source_is_kept_but_never_run(tmp_path):
    marker = tmp_path / "source-ran"
    source = f"# networks.py\nopen({str(marker)!r}, 'w').close()\nraise SystemExit('ran')\n"
    path = tmp_path / "g.pkl"
    write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS, module_src=source)

    G_ema = read_nvidia_pickle(path)["G_ema"]

    assert G_ema.module_src == source
    assert not marker.exists()


@pytest.mark.parametrize(("override", "expect"), [({"version": 5}, "version 5"), ({"type": "function"}, "'function'")])
def test_persistence_format_is_checked(tmp_path, override, expect):
    path = tmp_path / "odd.pkl"
    write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS, meta_overrides=override)
    with pytest.raises(ModelLoadError, match=expect) as e:
        read_nvidia_pickle(path)
    assert "odd.pkl" in str(e.value)


def test_old_tensorflow_pickle_points_to_legacy_py(tmp_path):
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    path.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\nq\x00)\x81q\x01}q\x02b\x85q\x03.")
    with pytest.raises(ModelLoadError) as e:
        read_nvidia_pickle(path)
    msg = str(e.value)
    assert path.name in msg and "TensorFlow" in msg and "legacy.py" in msg


def test_numpy_object_arrays_are_refused(tmp_path):
    path = tmp_path / "objects.pkl"
    objects = np.array([1, "a"], dtype=object)
    write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS, extra={"training_set_kwargs": {"x": objects}})
    with pytest.raises(ModelLoadError, match="object") as e:
        read_nvidia_pickle(path)
    assert "objects.pkl" in str(e.value)


def test_tensor_larger_than_its_storage_is_refused(tmp_path):
    blob = torch.arange(4.0)._typed_storage().__reduce__()[1][0]
    storage = _Call(torch.storage._load_from_bytes, blob)
    tensor = _Call(torch._utils._rebuild_tensor_v2, storage, 0, (1000,), (1,), False, collections.OrderedDict())
    path = tmp_path / "oversized.pkl"
    write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS, extra={"augment_pipe": tensor})
    with pytest.raises(ModelLoadError, match=r"oversized\.pkl.*shape \[1000\].*storage of 4"):
        read_nvidia_pickle(path)


# A "void" dtype whose state flags its items as Python object pointers: numpy would then dereference the
# array's bytes (here 0x4141...) as objects. numpy's dtype.__setstate__ accepts such flags.
_POINTER_DTYPE = _Built(np.dtype, ("V8", False, True), (3, "|", None, None, None, 8, 1, 0x3F))


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (
            _Built(
                np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), _POINTER_DTYPE, False, b"A" * 8)
            ),
            "flags 0x3f",
        ),
        (_Built(set, ([1],), {"x": 1}), "sets the state of a set"),
        (_Call(np._core.multiarray._reconstruct, np.ndarray, (10**9,), b"b"), "shape (1000000000,)"),
        (_Call(bytearray, 10**9), "bytes or bytearray of int"),
        (_Call(bytes, 10**9), "bytes or bytearray of int"),
    ],
)
def test_crafted_content_is_refused(tmp_path, content, expect):
    path = tmp_path / "crafted.pkl"
    write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS, extra={"training_set_kwargs": {"x": content}})
    with pytest.raises(ModelLoadError) as e:
        read_nvidia_pickle(path)
    assert "crafted.pkl" in str(e.value) and expect in str(e.value), str(e.value)


# --------------------------------------------------------------------------------------------------------------
# Files that would run code


EVIL_PACKAGE = {"mypkg/__init__.py": "", "mypkg/evil.py": "def Thing(path):\n    open(path, 'w').close()\n"}


def _payload(kind: str, marker: Path, evil_thing=None) -> tuple[_Call, str]:
    """A payload that creates ``marker`` when unpickled, and the global a safe reader must name."""
    code = f"open({str(marker)!r}, 'w').close()"
    if kind == "os.system":
        return _Call(os.system, f"touch {shlex.quote(str(marker))}"), f"{os.system.__module__}.system"
    if kind == "eval":
        return _Call(builtins.eval, code), "builtins.eval"
    if kind == "exec":
        return _Call(builtins.exec, code), "builtins.exec"
    if kind == "getattr":
        # importlib.import_module, not builtins.__import__: PySide6 (loaded by pytest-qt) replaces the latter with
        # a function that pickles under another name, which a fresh interpreter cannot find
        system = _Call(getattr, _Call(importlib.import_module, "os"), "system")
        return _Call(system, f"touch {shlex.quote(str(marker))}"), "builtins.getattr"
    if kind == "unknown":
        return _Call(evil_thing, str(marker)), "mypkg.evil.Thing"
    raise ValueError(kind)


def _write_payload(container: str, path: Path, payload: _Call) -> None:
    if container == "pkl":
        with path.open("wb") as f:
            pickle.dump({"G_ema": payload}, f, protocol=4)
    else:
        torch.save({"g_ema": {}, "args": payload}, path, _use_new_zipfile_serialization=container == "pt")


_SIMPLE = [
    (kind, container)
    for kind in ("os.system", "eval", "exec", "getattr", "unknown")
    for container in ("pkl", "pt", "pth")
]
CASES = [f"{kind}-{container}" for kind, container in _SIMPLE] + [
    "nvidia-training_set_kwargs",
    "nvidia-module-state",
    "nvidia-storage-blob",
]


@dataclass
class Case:
    path: Path
    marker: Path
    refused: str
    would_run: bool = False


_UNSAFE_LOADER = textwrap.dedent(
    """
    import pickle, sys, torch

    class Permissive(pickle.Unpickler):  # NVIDIA's classes stubbed, everything else resolved as pickle does
        def find_class(self, module, name):
            if module == "torch_utils.persistence":
                return lambda meta: meta
            if module == "dnnlib.util":
                return dict
            return super().find_class(module, name)

    for path in sys.argv[1:]:
        try:
            if path.endswith(".pkl"):
                with open(path, "rb") as f:
                    Permissive(f).load()
            else:
                torch.load(path, weights_only=False)
        except Exception:
            pass
    """
)


@pytest.fixture(scope="module")
def evil_package(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    for name, text in EVIL_PACKAGE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def payloads(tmp_path_factory, evil_package) -> dict[str, Case]:
    """Every payload file, and whether plain unpickling runs it (checked once, in a child process)."""
    root = tmp_path_factory.mktemp("payloads")
    sys.path.insert(0, str(evil_package))
    try:
        from mypkg.evil import Thing  # importable only while writing; unloaded again below

        cases: dict[str, Case] = {}
        for kind, container in _SIMPLE:
            case_id = f"{kind}-{container}"
            marker = root / f"pwned-{case_id}"
            payload, refused = _payload(kind, marker, Thing)
            cases[case_id] = Case(root / f"{case_id}.{container}", marker, refused)
            _write_payload(container, cases[case_id].path, payload)
    finally:
        sys.path.remove(str(evil_package))
        for name in ("mypkg.evil", "mypkg"):
            sys.modules.pop(name, None)

    g = tiny_generator()
    marker = root / "pwned-kwargs"
    payload, refused = _payload("os.system", marker)
    cases["nvidia-training_set_kwargs"] = Case(root / "kwargs.pkl", marker, refused)
    write_nvidia_pickle(root / "kwargs.pkl", g, INIT_KWARGS, extra={"training_set_kwargs": {"path": payload}})

    marker = root / "pwned-state"
    payload, refused = _payload("eval", marker)
    g.synthesis.L1.hook = payload  # a plain attribute: lands in the persistent object's state
    cases["nvidia-module-state"] = Case(root / "state.pkl", marker, refused)
    write_nvidia_pickle(root / "state.pkl", g, INIT_KWARGS)
    del g.synthesis.L1.hook

    marker = root / "pwned-blob"
    payload, refused = _payload("os.system", marker)
    blob = _Call(torch.storage._load_from_bytes, pickle.dumps(payload, protocol=2))
    tensor = _Call(torch._utils._rebuild_tensor_v2, blob, 0, (1,), (1,), False, collections.OrderedDict())
    cases["nvidia-storage-blob"] = Case(root / "blob.pkl", marker, refused)
    write_nvidia_pickle(root / "blob.pkl", g, INIT_KWARGS, extra={"augment_pipe": tensor})

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(evil_package), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", _UNSAFE_LOADER, *(str(c.path) for c in cases.values())]
    subprocess.run(cmd, env=env, cwd=root, check=True, capture_output=True, timeout=120)
    for case in cases.values():
        case.would_run = case.marker.exists()
        case.marker.unlink(missing_ok=True)
    return cases


@pytest.mark.parametrize("case_id", CASES)
def test_payloads_are_refused_and_never_run(case_id, payloads, evil_package, monkeypatch):
    case = payloads[case_id]
    assert case.would_run, "sanity: plain unpickling of this file runs its payload"
    monkeypatch.syspath_prepend(str(evil_package))  # so a reader that let mypkg.evil.Thing through would run it
    reader = read_nvidia_pickle if case.path.suffix == ".pkl" else load_torch_file
    try:
        with pytest.raises(ModelLoadError) as e:
            reader(case.path)
        msg = str(e.value)
        assert case.path.name in msg and "refusing" in msg and repr(case.refused) in msg, msg
        assert not case.marker.exists()
        assert "mypkg" not in sys.modules
    finally:
        case.marker.unlink(missing_ok=True)
        for name in ("mypkg.evil", "mypkg"):
            sys.modules.pop(name, None)


# --------------------------------------------------------------------------------------------------------------
# Damaged and unexpected files


def _nvidia_file(path: Path) -> bytes:
    return write_nvidia_pickle(path, tiny_generator(), INIT_KWARGS)


def _cut(fraction: float):
    def write(path: Path) -> None:
        data = _nvidia_file(path)
        path.write_bytes(data[: int(len(data) * fraction)])

    return write


@pytest.mark.parametrize(
    ("name", "write", "expect"),
    [
        ("empty.pkl", lambda p: p.write_bytes(b""), "is empty"),
        ("cut10.pkl", _cut(0.1), "truncated"),
        ("cut50.pkl", _cut(0.5), "truncated"),
        ("cut99.pkl", _cut(0.999), "truncated"),
        ("notes.pkl", lambda p: p.write_text("these are my notes, not a model\n" * 4), "not a pickle"),
        ("list.pkl", lambda p: p.write_bytes(pickle.dumps([1, 2, 3])), "holds a list"),
        ("no_g_ema.pkl", lambda p: dump_nvidia_style(p, {"G": tiny_generator()}), "no 'G_ema'"),
        ("plain.pkl", lambda p: p.write_bytes(pickle.dumps({"G_ema": {"w": 1}})), "'G_ema' is a dict"),
        ("model.pkl", lambda p: torch.save({"w": torch.ones(1)}, p), "PyTorch zip checkpoint"),
        ("missing.pkl", lambda p: None, "does not exist"),
        ("folder.pkl", lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_pickles(tmp_path, name, write, expect):
    path = tmp_path / name
    write(path)
    with pytest.raises(ModelLoadError) as e:
        read_nvidia_pickle(path)
    msg = str(e.value)
    assert name in msg and expect in msg and "NVIDIA" in msg, msg


def test_reads_rosinality_checkpoints(tmp_path):
    state = {"conv1.conv.weight": torch.randn(1, 4, 4, 3, 3), "input.input": torch.randn(1, 4, 4, 4)}
    args = argparse.Namespace(size=16, channel_multiplier=2, latent=8)
    for name, zip_format in (("000100.pt", True), ("old.pth", False)):
        path = tmp_path / name
        torch.save({"g_ema": state, "args": args, "ada_aug_p": 0.25}, path, _use_new_zipfile_serialization=zip_format)

        ckpt = load_torch_file(path)

        assert ckpt["args"] == args and ckpt["ada_aug_p"] == 0.25
        assert all(torch.equal(ckpt["g_ema"][k], v) for k, v in state.items())


def _torch_file(zip_format: bool, fraction: float = 1.0):
    def write(path: Path) -> None:
        torch.save({"w": torch.randn(64, 64)}, path, _use_new_zipfile_serialization=zip_format)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return write


def _safetensors(path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(path))


@pytest.mark.parametrize(
    ("name", "write", "expect"),
    [
        ("empty.pt", lambda p: p.write_bytes(b""), "is empty"),
        ("cut.pt", _torch_file(True, 0.5), "truncated"),
        ("cut.pth", _torch_file(False, 0.5), "truncated"),
        ("notes.pt", lambda p: p.write_text("not a checkpoint\n" * 4), "not a PyTorch checkpoint"),
        ("network.pth", _nvidia_file, "plain Python pickle"),
        ("weights.pth", _safetensors, "safetensors"),
        ("missing.pt", lambda p: None, "does not exist"),
        ("folder.pth", lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_bad_torch_files(tmp_path, name, write, expect):
    path = tmp_path / name
    write(path)
    with pytest.raises(ModelLoadError) as e:
        load_torch_file(path)
    msg = str(e.value)
    assert name in msg and expect in msg, msg


@pytest.mark.parametrize(
    ("write", "kind"),
    [
        (_nvidia_file, "pickle"),
        (_torch_file(True), "torch-zip"),
        (_torch_file(False), "torch-legacy"),
        (
            lambda p: torch.save({"w": torch.ones(1)}, p, _use_new_zipfile_serialization=False, pickle_protocol=4),
            "torch-legacy",
        ),
        (_safetensors, "safetensors"),
        (lambda p: p.write_text("hello"), "unknown"),
    ],
)
def test_sniff(tmp_path, write, kind):
    path = tmp_path / "model.bin"
    write(path)
    assert sniff(path) == kind


@pytest.mark.parametrize(
    ("make", "expect"), [(lambda p: p.write_bytes(b""), "is empty"), (lambda p: None, "does not exist")]
)
def test_sniff_reports_unreadable_files(tmp_path, make, expect):
    path = tmp_path / "model.pkl"
    make(path)
    with pytest.raises(ModelLoadError, match=expect):
        sniff(path)
