"""One registry for every model family: detect a checkpoint's family and hyper-parameters from its tensors,
build our own network, and load the weights from any supported file format.

Formats: NVIDIA StyleGAN2-ADA / StyleGAN3 network pickles (read by a restricted unpickler), rosinality
StyleGAN2 ``.pt`` files, plain state dicts in the NVIDIA layout, and bigart ``.safetensors`` model files.
The file name never decides anything; the tensors do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bigart.errors import ModelLoadError
from bigart.models import cyclegan, hf_biggan, rosinality
from bigart.models.biggan import BigGANConfig, BigGANGenerator
from bigart.models.modelfile import read_model_file
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from bigart.models.stylegan3 import StyleGAN3Config, StyleGAN3Generator, synthesis_geometry
from bigart.models.unpickle import PersistentObject, load_torch_file, read_nvidia_pickle, sniff

Tensor = torch.Tensor
StateDict = dict[str, Tensor]


@dataclass(frozen=True)
class Family:
    """How to recognise, configure, build and load one model family.

    ``config_from_tensors(sd, sidecar)`` reads hyper-parameters from names and shapes (``sidecar`` is a
    configuration file found beside the weights, e.g. a Hugging Face ``config.json``, or None).
    ``prepare(sd)`` fixes a published layout's quirks (extra or renamed tensors) before loading.
    ``read_folder(path)`` reads a folder holding this family's files, returning ``(sd, sidecar, format)``,
    or None when the folder is not of this family. ``derived`` matches buffers our code rebuilds itself.
    """

    name: str
    config_cls: type
    build: Callable[[Any], nn.Module]
    matches: Callable[[StateDict], bool]
    config_from_tensors: Callable[[StateDict, dict[str, Any] | None], Any]
    config_from_nvidia: Callable[[dict[str, Any]], Any] | None = None
    prepare: Callable[[StateDict], StateDict] | None = None
    read_folder: Callable[[Path], tuple[StateDict, dict[str, Any] | None, str] | None] | None = None
    sidecar: Callable[[Path], dict[str, Any] | None] | None = None
    derived: str = r"(^|\.)resample_filter$"


def _sg2_matches(sd: StateDict) -> bool:
    return "synthesis.b4.const" in sd and "mapping.fc0.weight" in sd


def _sg3_matches(sd: StateDict) -> bool:
    return "synthesis.input.freqs" in sd and "mapping.fc0.weight" in sd


def _mapping_dims(sd: StateDict) -> dict[str, Any]:
    n_layers = len([k for k in sd if re.fullmatch(r"mapping\.fc\d+\.weight", k)])
    fc0 = sd["mapping.fc0.weight"]
    w_dim = sd[f"mapping.fc{n_layers - 1}.weight"].shape[0]
    embed = sd.get("mapping.embed.weight")
    c_dim = 0 if embed is None else embed.shape[1]
    embed_features = 0 if embed is None else embed.shape[0]
    return {
        "z_dim": fc0.shape[1] - embed_features,
        "c_dim": c_dim,
        "w_dim": w_dim,
        "mapping_layers": n_layers,
        "embed_features": embed_features,
        "layer_features": fc0.shape[0],
    }


def stylegan2_config_from_tensors(sd: StateDict, sidecar: dict[str, Any] | None = None) -> StyleGAN2Config:
    """StyleGAN2 hyper-parameters from an NVIDIA-layout state dict (names and shapes only)."""
    m = _mapping_dims(sd)
    resolutions = sorted(int(k.split(".")[1][1:]) for k in sd if re.fullmatch(r"synthesis\.b\d+\.conv1\.weight", k))
    channels = {r: sd[f"synthesis.b{r}.conv1.weight"].shape[0] for r in resolutions}
    res = resolutions[-1]
    if any(k.endswith(".skip.weight") for k in sd):
        arch = "resnet"
    elif len(resolutions) > 1 and "synthesis.b4.torgb.weight" not in sd:
        arch = "orig"
    else:
        arch = "skip"
    return StyleGAN2Config(
        z_dim=m["z_dim"],
        c_dim=m["c_dim"],
        w_dim=m["w_dim"],
        img_resolution=res,
        img_channels=sd[f"synthesis.b{res}.torgb.weight"].shape[0],
        channels=channels,
        architecture=arch,
        mapping_layers=m["mapping_layers"],
        mapping_embed_features=m["embed_features"] or None,
        mapping_layer_features=m["layer_features"] if m["mapping_layers"] > 1 else None,
        use_noise="synthesis.b4.conv1.noise_strength" in sd,
        kernel_size=sd["synthesis.b4.conv1.weight"].shape[-1],
    )


def stylegan3_config_from_tensors(sd: StateDict, sidecar: dict[str, Any] | None = None) -> StyleGAN3Config:
    """StyleGAN3 hyper-parameters from names and shapes; filter-design constants take the published defaults."""
    m = _mapping_dims(sd)
    layers = sorted(
        (int(g[0]), int(g[1]), int(g[2]))
        for g in (re.fullmatch(r"synthesis\.L(\d+)_(\d+)_(\d+)\.weight", k) for k in sd)
        if g is not None
        for g in [g.groups()]
    )
    if not layers:
        raise ValueError("no synthesis.L*_*_* layers found")
    names = {idx: f"synthesis.L{idx}_{size}_{ch}" for idx, size, ch in layers}
    last = layers[-1]
    kernel = sd[f"{names[0]}.weight"].shape[-1]
    radial = any(sd[f"{n}.down_filter"].ndim == 2 for n in names.values() if f"{n}.down_filter" in sd)
    channel_max = max(ch for _, _, ch in layers)
    first_ch = sd["synthesis.input.weight"].shape[0]
    base = {
        "z_dim": m["z_dim"],
        "c_dim": m["c_dim"],
        "w_dim": m["w_dim"],
        "img_resolution": last[1],
        "img_channels": last[2],
        "mapping_layers": m["mapping_layers"],
        "channel_max": channel_max,
        "num_layers": len(layers) - 1,
        "conv_kernel": kernel,
        "use_radial_filters": radial,
    }
    # channels = rint(min((channel_base / 2) / cutoff, channel_max)): every uncapped layer gives a candidate
    # channel_base ~ 2 * ch * cutoff (cutoffs do not depend on channel_base). Accept a candidate only if it
    # rebuilds every layer's name; when all layers are capped any large base gives the same network.
    want = [n for _, n in sorted(names.items())]
    probe = [g.out_cutoff for g in synthesis_geometry(StyleGAN3Config(**base))[1]]
    candidates: list[int] = []
    for idx, _, ch in layers[:-1]:
        if ch < channel_max:
            exact = 2 * ch * probe[idx]
            candidates += [2 ** round(np.log2(exact)), round(exact)]
    candidates += [4 * first_ch, 32768, 65536, 16384, 8192, 131072]
    for channel_base in dict.fromkeys(candidates):
        cfg = StyleGAN3Config(channel_base=channel_base, **base)
        if [f"synthesis.{g.name}" for g in synthesis_geometry(cfg)[1]] == want:
            return cfg
    raise ValueError(
        "a StyleGAN3 state dict whose layer sizes do not follow the default filter design; "
        "load the NVIDIA pickle or a bigart .safetensors file, which carry the configuration"
    )


FAMILIES: dict[str, Family] = {
    "stylegan2": Family(
        "stylegan2",
        StyleGAN2Config,
        StyleGAN2Generator,
        _sg2_matches,
        stylegan2_config_from_tensors,
        config_from_nvidia=StyleGAN2Config.from_nvidia_kwargs,
    ),
    "stylegan3": Family(
        "stylegan3",
        StyleGAN3Config,
        StyleGAN3Generator,
        _sg3_matches,
        stylegan3_config_from_tensors,
        config_from_nvidia=StyleGAN3Config.from_nvidia_kwargs,
    ),
    "biggan": Family(
        "biggan",
        BigGANConfig,
        BigGANGenerator,
        hf_biggan.is_biggan,
        hf_biggan.config_from_tensors,
        prepare=hf_biggan.prepare,
        read_folder=hf_biggan.read_folder,
        sidecar=hf_biggan.sidecar,
    ),
    "cyclegan": Family(
        "cyclegan",
        cyclegan.CycleGANConfig,
        cyclegan.CycleGANModel,
        cyclegan.is_cyclegan,
        cyclegan.config_from_tensors,
        prepare=cyclegan.prepare,
        read_folder=cyclegan.read_folder,
        derived=r"(^|\.)num_batches_tracked$",
    ),
}


@dataclass
class LoadedModel:
    """A generator ready to run, with what we know about where it came from."""

    family: str
    generator: nn.Module
    config: Any
    path: Path
    sha256: str
    source_format: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.generator.parameters())

    def info(self) -> dict[str, Any]:
        """A JSON-safe summary for ``bigart inspect``: common fields, then the family's own (``generator.info()``)."""
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "format": self.source_format,
            "family": self.family,
            **self.generator.info(),
            "params": self.num_params,
            "config": self.config.to_dict(),
            "license": self.meta.get("license"),
            "default_psi": self.meta.get("default_psi"),
            "provenance": self.meta.get("provenance"),
            "notes": self.meta.get("notes", []),
        }

    def header(self) -> dict[str, Any]:
        """The bigart model-file header describing this model (for ``convert``)."""
        prov = self.meta.get("provenance") or {
            "source": self.path.name,
            "sha256": self.sha256,
            "format": self.source_format,
        }
        return {
            "family": self.family,
            "config": self.config.to_dict(),
            "provenance": prov,
            "license": self.meta.get("license", "unknown: the license of the source checkpoint applies"),
            "default_psi": self.meta.get("default_psi", None if self.family == "cyclegan" else 0.7),
            "default_cutoff": self.meta.get("default_cutoff"),
            "class_names": self.meta.get("class_names"),
            "notes": self.meta.get("notes", []),
        }


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def detect(sd: StateDict, sidecar: dict[str, Any] | None = None) -> tuple[str, Any]:
    """Family name and hyper-parameters of a state dict (after the family's ``prepare``), from names and shapes."""
    family, config, _ = _detect_prepared(sd, sidecar)
    return family, config


