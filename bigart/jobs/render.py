"""Render seeds, saved latents or a recipe with a StyleGAN or BigGAN generator to PNGs carrying their recipes.

``bigart render`` runs this; it writes ``seed0000.png`` ... (or ``latent0000.png`` ...) like the reference
``gen_images.py``, each with the recipe of that one image in the PNG's ``bigart`` text chunk (and with ``npy`` the
float32 CHW output beside it). Style mixing (``mix``: ``SEED@LAYERS``) and direction offsets (``directions``:
``FILE.npz:IDX=AMOUNT``) apply to every image; ``recipe`` re-renders a PNG or JSON recipe exactly.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bigart.engine.engine import Engine
from bigart.engine.images import save_npy, save_png, to_uint8
from bigart.engine.recipe import ModelRef, Recipe, RecipeError, load_recipe, read_recipe_data
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.errors import BigartError
from bigart.jobs.progress import Progress
from bigart.latent import ClassIndex, Directions, imagenet_classes, parse_class_mixture
from bigart.latent.files import load_latents
from bigart.latent.mixing import parse_layers, preset_layers
from bigart.models import LoadedModel, load_model

log = logging.getLogger(__name__)

NOISE_MODES = ("const", "random", "none")
RENDERABLE = ("stylegan2", "stylegan3", "biggan")
_DIRECTION = re.compile(r"^(?P<file>.+?):(?P<edits>[^:=,]+=[^,]+(?:,[^:=,]+=[^,]+)*)$")


@dataclass
class RenderSpec:
    model: str | None
    out: str
    seeds: list[int] | None = None
    latents: str | None = None
    recipe: str | None = None
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    class_spec: str | None = None
    directions: list[str] = field(default_factory=list)
    mix: list[str] = field(default_factory=list)
    device: str = "cpu"
    npy: bool = False
    batch_size: int = 4
    backend: str | None = None  # None: torch, or the recipe's backend


def num_classes(model: LoadedModel) -> int:
    g = model.generator
    return g.num_classes if model.family == "biggan" else g.c_dim


def class_index(model: LoadedModel) -> ClassIndex:
    """The model's class names (its file's, ImageNet's for a 1000-class BigGAN, else numbers)."""
    n = num_classes(model)
    names = model.meta.get("class_names")
    if names and len(names) == n:
        return ClassIndex.from_json([{"index": i, "names": [str(name)]} for i, name in enumerate(names)])
    return imagenet_classes() if model.family == "biggan" and n == 1000 else ClassIndex.numbered(n)


def class_weights(model: LoadedModel, class_spec: str | None) -> tuple[tuple[int, float], ...]:
    """Sparse class weights from ``--class`` (an index, a name or a mixture ``a:0.7,b:0.3``)."""
    num = num_classes(model)
    if num == 0:
        if class_spec is not None:
            raise BigartError(f"{model.path.name} is not class-conditional: --class does not apply")
        return ()
    if class_spec is None:
        hint = "an ImageNet class name or index" if model.family == "biggan" else f"N with N in 0..{num - 1}"
        raise BigartError(f"{model.path.name} is class-conditional: pass --class ({hint}, or a mixture a:0.7,b:0.3)")
    try:
        weights = parse_class_mixture(str(class_spec), class_index(model))
    except ValueError as e:
        raise BigartError(f"--class: {e}") from e
    return tuple((int(i), float(weights[i])) for i in np.flatnonzero(weights))


def parse_directions(specs: list[str], model: LoadedModel) -> tuple[tuple[FrozenArray, float], ...]:
    """``FILE.npz:IDX=AMOUNT[,IDX=AMOUNT...]`` (IDX a position or a name) -> the request's direction offsets."""
    return tuple((vector, value) for _, vector, value in named_directions(specs, model))


