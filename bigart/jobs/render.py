"""Render a set of seeds or saved latents with a StyleGAN or BigGAN generator to PNGs carrying their recipes.

``bigart render`` runs this; it writes ``seed0000.png`` ... (or ``latent0000.png`` ...) like the reference
``gen_images.py``, each with its recipe in the PNG's ``bigart`` text chunk, and with ``npy`` the float32
CHW output beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bigart import __version__
from bigart.engine.engine import Engine
from bigart.engine.images import save_npy, save_png, to_uint8
from bigart.errors import BigartError
from bigart.jobs.progress import Progress
from bigart.latent import ClassIndex, imagenet_classes, parse_class_mixture, truncate, z_from_seeds
from bigart.latent.biggan import truncated_z_from_seeds
from bigart.models import LoadedModel, load_model

NOISE_MODES = ("const", "random", "none")
RENDERABLE = ("stylegan2", "stylegan3", "biggan")


@dataclass
class RenderSpec:
    model: str
    out: str
    seeds: list[int] | None = None
    latents: str | None = None
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    class_spec: str | None = None
    device: str = "cpu"
    npy: bool = False
    batch_size: int = 4
    backend: str = "torch"


@dataclass
class _Item:
    name: str
    z: np.ndarray | None
    ws: np.ndarray | None
    c: np.ndarray | None
    recipe: dict[str, Any]


def _num_classes(model: LoadedModel) -> int:
    g = model.generator
    return g.num_classes if model.family == "biggan" else g.c_dim


def _class_index(model: LoadedModel) -> ClassIndex:
    n = _num_classes(model)
    names = model.meta.get("class_names")
    if names and len(names) == n:
        return ClassIndex.from_json([{"index": i, "names": [str(name)]} for i, name in enumerate(names)])
    return imagenet_classes() if model.family == "biggan" and n == 1000 else ClassIndex.numbered(n)


def _class_vector(model: LoadedModel, class_spec: str | None, n: int) -> np.ndarray | None:
    """Class weights ``[n, num_classes]`` from ``--class`` (an index, a name or a mixture ``a:0.7,b:0.3``)."""
    num = _num_classes(model)
    if num == 0:
        if class_spec is not None:
            raise BigartError(f"{model.path.name} is not class-conditional: --class does not apply")
        return None
    if class_spec is None:
        hint = "an ImageNet class name or index" if model.family == "biggan" else f"N with N in 0..{num - 1}"
        raise BigartError(f"{model.path.name} is class-conditional: pass --class ({hint}, or a mixture a:0.7,b:0.3)")
    try:
        weights = parse_class_mixture(str(class_spec), _class_index(model))
    except ValueError as e:
        raise BigartError(f"--class: {e}") from e
    return np.repeat(weights[None], n, axis=0)


def _class_recipe(c: np.ndarray | None) -> dict[str, float] | None:
    return None if c is None else {str(i): float(c[i]) for i in np.flatnonzero(c)}


def _load_latents(path: str, model: LoadedModel) -> dict[str, np.ndarray]:
    g = model.generator
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: np.asarray(f[k]) for k in f.files}
    except (OSError, ValueError) as e:
        raise BigartError(f"{path}: not a readable .npz latents file ({e})") from e
    if "z" in data:
        z = data["z"]
        c_dim = _num_classes(model)
        if z.ndim != 2 or z.shape[1] != g.z_dim:
            raise BigartError(f"{path}: 'z' must be [N, {g.z_dim}], got {list(z.shape)}")
        out = {"z": z.astype(np.float32)}
        if "c" in data:
            c = data["c"]
            if c.ndim != 2 or c.shape != (z.shape[0], c_dim):
                raise BigartError(f"{path}: 'c' must be [{z.shape[0]}, {c_dim}], got {list(c.shape)}")
            out["c"] = c.astype(np.float32)
        return out
    for key in ("ws", "w"):
        if key in data and model.family == "biggan":
            raise BigartError(
                f"{path}: BigGAN has no w space: give 'z' [N, {g.z_dim}] (and 'c' [N, {_num_classes(model)}])"
            )
        if key in data:
            w = data[key].astype(np.float32)
            if w.ndim == 2 and w.shape[1] == g.w_dim:
                w = np.repeat(w[:, None], g.num_ws, axis=1)
            if w.ndim != 3 or w.shape[1:] != (g.num_ws, g.w_dim):
                raise BigartError(
                    f"{path}: '{key}' must be [N, {g.w_dim}] or [N, {g.num_ws}, {g.w_dim}], got {list(data[key].shape)}"
                )
            return {"ws": w}
    raise BigartError(f"{path}: expected an array named 'z', 'w' or 'ws', found {sorted(data)}")


def _items(spec: RenderSpec, model: LoadedModel) -> list[_Item]:
    g = model.generator
    base = {
        "bigart": __version__,
        "model": {"sha256": model.sha256, "file": model.path.name, "family": model.family},
        "psi": spec.psi,
        "cutoff": spec.cutoff,
        "noise_mode": None if model.family == "biggan" else spec.noise_mode,
        "device": spec.device,
    }
    if spec.latents is None:
        seeds = spec.seeds or []
        if model.family == "biggan":
            # BigGAN's truncation also truncates the noise: t * truncnorm(-2, 2), as truncated_noise_sample draws it
            zs = truncated_z_from_seeds(seeds, g.z_dim, spec.psi)
        else:
            zs = z_from_seeds(seeds, g.z_dim)
        cs = _class_vector(model, spec.class_spec, len(seeds))
        items = []
        for i, s in enumerate(seeds):
            c = None if cs is None else cs[i]
            recipe = {**base, "seed": s, "class": spec.class_spec, "class_weights": _class_recipe(c)}
            items.append(_Item(f"seed{s:04d}", zs[i], None, c, recipe))
        return items
    lat = _load_latents(spec.latents, model)
    n = len(lat.get("z", lat.get("ws")))
    cs = lat.get("c")
    if cs is None and "z" in lat:
        cs = _class_vector(model, spec.class_spec, n)
    items = []
    for i in range(n):
        r = {**base, "latents_file": Path(spec.latents).name, "index": i}
        if "z" in lat:
            r["z"] = lat["z"][i].tolist()
            if cs is not None:
                r["c"] = cs[i].tolist()
            items.append(_Item(f"latent{i:04d}", lat["z"][i], None, None if cs is None else cs[i], r))
        else:
            r["ws"] = lat["ws"][i].tolist()
            items.append(_Item(f"latent{i:04d}", None, lat["ws"][i], None, r))
    return items


def _synthesize(engine: Engine, batch: list[_Item], spec: RenderSpec) -> np.ndarray:
    if engine.model.family == "biggan":
        return engine.biggan(np.stack([it.z for it in batch]), np.stack([it.c for it in batch]), spec.psi)
    if batch[0].z is not None:
        c = None if batch[0].c is None else np.stack([it.c for it in batch])
        ws = engine.map(np.stack([it.z for it in batch]), c, psi=spec.psi, cutoff=spec.cutoff)
    else:
        w_avg = engine.g.mapping.w_avg.detach().cpu().numpy()
        ws = truncate(np.stack([it.ws for it in batch]), w_avg, spec.psi, spec.cutoff)
    return engine.synthesize(ws, noise_mode=spec.noise_mode)


def run(spec: RenderSpec, progress: Progress | None = None) -> list[Path]:
    """Render every seed or latent of ``spec`` into ``spec.out``; returns the PNG paths written."""
    progress = progress or Progress()
    if spec.noise_mode not in NOISE_MODES:
        raise BigartError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {spec.noise_mode!r}")
    if (spec.seeds is None) == (spec.latents is None):
        raise BigartError("give either seeds or a latents file")
    model = load_model(spec.model)  # on the CPU; the engine moves it where it runs
    if model.family not in RENDERABLE:
        raise BigartError(f"{model.path.name} is a {model.family} model: use 'bigart translate' for image translation")
    if model.family == "biggan":
        if spec.cutoff is not None:
            raise BigartError("--cutoff applies to StyleGAN models; BigGAN's truncation is --psi alone")
        if not 0 < spec.psi <= 1:
            raise BigartError(f"BigGAN's truncation (--psi) must be in (0, 1], got {spec.psi}")
    elif spec.cutoff is not None and not 0 <= spec.cutoff <= model.generator.num_ws:
        raise BigartError(f"--cutoff must be in 0..{model.generator.num_ws} for this model, got {spec.cutoff}")
    engine = Engine(model, spec.backend, spec.device)
    items = _items(spec, model)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    progress.start(len(items), "render")
    try:
        for i in range(0, len(items), max(1, spec.batch_size)):
            progress.check_aborted()
            batch = items[i : i + max(1, spec.batch_size)]
            imgs = _synthesize(engine, batch, spec)
            pixels = to_uint8(imgs)
            for it, img, px in zip(batch, imgs, pixels, strict=True):
                png = out / f"{it.name}.png"
                save_png(png, px, {**it.recipe, "backend": engine.backend, "provider": engine.provider})
                if spec.npy:
                    save_npy(out / f"{it.name}.npy", img)
                written.append(png)
            progress.advance(len(batch))
    finally:
        progress.close()
    return written