def _detect_prepared(sd: StateDict, sidecar: dict[str, Any] | None) -> tuple[str, Any, StateDict]:
    for fam in FAMILIES.values():
        if fam.matches(sd):
            prepared = fam.prepare(sd) if fam.prepare else sd
            return fam.name, fam.config_from_tensors(prepared, sidecar), prepared
    raise ValueError(
        "unknown architecture: expected the tensors of a generator bigart knows ("
        + ", ".join(FAMILIES)
        + "), e.g. StyleGAN2 (synthesis.b4.const), StyleGAN3 (synthesis.input.freqs) "
        "or rosinality StyleGAN2 (input.input)"
    )


def build_and_load(family: str, config: Any, sd: StateDict, path: Path) -> nn.Module:
    """Build our network for ``config`` and load ``sd`` into it, naming any missing, extra or misshaped tensor."""
    fam = FAMILIES[family]
    net = fam.build(config)
    own = net.state_dict()
    derived = re.compile(fam.derived)
    missing = [k for k in own if k not in sd and not derived.search(k)]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (first: {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensors (first: {', '.join(unexpected[:3])})")
        raise ModelLoadError(f"{path}: does not match a {family} generator: {'; '.join(parts)}")
    for k, v in sd.items():
        if tuple(own[k].shape) != tuple(v.shape):
            raise ModelLoadError(
                f"{path}: tensor {k} has shape {list(v.shape)}, expected {list(own[k].shape)} for a {family} generator"
            )
        if not v.is_floating_point() and own[k].is_floating_point():
            raise ModelLoadError(f"{path}: tensor {k} has dtype {v.dtype}, expected floating point")
    with torch.no_grad():
        for k, v in own.items():
            if k in sd:
                v.copy_(sd[k].to(v.dtype))
    return net.eval().requires_grad_(False)


def _estimate_w_avg(g: nn.Module, n: int = 4096, seed: int = 0) -> None:
    """Average w of ``n`` z drawn with a fixed seed (for checkpoints that store no average)."""
    z = torch.from_numpy(np.random.RandomState(seed).randn(n, g.z_dim).astype(np.float32))
    c = None
    if g.c_dim:
        c = torch.zeros([n, g.c_dim])
        c[torch.arange(n), torch.from_numpy(np.random.RandomState(seed + 1).randint(0, g.c_dim, n))] = 1
    with torch.no_grad():
        g.mapping.w_avg.copy_(g.mapping(z, c)[:, 0].mean(0))


def _from_state_dict(
    sd: Any, path: Path, what: str, sidecar: dict[str, Any] | None = None
) -> tuple[str, Any, StateDict]:
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ModelLoadError(f"{path}: {what} is not a dict of tensors")
    try:
        return _detect_prepared(sd, sidecar)
    except ValueError as e:
        raise ModelLoadError(f"{path}: {e}") from e


def _sidecar(path: Path) -> dict[str, Any] | None:
    for fam in FAMILIES.values():
        if fam.sidecar is not None and (found := fam.sidecar(path)) is not None:
            return found
    return None


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load any supported generator file; raises ModelLoadError with a message naming the file on any problem."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file")
    meta: dict[str, Any] = {}
    estimate_w_avg = False
    if path.is_dir():
        return _load_folder(path, device)
    kind = sniff(path)
    sha = file_sha256(path)
    try:
        if kind == "safetensors":
            tensors, header = read_model_file(path)
            if header.get("family") in FAMILIES:
                family = header["family"]
                config = FAMILIES[family].config_cls.from_dict(header["config"])
                sd = tensors
                meta = {
                    k: header.get(k) for k in ("provenance", "license", "default_psi", "default_cutoff", "class_names")
                }
                meta["notes"] = header.get("notes", [])
                fmt = "bigart"
            elif header:
                raise ModelLoadError(f"{path}: unknown model family {header.get('family')!r} in the bigart header")
            else:
                family, config, sd = _from_state_dict(tensors, path, "the file")
                fmt = "safetensors state dict"
        elif kind == "pickle":
            data = read_nvidia_pickle(path)
            g = data.get("G_ema")
            if not isinstance(g, PersistentObject):
                keys = ", ".join(map(str, list(data)[:6]))
                raise ModelLoadError(
                    f"{path}: expected an NVIDIA network pickle with a 'G_ema' network, found keys: {keys}"
                )
            sd = g.state_dict()
            family, config, sd = _from_state_dict(sd, path, "G_ema")
            kw = g.init_kwargs
            if kw and FAMILIES[family].config_from_nvidia is not None:
                try:
                    config = FAMILIES[family].config_from_nvidia(dict(kw))
                except (KeyError, TypeError, ValueError) as e:
                    raise ModelLoadError(
                        f"{path}: G_ema's constructor arguments are not a {family} generator's ({e})"
                    ) from e
            fmt = "nvidia-pickle"
        elif kind in ("torch-zip", "torch-legacy"):
            obj = load_torch_file(path)
            if isinstance(obj, dict) and "g_ema" in obj:
                g_sd = obj["g_ema"]
                if not isinstance(g_sd, dict) or not rosinality.is_rosinality(g_sd):
                    raise ModelLoadError(f"{path}: 'g_ema' is not a rosinality StyleGAN2 generator state dict")
                latent_avg = obj.get("latent_avg")
                sd = rosinality.convert_rosinality(g_sd, latent_avg)
                config = rosinality.config_from_rosinality(g_sd)
                family = "stylegan2"
                estimate_w_avg = latent_avg is None
                if estimate_w_avg:
                    meta["notes"] = ["no latent_avg in the file: w_avg estimated from 4096 samples (seed 0)"]
                fmt = "rosinality"
            elif isinstance(obj, dict) and rosinality.is_rosinality(obj):
                sd, config, family = (
                    rosinality.convert_rosinality(obj, None),
                    rosinality.config_from_rosinality(obj),
                    "stylegan2",
                )
                estimate_w_avg = True
                meta["notes"] = ["no latent_avg in the file: w_avg estimated from 4096 samples (seed 0)"]
                fmt = "rosinality"
            else:
                family, config, sd = _from_state_dict(obj, path, "the checkpoint", _sidecar(path))
                fmt = "torch state dict"
        else:
            raise ModelLoadError(
                f"{path}: not a model file bigart knows: expected an NVIDIA .pkl, "
                "a PyTorch .pt/.pth or a .safetensors file"
            )
        net = build_and_load(family, config, sd, path)
    except ModelLoadError:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise ModelLoadError(f"{path}: damaged or unsupported {kind} checkpoint ({type(e).__name__}: {e})") from e
    if estimate_w_avg:
        _estimate_w_avg(net)
    meta.setdefault("provenance", {"source": path.name, "sha256": sha, "format": fmt})
    return LoadedModel(family, net.to(device), config, path, sha, fmt, meta)


def _load_folder(path: Path, device: str | torch.device) -> LoadedModel:
    """A folder of published files (e.g. ``config.json`` + ``pytorch_model.bin``, or a CycleGAN pair)."""
    for fam in FAMILIES.values():
        if fam.read_folder is None:
            continue
        try:
            found = fam.read_folder(path)
            if found is None:
                continue
            sd, sidecar, fmt = found
            sd = fam.prepare(sd) if fam.prepare else sd
            config = fam.config_from_tensors(sd, sidecar)
        except ModelLoadError:
            raise
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ModelLoadError(f"{path}: damaged or unsupported {fam.name} folder ({type(e).__name__}: {e})") from e
        net = build_and_load(fam.name, config, sd, path)
        h = hashlib.sha256()
        for f in sorted(p for p in path.iterdir() if p.is_file()):
            h.update(f.name.encode() + b"\0" + file_sha256(f).encode())
        sha = h.hexdigest()
        meta = {"provenance": {"source": path.name, "sha256": sha, "format": fmt}}
        return LoadedModel(fam.name, net.to(device), config, path, sha, fmt, meta)
    raise ModelLoadError(
        f"{path}: is a folder bigart cannot read; expected a model file (.pkl, .pt, .pth, .safetensors) "
        "or a folder of published files"
    )
