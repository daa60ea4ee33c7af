"""Export plans: the items (single images, each with the request its recipe holds) and products (sheets and
animations made from finished items) that a spec asks for, the same in every process.

Items of a kind are laid out so that consecutive ones can share a batch: a seed range and a walk differ only in
their latents; a sweep's strengths and a class blend's weights differ per image and are batched by
:func:`bigart.jobs.export.render_batch` all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from bigart.engine.engine import STYLEGAN, Engine
from bigart.engine.recipe import load_recipe
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.errors import BigartError
from bigart.jobs.export_spec import ExportSpec, ExportSpecError
from bigart.jobs.render import RENDERABLE, RenderSpec, class_weights, num_classes, parse_directions, parse_mix, plan
from bigart.jobs.render import split as split_request
from bigart.latent import keyframes, parse_seeds, z_from_seeds
from bigart.latent.biggan import truncated_z_from_seeds
from bigart.latent.files import load_latents
from bigart.latent.mixing import PRESETS, parse_layers, preset_layers
from bigart.models import LoadedModel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".tga", ".ppm", ".pgm", ".pnm")


@dataclass
class Item:
    file: str  # relative to ``out``, posix
    request: RenderRequest | None  # one image (None for a translation: the input is read when it is rendered)
    info: dict[str, Any]
    source: Path | None = None


@dataclass
class Product:
    file: str
    kind: str  # sheet | mp4 | gif
    cells: list[list[int | None]]  # item indices; an animation is one row of frames
    labels: list[list[str]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    items: list[Item]
    products: list[Product]


def _render_spec(spec: ExportSpec, seeds: list[int], class_spec: str | None, mix: list[str]) -> RenderSpec:
    return RenderSpec(
        model=spec.model,
        out=spec.out,
        seeds=seeds,
        psi=spec.psi,
        cutoff=spec.cutoff,
        noise_mode=spec.noise_mode,
        class_spec=class_spec,
        directions=list(spec.directions),
        mix=list(mix),
        batch_size=1,
    )


def _template(spec: ExportSpec, model: LoadedModel, class_spec: str | None = None, mix=None) -> RenderRequest:
    """The request every image of the spec shares (truncation, class, mixing, directions), checked as ``render``
    checks it; ``replace`` its latent for each image."""
    cls = spec.class_spec if class_spec is None else class_spec
    return plan(_render_spec(spec, [0], cls, spec.mix if mix is None else mix), model)[0][1]


def _videos(spec: ExportSpec, frames: list[int], label: str | None, many: bool) -> list[Product]:
    out = []
    for name in spec.video:
        p = PurePosixPath(name)
        file = str(p.with_name(f"{p.stem}_{label}{p.suffix}")) if many else name
        out.append(Product(file, p.suffix.lower()[1:], [frames], info={"fps": spec.fps, "frames": len(frames)}))
    return out


def _plan_seeds(spec: ExportSpec, model: LoadedModel, folder: str) -> list[Item]:
    items = []
    for _stem, request in plan(_render_spec(spec, spec.seed_list(), spec.class_spec, spec.mix), model):
        for one in split_request(request):
            seed = one.seeds[0]
            items.append(Item(f"{folder}seed{seed:04d}{spec.suffix}", one, {"kind": "image", "seed": seed}))
    return items


def _plan_grid(spec: ExportSpec, model: LoadedModel) -> Plan:
    items = _plan_seeds(spec, model, "cells/")
    rows, cols = spec.grid_shape()
    cells: list[list[int | None]] = [[None] * cols for _ in range(rows)]
    labels = [[""] * cols for _ in range(rows)]
    for i, item in enumerate(items):
        cells[i // cols][i % cols] = i
        labels[i // cols][i % cols] = f"seed {item.info['seed']}"
        item.info.update(kind="cell", row=i // cols, col=i % cols)
    info = {"rows": rows, "cols": cols, "padding": spec.padding, "labels": spec.labels}
    return Plan(items, [Product(f"grid{spec.suffix}", "sheet", cells, labels if spec.labels else None, info)])


def _plan_sweep(spec: ExportSpec, model: LoadedModel) -> Plan:
    base = _template(spec, model)
    text = f"{spec.sweep}=1"  # FILE:IDX as render's --direction FILE:IDX=AMOUNT, at unit strength
    try:
        ((vector, _),) = parse_directions([text], model)
    except BigartError as e:
        raise BigartError(str(e).replace(f"--direction {text!r}", f"'sweep' {spec.sweep!r}")) from e
    items, products = [], []
    seeds = spec.seed_list()
    strengths = np.linspace(-spec.amount, spec.amount, spec.steps)
    for seed in seeds:
        first = len(items)
        for k, strength in enumerate(strengths.tolist()):
            request = replace(base, seeds=(seed,), directions=(*base.directions, (vector, strength)))
            info = {"kind": "frame", "seed": seed, "step": k, "strength": strength}
            items.append(Item(f"frames/seed{seed:04d}_{k:03d}{spec.suffix}", request, info))
        products += _videos(spec, list(range(first, len(items))), f"seed{seed:04d}", len(seeds) > 1)
    return Plan(items, products)


def _plan_mixing(spec: ExportSpec, model: LoadedModel) -> Plan:
    if model.family not in STYLEGAN:
        raise BigartError(f"kind 'mixing' is style mixing for StyleGAN; {model.path.name} is a {model.family} model")
    g = model.generator
    rows, cols = parse_seeds(spec.row_seeds or ""), parse_seeds(spec.col_seeds or "")
    name = spec.layers.strip()
    try:
        chosen = preset_layers(name, g.num_ws, model.family) if name in PRESETS else parse_layers(name, g.num_ws)
    except ValueError as e:
        raise ExportSpecError(f"'layers': {e}") from e
    if not chosen:
        raise ExportSpecError(f"'layers' {name!r} names no layer of this {g.num_ws}-layer generator")
    _, sources = parse_mix([f"{cols[0]}@{','.join(map(str, chosen))}"], model)
    base = _template(spec, model, mix=[])
    items: list[Item] = []
    index: dict[int, int] = {}
    for seed in dict.fromkeys(rows + cols):
        index[seed] = len(items)
        items.append(Item(f"cells/seed{seed:04d}{spec.suffix}", replace(base, seeds=(seed,)), {"kind": "image"}))
        items[-1].info["seed"] = seed
    cells: list[list[int | None]] = [[None] + [index[c] for c in cols]]
    cells += [[index[r]] + [0] * len(cols) for r in rows]
    for j, col in enumerate(cols):  # one column at a time: a batch shares its mix seed
        for i, row in enumerate(rows):
            request = replace(base, seeds=(row,), mix_seeds=(col,), mixing=sources)
            info = {"kind": "cell", "row_seed": row, "col_seed": col}
            cells[i + 1][j + 1] = len(items)
            items.append(Item(f"cells/seed{row:04d}_mix{col:04d}{spec.suffix}", request, info))
    labels = [[""] + [f"seed {c}" for c in cols]] + [[f"seed {r}"] + [""] * len(cols) for r in rows]
    info = {"rows": len(rows), "cols": len(cols), "layers": list(chosen), "padding": spec.padding}
    return Plan(items, [Product(f"mixing{spec.suffix}", "sheet", cells, labels if spec.labels else None, info)])


def _keyframe_requests(spec: ExportSpec, model: LoadedModel, base: RenderRequest) -> list[RenderRequest]:
    """One request per keyframe: a seed, each row of a ``.npz`` latents file, or a recipe's request."""
    g = model.generator
    biggan = model.family == "biggan"
    out = []
    for text in spec.keyframes:
        if text.isdigit():
            out.append(replace(base, seeds=(int(text),)))
            continue
        path = Path(text)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            if biggan:
                lat = load_latents(path, z_dim=g.z_dim, c_dim=num_classes(model))
            else:
                lat = load_latents(path, g.z_dim, g.w_dim, g.num_ws, num_classes(model))
            rows = lat.z if lat.z is not None else lat.ws
            kind = "z" if lat.z is not None else "ws"
            out += [replace(base, seeds=(), **{kind: FrozenArray.of(row[None])}) for row in rows]
        elif suffix in (".png", ".json"):
            recipe = load_recipe(path)
            if recipe.model.sha256 != model.sha256:
                raise BigartError(f"keyframe {path.name} was made with another model ({recipe.model.file})")
            out.append(recipe.request)
        else:
            raise ExportSpecError(f"keyframe {text!r}: expected a seed, a .npz latents file or a recipe .png/.json")
    return out