def named_directions(specs: list[str], model: LoadedModel) -> list[tuple[str, FrozenArray, float]]:
    """:func:`parse_directions` with each direction's name (as the file names it), for recipes and the app."""
    g = model.generator
    space = "z" if model.family == "biggan" else "w"
    out = []
    for text in specs:
        m = _DIRECTION.match(text.strip())
        if not m:
            raise BigartError(f"--direction {text!r}: expected FILE.npz:IDX=AMOUNT (e.g. dirs.npz:0=2.5,3=-1)")
        dirs = Directions.load(m.group("file"))
        if dirs.space != space:
            raise BigartError(
                f"{m.group('file')}: directions in {dirs.space}, but this {model.family} model edits {space}"
            )
        dim = g.z_dim if space == "z" else g.w_dim
        if dirs.dim != dim:
            raise BigartError(f"{m.group('file')}: directions of size {dirs.dim}, this model's {space} has {dim}")
        if dirs.model_sha256 and dirs.model_sha256 != model.sha256:
            log.warning("%s was computed for another model (sha256 %s)", m.group("file"), dirs.model_sha256[:12])
        for edit in m.group("edits").split(","):
            key, _, amount = edit.partition("=")
            key = key.strip()
            try:
                value = float(amount)
                index = dirs.index(int(key) if key.lstrip("-").isdigit() else key)
                vector = dirs.layered(index, None if space == "z" else g.num_ws)
            except (ValueError, IndexError, KeyError) as e:
                raise BigartError(f"--direction {text!r}: {e}") from e
            out.append((dirs.names[index], FrozenArray.of(vector), value))
    return out


def parse_mix(specs: list[str], model: LoadedModel) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``SEED@LAYERS`` (layers ``0-3,8`` or coarse/middle/fine), one per source -> ``(mix_seeds, mixing)``."""
    if not specs:
        return (), ()
    if model.family not in ("stylegan2", "stylegan3"):
        raise BigartError(f"--mix is style mixing for StyleGAN; {model.path.name} is a {model.family} model")
    num_ws = model.generator.num_ws
    sources = [0] * num_ws
    seeds = []
    for k, text in enumerate(specs, start=1):
        seed, sep, layers = text.partition("@")
        try:
            if not sep or not seed.strip().isdigit():
                raise ValueError("expected SEED@LAYERS, e.g. 42@0-3 or 42@fine")
            name = layers.strip()
            chosen = preset_layers(name, num_ws, model.family) if name in ("coarse", "middle", "fine") else None
            chosen = chosen if chosen is not None else parse_layers(name, num_ws)
        except ValueError as e:
            raise BigartError(f"--mix {text!r}: {e}") from e
        seeds.append(int(seed))
        for layer in chosen:
            sources[layer] = k
    return tuple(seeds), tuple(sources)


def _check(spec: RenderSpec, model: LoadedModel) -> None:
    if model.family not in RENDERABLE:
        raise BigartError(f"{model.path.name} is a {model.family} model: use 'bigart translate' for image translation")
    if spec.noise_mode not in NOISE_MODES:
        raise BigartError(f"noise mode must be one of {', '.join(NOISE_MODES)}, got {spec.noise_mode!r}")
    if model.family == "biggan":
        if spec.cutoff is not None:
            raise BigartError("--cutoff applies to StyleGAN models; BigGAN's truncation is --psi alone")
        if not 0 < spec.psi <= 1:
            raise BigartError(f"BigGAN's truncation (--psi) must be in (0, 1], got {spec.psi}")
    elif spec.cutoff is not None and not 0 <= spec.cutoff <= model.generator.num_ws:
        raise BigartError(f"--cutoff must be in 0..{model.generator.num_ws} for this model, got {spec.cutoff}")


def plan(spec: RenderSpec, model: LoadedModel) -> list[tuple[str, RenderRequest]]:
    """``(file stem, request)`` batches: one request per batch of seeds or latent rows."""
    _check(spec, model)
    g = model.generator
    mix_seeds, mixing = parse_mix(spec.mix, model)
    common = {
        "psi": spec.psi,
        "cutoff": spec.cutoff,
        "noise_mode": spec.noise_mode,
        "directions": parse_directions(spec.directions, model),
        "mix_seeds": mix_seeds,
        "mixing": mixing,
    }
    size = max(1, spec.batch_size)
    if spec.latents is None:
        seeds = list(spec.seeds or [])
        cw = class_weights(model, spec.class_spec)
        return [
            (f"seed{seeds[i]:04d}", RenderRequest(seeds=tuple(seeds[i : i + size]), class_weights=cw, **common))
            for i in range(0, len(seeds), size)
        ]
    if model.family == "biggan":
        lat = load_latents(spec.latents, z_dim=g.z_dim, c_dim=num_classes(model))
        if lat.z is None:
            raise BigartError(f"{Path(spec.latents).name}: BigGAN has no w space: give 'z' [N, {g.z_dim}] (and 'c')")
    else:
        lat = load_latents(spec.latents, g.z_dim, g.w_dim, g.num_ws, num_classes(model))
    out = []
    if lat.c is not None:  # a class vector per row: one request each
        for i in range(len(lat)):
            cw = tuple((int(j), float(lat.c[i, j])) for j in np.flatnonzero(lat.c[i]))
            req = RenderRequest(z=FrozenArray.of(lat.z[i : i + 1]), class_weights=cw, **common)
            out.append((f"latent{i:04d}", req))
        return out
    cw = class_weights(model, spec.class_spec) if lat.z is not None else ()
    for i in range(0, len(lat), size):
        if lat.z is not None:
            req = RenderRequest(z=FrozenArray.of(lat.z[i : i + size]), class_weights=cw, **common)
        else:
            req = RenderRequest(ws=FrozenArray.of(lat.ws[i : i + size]), **common)
        out.append((f"latent{i:04d}", req))
    return out


def split(request: RenderRequest) -> list[RenderRequest]:
    """The one-image requests a batch request is made of (what each image's recipe holds)."""
    if request.seeds:
        return [replace(request, seeds=(s,)) for s in request.seeds]
    if request.z is not None:
        return [replace(request, z=FrozenArray.of(row[None])) for row in request.z.numpy()]
    if request.ws is not None:
        return [replace(request, ws=FrozenArray.of(row[None])) for row in request.ws.numpy()]
    return [request]


def _names(stem: str, request: RenderRequest) -> list[str]:
    if request.seeds:
        return [f"seed{s:04d}" for s in request.seeds]
    start = int(stem.removeprefix("latent"))
    return [f"latent{start + i:04d}" for i in range(request.batch)]


def model_for_recipe(recipe: Recipe, model_path: str | None) -> LoadedModel:
    """The model a recipe names: ``model_path`` if given, else the path it records; refused if the hash differs."""
    path = model_path or recipe.model.path
    if not path or not Path(path).exists():
        raise RecipeError(
            f"this recipe needs model {recipe.model.file or '?'} (sha256 {recipe.model.sha256[:12]}...): "
            f"pass --model FILE"
        )
    model = load_model(path)
    if model.sha256 != recipe.model.sha256:
        raise RecipeError(
            f"{Path(path).name} is not the recipe's model: sha256 {model.sha256[:12]}... "
            f"!= {recipe.model.sha256[:12]}... ({recipe.model.file})"
        )
    return model


def run(spec: RenderSpec, progress: Progress | None = None) -> list[Path]:
    """Render every seed, latent or the recipe of ``spec`` into ``spec.out``; returns the PNG paths written."""
    progress = progress or Progress()
    given = [name for name in ("seeds", "latents", "recipe") if getattr(spec, name) is not None]
    if len(given) != 1:
        raise BigartError("give one of seeds, a latents file or a recipe")
    out = Path(spec.out)
    if spec.recipe is not None:
        data = read_recipe_data(spec.recipe)
        if "image" in (data.get("request") or {}):
            raise BigartError(f"{Path(spec.recipe).name} is a translation recipe: use 'bigart translate --recipe'")
        source = load_recipe(spec.recipe)
        model = model_for_recipe(source, spec.model)
        backend = spec.backend or source.backend
        batches = [(Path(spec.recipe).stem, source.exact_request())]
        state = source.state
        device = spec.device if spec.device != "cpu" else source.device
    else:
        if spec.model is None:
            raise BigartError("give --model FILE")
        model = load_model(spec.model)  # on the CPU; the engine moves it where it runs
        batches = plan(spec, model)
        backend, device = spec.backend or "torch", spec.device
        names = [{"name": n, "value": v} for n, _, v in named_directions(spec.directions, model)]
        state = {"directions": names} if names else {}
    engine = Engine(model, backend, device)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    progress.start(sum(r.batch for _, r in batches), "render")
    try:
        ref = ModelRef.of(model)
        for stem, request in batches:
            progress.check_aborted()
            images = engine.generate(request)
            pixels = to_uint8(images)
            size = request.batch
            if spec.recipe is not None:  # one image, maybe rendered as a repeated batch (see Recipe.exact_request)
                names, ones, images, pixels = [stem], [source.request], images[:1], pixels[:1]
            else:
                names, ones = _names(stem, request), split(request)
            for name, one, img, px in zip(names, ones, images, pixels, strict=True):
                recipe = Recipe(
                    ref, one, engine.backend, engine.device, engine.precision, engine.provider, None, state, size
                )
                png = out / f"{name}.png"
                save_png(png, px, recipe.to_json())
                if spec.npy:
                    save_npy(out / f"{name}.npy", img)
                written.append(png)
            progress.advance(request.batch)
    finally:
        progress.close()
    return written