def _plan_walk(spec: ExportSpec, model: LoadedModel, engine: Engine) -> Plan:
    """Frames along the path through the keyframes. In z, each keyframe gives its z (a recipe's seeds or z) and every
    frame takes the spec's truncation, class, mixing and directions; in w (StyleGAN), each keyframe is the w+ it
    renders with (a recipe's with its own truncation, mixing and directions) and frames hold their w+ exactly."""
    g = model.generator
    base = _template(spec, model)
    keys = _keyframe_requests(spec, model, base)
    if len(keys) < 2:
        raise ExportSpecError(f"a walk needs at least 2 keyframes, 'keyframes' gives {len(keys)}")
    if spec.space == "w":
        if model.family not in STYLEGAN:
            raise ExportSpecError(f"'space' w needs a StyleGAN model; {model.path.name} is {model.family} (use z)")
        latents = np.concatenate([engine.request_ws(k) for k in keys])  # truncated, mixed, moved: as rendered
        frames = keyframes(latents, spec.frames, spec.interp, spec.loop, spec.easing)
        same = bool(np.all(frames == frames[:, :1]))  # one w for every layer: store [1, w_dim]
        requests = [
            RenderRequest(ws=FrozenArray.of(f[:1] if same else f[None]), noise_mode=spec.noise_mode) for f in frames
        ]
    else:
        zs = []
        for k in keys:
            if k.seeds and model.family == "biggan":  # a BigGAN seed's z is drawn at its truncation
                zs.append(truncated_z_from_seeds(k.seeds, g.z_dim, k.psi))
            elif k.seeds:
                zs.append(z_from_seeds(k.seeds, g.z_dim))
            elif k.z is not None:
                zs.append(k.z.numpy())
            else:
                raise ExportSpecError("a keyframe holds w, not z: walk it with 'space': 'w'")
        frames = keyframes(np.concatenate(zs).astype(np.float32), spec.frames, spec.interp, spec.loop, spec.easing)
        requests = [replace(base, seeds=(), z=FrozenArray.of(f[None])) for f in frames]
    digits = max(4, len(str(spec.frames - 1)))
    items = [
        Item(f"frames/frame{i:0{digits}d}{spec.suffix}", r, {"kind": "frame", "frame": i})
        for i, r in enumerate(requests)
    ]
    return Plan(items, _videos(spec, list(range(len(items))), None, False))


def _plan_classes(spec: ExportSpec, model: LoadedModel) -> Plan:
    if num_classes(model) == 0:
        raise BigartError(f"kind 'classes' needs a class-conditional model; {model.path.name} is not")
    a = dict(class_weights(model, spec.class_a))
    b = dict(class_weights(model, spec.class_b))
    base = _template(spec, model, class_spec=spec.class_a)
    items, products = [], []
    seeds = spec.seed_list()
    for seed in seeds:
        first = len(items)
        for k, t in enumerate(np.linspace(0.0, 1.0, spec.steps).tolist()):
            mixed = {i: (1 - t) * a.get(i, 0.0) + t * b.get(i, 0.0) for i in sorted(set(a) | set(b))}
            weights = tuple((i, w) for i, w in mixed.items() if w != 0)
            request = replace(base, seeds=(seed,), class_weights=weights)
            info = {"kind": "frame", "seed": seed, "step": k, "t": t}
            items.append(Item(f"frames/seed{seed:04d}_{k:03d}{spec.suffix}", request, info))
        products += _videos(spec, list(range(first, len(items))), f"seed{seed:04d}", len(seeds) > 1)
    return Plan(items, products)


def _plan_translate(spec: ExportSpec) -> Plan:
    """One item per image under ``inputs`` (recursive; hidden files and the output folder left out), named after its
    path there with the output format's suffix, so sub-folders are kept."""
    root = Path(spec.inputs or "")
    out = Path(spec.out).resolve()
    if root.is_file():
        files, root = [root], root.parent
    elif root.is_dir():
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
            and out not in p.resolve().parents
        )
    else:
        raise ExportSpecError(f"'inputs' {spec.inputs}: no such file or folder")
    if not files:
        raise ExportSpecError(f"'inputs' {spec.inputs}: no images in this folder ({', '.join(IMAGE_SUFFIXES)})")
    items, used = [], set()
    for p in files:
        rel = p.relative_to(root)
        name, i = rel.with_suffix(spec.suffix).as_posix(), 1
        while name in used:  # a.jpg and a.png in one folder
            name, i = rel.with_name(f"{rel.stem}-{i}{spec.suffix}").as_posix(), i + 1
        used.add(name)
        items.append(Item(name, None, {"kind": "translation", "input": rel.as_posix()}, source=p))
    return Plan(items, [])


def make_plan(spec: ExportSpec, model: LoadedModel, engine: Engine) -> Plan:
    """Every item and product of ``spec``, in order; the same in every process."""
    if spec.kind == "translate":
        result = _plan_translate(spec)
    elif spec.kind == "seeds":
        items = _plan_seeds(spec, model, "")
        result = Plan(items, _videos(spec, list(range(len(items))), None, False))
    elif spec.kind == "grid":
        result = _plan_grid(spec, model)
    elif spec.kind == "sweep":
        result = _plan_sweep(spec, model)
    elif spec.kind == "mixing":
        result = _plan_mixing(spec, model)
    elif spec.kind == "walk":
        result = _plan_walk(spec, model, engine)
    else:
        result = _plan_classes(spec, model)
    for i, item in enumerate(result.items):
        item.info["index"] = i
    return result


def check_model(spec: ExportSpec, model: LoadedModel) -> None:
    if spec.kind == "translate":
        if model.family != "cyclegan":
            raise BigartError(f"kind 'translate' needs a CycleGAN model; {model.path.name} is a {model.family} model")
        if spec.direction not in model.generator.directions:
            raise BigartError(f"{model.path.name} translates {' and '.join(model.generator.directions)} only")
        if spec.tile is not None and spec.tile < model.generator.size_multiple:
            raise BigartError(f"'tile' must be at least {model.generator.size_multiple} for this model")
    elif model.family not in RENDERABLE:
        raise BigartError(f"{model.path.name} is a {model.family} model: it translates images (kind 'translate')")
