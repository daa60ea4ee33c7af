"""Evaluate a generator honestly against real emoji: ``bigart evaluate`` runs this.

Every number comes with the number it must be read against:

- StyleGAN / BigGAN: the Fréchet distance between generated and real images in the emoji classifier's feature space,
  next to the real-vs-real floor (two random halves of the real images) and the generated-vs-real distance at the
  same sample sizes as that floor (with ``repeats`` R > 1, both R times — R disjoint sets of generated samples, R
  random halvings — and their mean and standard deviation, so two models can be told apart); a memorisation check
  (each of K generated images' nearest training image, RMS pixel difference) next to the same distance between
  training images; for class-conditional models the accuracy with which the classifier recognises the intended
  class (over every sample set), next to chance and to its own accuracy on real emoji.
- CycleGAN: the held-out emoji (never trained on) translated from one style to the other and compared with the true
  other-style emoji (PSNR, SSIM), next to the identity baseline (the untranslated input against the same target);
  with both directions, the cycle A -> B -> A against the input; the Fréchet distance of the translations to the real
  target style, next to the real held-out emoji's distance (floor) and the untranslated inputs' (baseline).

Generated images are rendered through the :class:`~bigart.engine.engine.Engine` like every other image bigart makes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bigart import __version__
from bigart.atomic import atomic_write
from bigart.engine.engine import Engine
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.errors import BigartError
from bigart.jobs.progress import Progress
from bigart.models import LoadedModel, load_model
from bigart.training.classifier import Classifier, load_classifier
from bigart.training.emoji import STYLES, EmojiImages, load_emoji
from bigart.training.metrics import frechet_distance, nearest_rms, psnr, ssim

PSNR_CAP = 100.0  # dB, for identical images (whose PSNR is infinite)
FAMILIES = ("stylegan2", "stylegan3", "biggan", "cyclegan")


@dataclass
class EvaluateSpec:
    model: str
    data: str
    classifier: str | None = None  # default: DATA/classifier.safetensors when it exists
    samples: int = 1000
    repeats: int = 1  # StyleGAN/BigGAN: the Fréchet distances over this many sample sets and real halvings
    style: str | None = None  # StyleGAN/BigGAN: compare with this style only (default every style)
    psi: float = 1.0
    seed: int = 0  # generated samples use seeds seed, seed + 1, ...
    memorisation_k: int = 64
    domain_a: str = "noto"  # CycleGAN: the style of domain A (B is the other one)
    split_seed: int = 0  # the real-vs-real floor's random halves
    batch_size: int = 16
    device: str = "cpu"
    json_out: str | None = None


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` -> ``[N, H, W, 3]``: grey repeated, alpha composited on white."""
    if pixels.shape[-1] == 1:
        return np.repeat(pixels, 3, axis=-1)
    if pixels.shape[-1] == 4:
        a = pixels[..., 3:].astype(np.float32) / 255
        return np.round(pixels[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
    return pixels


def _resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``[N, H, W, 3]`` resized to ``(H, W) = size`` (Lanczos), unchanged when it already is."""
    if images.shape[1:3] == tuple(size):
        return images
    h, w = size
    return np.stack([np.asarray(Image.fromarray(x).resize((w, h), Image.Resampling.LANCZOS)) for x in images])


def render_pixels(engine: Engine, request: RenderRequest) -> np.ndarray:
    """uint8 RGB ``[N, H, W, 3]`` for ``request``; an engine error is raised as a BigartError."""
    result = engine.render(request)
    if not result.ok:
        raise BigartError(f"rendering failed: {result.error}")
    return _rgb(result.images)


def _num_classes(model: LoadedModel) -> int:
    g = model.generator
    return g.num_classes if model.family == "biggan" else getattr(g, "c_dim", 0)


def _class_map(model: LoadedModel, clf: Classifier | None, notes: list[str]) -> list[int] | None:
    """For each model class, the classifier's class index (by name; by position only when no names are recorded)."""
    n = _num_classes(model)
    if not n or clf is None:
        return None
    names = model.meta.get("class_names")
    lookup = {c.lower(): i for i, c in enumerate(clf.classes)}
    for i, c in enumerate(clf.header.get("class_names") or []):
        lookup.setdefault(str(c).lower(), i)
    if names and len(names) == n:
        mapped = [lookup.get(str(name).lower()) for name in names]
        if all(m is not None for m in mapped):
            return mapped  # type: ignore[return-value]
        missing = [str(name) for name, m in zip(names, mapped, strict=True) if m is None]
        notes.append(f"class accuracy left out: the classifier has no class {', '.join(missing[:5])}")
        return None
    if n == len(clf.classes):
        notes.append("the model records no class names: its class k is taken to be the classifier's class k")
        return list(range(n))
    notes.append(f"class accuracy left out: the model has {n} classes, the classifier {len(clf.classes)}")
    return None


def _generate(engine: Engine, spec: EvaluateSpec, n: int, classes: np.ndarray | None, progress: Progress) -> np.ndarray:
    """``n`` images from seeds ``spec.seed, ...``; with ``classes``, image i shows class ``classes[i]``.

    Batches start afresh at every set of ``spec.samples``, so a set's pixels do not depend on how many sets are
    drawn (a batch's size can change a CPU kernel's order of summation)."""
    out = []
    batches = [
        np.arange(b, min(b + spec.batch_size, s + spec.samples, n))
        for s in range(0, n, spec.samples)
        for b in range(s, min(s + spec.samples, n), spec.batch_size)
    ]
    for idx in batches:
        progress.check_aborted()
        if classes is None:
            groups = [(idx, ())]
        else:  # a request holds one class for all its images
            groups = [(idx[classes[idx] == k], ((int(k), 1.0),)) for k in np.unique(classes[idx])]
        parts: dict[int, np.ndarray] = {}
        for group, weights in groups:
            request = RenderRequest(seeds=tuple(int(spec.seed + i) for i in group), psi=spec.psi, class_weights=weights)
            parts.update(zip(group.tolist(), render_pixels(engine, request), strict=True))
        out.append(np.stack([parts[i] for i in idx.tolist()]))
        progress.advance(len(idx))
    return np.concatenate(out)


def _frechet_block(clf: Classifier, generated: np.ndarray, real: np.ndarray, seed: int, repeats: int = 1) -> dict:
    """Generated vs all real images, and, at equal sample sizes against the same reference half of the real images,
    generated vs real (``generated_vs_real_half``) and the other real half vs real (the floor).

    With ``repeats`` R, ``generated`` holds R equal sets: set r is compared with the reference half of the r-th
    random halving (seed ``seed + r``), whose other half gives the r-th floor; the headline numbers are the means,
    the ``*_values`` lists hold each one, ``*_sd`` their standard deviations (None for R = 1)."""
    f_real = clf.features(real)
    f_sets = [clf.features(s) for s in np.split(generated, repeats)]  # per set: the same batches whatever R is
    half = len(real) // 2
    n = min(len(f_sets[0]), half)
    gen_half, floor = [], []
    for r, f_gen in enumerate(f_sets):
        perm = np.random.default_rng(seed + r).permutation(len(real))
        reference = f_real[perm[half : 2 * half]]
        gen_half.append(frechet_distance(f_gen[:n], reference))
        floor.append(frechet_distance(f_real[perm[:n]], reference))

    def sd(values: list[float]) -> float | None:
        return float(np.std(values, ddof=1)) if len(values) > 1 else None

    return {
        "generated_vs_real": frechet_distance(f_sets[0], f_real),
        "generated_vs_real_half": float(np.mean(gen_half)),
        "real_vs_real_floor": float(np.mean(floor)),
        "repeats": repeats,
        "generated_vs_real_half_values": gen_half,
        "real_vs_real_floor_values": floor,
        "generated_vs_real_half_sd": sd(gen_half),
        "real_vs_real_floor_sd": sd(floor),
        "n_generated": len(f_sets[0]),
        "n_real": len(f_real),
        "n_compared": n,
        "n_reference": half,
        "read_as": "generated_vs_real_half near real_vs_real_floor: as close to the data as the data to itself "
        "(both compare n_compared images with the same n_reference real ones); Fréchet distances shrink with more "
        "samples, so compare only at equal sizes; with repeats, a difference of a few sd between two models is real",
    }


def _memorisation(generated: np.ndarray, train: np.ndarray, k: int, seed: int) -> dict[str, Any]:
    k = min(k, len(generated), len(train) - 1)
    gen = _resize(generated[:k], train.shape[1:3])
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(train), size=k, replace=False)
    order = np.concatenate([pick, np.setdiff1d(np.arange(len(train)), pick)])
    pool = train[order]
    d_gen = nearest_rms(gen, pool)
    d_train = nearest_rms(pool[:k], pool, exclude_self=True)
    med_gen, med_train = float(np.median(d_gen)), float(np.median(d_train))
    return {
        "k": k,
        "units": "RMS pixel difference, 0-255, at the data's resolution",
        "generated_to_nearest_train": {"median": med_gen, "min": float(d_gen.min()), "values": d_gen.tolist()},
        "train_to_nearest_other_train": {"median": med_train, "min": float(d_train.min())},
        "ratio_of_medians": med_gen / med_train if med_train > 0 else None,
        "closer_than_closest_train_pair": int((d_gen < d_train.min()).sum()),
        "read_as": "a ratio well below 1, or many samples closer than any two training images, means copies",
    }


def _evaluate_gan(model, engine, spec, data, clf, notes, progress) -> dict[str, Any]:
    styles = [spec.style] if spec.style else list(data.manifest["styles"])
    real = data.subset(np.isin(np.array(data.styles), styles))
    train = real.subset(~real.held_out_mask)
    class_map = _class_map(model, clf, notes)
    n_cls = _num_classes(model)
    if n_cls and class_map is None and clf is None:
        notes.append("class accuracy left out: no classifier")
    total = spec.samples * (spec.repeats if clf is not None else 1)
    classes = None if not n_cls else np.arange(total) % n_cls
    progress.start(total, "generate")
    try:
        generated = _generate(engine, spec, total, classes, progress)
    finally:
        progress.close()
    report: dict[str, Any] = {
        "styles": styles,
        "generated_resolution": list(generated.shape[1:3]),
        "data_resolution": list(real.images.shape[1:3]),
        "samples": spec.samples,
        "memorisation": _memorisation(generated, train.images, spec.memorisation_k, spec.split_seed),
    }
    if clf is not None:
        report["frechet"] = _frechet_block(clf, generated, real.images, spec.split_seed, spec.repeats)
    if class_map is not None and clf is not None and classes is not None:
        pred = clf.predict(generated)
        intended = np.array(class_map)[classes]
        per = {clf.classes[k]: float((pred[intended == k] == k).mean()) for k in np.unique(intended)}
        report["class_accuracy"] = {
            "accuracy": float((pred == intended).mean()),
            "chance": 1.0 / n_cls,
            "classifier_on_real_held_out": clf.header.get("held_out_accuracy"),
            "per_class": per,
            "read_as": "between chance (the class is ignored) and the classifier's accuracy on real emoji",
        }
    return report


def held_out_pairs(data: EmojiImages, a: str, b: str) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """Images of the held-out emoji in style ``a`` and ``b``, paired by name (every emoji if none is held out)."""
    held = data.held_out_mask
    everything = not held.any()
    mask = np.ones(len(data), bool) if everything else held
    index = {(data.styles[i], data.names[i]): i for i in np.flatnonzero(mask)}
    names = sorted(n for s, n in index if s == a and (b, n) in index)
    if not names:
        raise BigartError(f"{a} and {b}: no emoji in both styles to compare")
    ia = [index[(a, n)] for n in names]
    ib = [index[(b, n)] for n in names]
    return data.images[ia], data.images[ib], names, everything


def _pixel_scores(outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    p = np.minimum([psnr(o, t) for o, t in zip(outputs, targets, strict=True)], PSNR_CAP)
    s = [ssim(o, t) for o, t in zip(outputs, targets, strict=True)]
    return {"psnr": float(np.mean(p)), "ssim": float(np.mean(s))}


def translate_all(engine: Engine, images: np.ndarray, direction: str, progress: Progress) -> np.ndarray:
    out = []
    for img in images:
        progress.check_aborted()
        out.append(render_pixels(engine, RenderRequest(image=FrozenArray.of(img, np.uint8), direction=direction))[0])
        progress.advance()
    return np.stack(out)


def _evaluate_cyclegan(model, engine, spec, data, clf, notes, progress) -> dict[str, Any]:
    if spec.domain_a not in STYLES:
        raise BigartError(f"domain A must be one of {', '.join(STYLES)}, got {spec.domain_a!r}")
    style_a = spec.domain_a
    others = [s for s in data.manifest["styles"] if s != style_a]
    if style_a not in data.manifest["styles"] or not others:
        have = ", ".join(data.manifest["styles"])
        raise BigartError(f"{spec.data}: a CycleGAN is evaluated on two styles, {style_a} and another; it has {have}")
    style_b = others[0]
    a, b, names, everything = held_out_pairs(data, style_a, style_b)
    if everything:
        notes.append("the data set holds out no emoji: every emoji is compared, including any trained on")
    directions = list(model.generator.directions)
    todo = len(names) * (len(directions) + (1 if len(directions) == 2 else 0))
    report: dict[str, Any] = {"domain_a": style_a, "domain_b": style_b, "test_emoji": len(names), "directions": {}}
    progress.start(todo, "translate")
    outputs: dict[str, np.ndarray] = {}
    try:
        for d in directions:
            src, tgt = (a, b) if d == "AtoB" else (b, a)
            out = _resize(translate_all(engine, src, d, progress), tgt.shape[1:3])
            outputs[d] = out
            block: dict[str, Any] = {
                "translated": _pixel_scores(out, tgt),
                "identity_baseline": _pixel_scores(src, tgt),
                "read_as": "the translation helps where it beats the identity baseline (higher PSNR and SSIM)",
            }
            if clf is not None:
                target_style = style_b if d == "AtoB" else style_a
                pool = data.subset((np.array(data.styles) == target_style) & ~data.held_out_mask)
                if everything:
                    pool = data.subset(np.array(data.styles) == target_style)
                f_pool = clf.features(pool.images)
                block["frechet"] = {
                    "translated_vs_real_target": frechet_distance(clf.features(out), f_pool),
                    "real_held_out_vs_real_target_floor": frechet_distance(clf.features(tgt), f_pool),
                    "identity_baseline": frechet_distance(clf.features(src), f_pool),
                    "n_test": len(out),
                    "n_reference": len(pool),
                }
            report["directions"][d] = block
        if len(directions) == 2:
            back = _resize(translate_all(engine, outputs["AtoB"], "BtoA", progress), a.shape[1:3])
            report["cycle_AtoBtoA"] = {
                **_pixel_scores(back, a),
                "read_as": "how much of the input survives the round trip (the identity would score perfectly)",
            }
    finally:
        progress.close()
    report["psnr_cap_db"] = PSNR_CAP
    return report


def _find_classifier(spec: EvaluateSpec, notes: list[str]) -> Classifier | None:
    path = Path(spec.classifier) if spec.classifier else Path(spec.data) / "classifier.safetensors"
    if not path.exists():
        if spec.classifier:
            raise BigartError(f"{path}: no such classifier file")
        notes.append(
            "no classifier (train one with 'bigart data classifier --data DATA --out DATA/classifier.safetensors'): "
            "the Fréchet distances and the class accuracy are left out"
        )
        return None
    return load_classifier(path)


def run(spec: EvaluateSpec, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate ``spec.model`` against ``spec.data``; returns the report (and writes it to ``spec.json_out``)."""
    progress = progress or Progress()
    if spec.samples < 2:
        raise BigartError(f"--samples must be at least 2, got {spec.samples}")
    if spec.repeats < 1:
        raise BigartError(f"--repeats must be at least 1, got {spec.repeats}")
    model = load_model(spec.model, device=spec.device)
    if model.family not in FAMILIES:
        raise BigartError(f"cannot evaluate {model.family} models")
    engine = Engine(model, "torch", spec.device)
    data = load_emoji(spec.data)
    if spec.style is not None and spec.style not in data.manifest["styles"]:
        raise BigartError(f"{spec.data}: no style {spec.style!r} (it has {', '.join(data.manifest['styles'])})")
    notes: list[str] = []
    clf = _find_classifier(spec, notes)
    if clf is not None and clf.classes != data.classes:
        raise BigartError(f"the classifier knows classes {clf.classes}, the data has {data.classes}")
    if clf is not None and clf.header.get("data", {}).get("files_sha256") != data.manifest.get("files_sha256"):
        notes.append("the classifier was trained on other emoji images than these (the folders' file hashes differ)")
    if model.family == "cyclegan":
        body = _evaluate_cyclegan(model, engine, spec, data, clf, notes, progress)
    else:
        body = _evaluate_gan(model, engine, spec, data, clf, notes, progress)
    report = {
        "bigart": __version__,
        "model": {"file": model.path.name, "sha256": model.sha256, "family": model.family},
        "data": {
            "folder": str(spec.data),
            "manifest_sha256": data.manifest_sha256,
            "size": data.manifest.get("size"),
            "classes": data.classes,
        },
        "classifier": None
        if clf is None
        else {
            "held_out_accuracy": clf.header.get("held_out_accuracy"),
            "resolution": clf.resolution,
            "data_files_sha256": clf.header.get("data", {}).get("files_sha256"),
        },
        "spec": {k: v for k, v in asdict(spec).items() if k != "json_out"},
        **body,
        "notes": notes,
    }
    if spec.json_out:
        text = json.dumps(report, indent=1, allow_nan=False, default=_json_default)
        atomic_write(Path(spec.json_out), lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    return report


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "n/a" if math.isnan(x) else f"{x:.4g}"
    return str(x)


def with_sd(block: dict[str, Any] | None, key: str, fmt: Any = _fmt) -> str:
    """``block[key]`` formatted by ``fmt``, with ``± sd`` when the block holds ``key_sd`` (``--repeats``)."""
    if block is None or block.get(key) is None:
        return fmt(None)
    sd = block.get(f"{key}_sd")
    return fmt(block[key]) + (f" ± {fmt(sd)}" if sd is not None else "")


def format_report(report: dict[str, Any]) -> str:
    """A few lines for the terminal; the JSON holds everything."""
    lines = [f"{report['model']['file']} ({report['model']['family']}) against {report['data']['folder']}"]
    if "frechet" in report:
        f = report["frechet"]
        lines.append(
            f"Fréchet distance  generated {_fmt(f['generated_vs_real'])}  (at floor's sizes "
            f"{with_sd(f, 'generated_vs_real_half')}; real-vs-real floor {with_sd(f, 'real_vs_real_floor')}"
            + (f"; mean ± sd of {f['repeats']} sample sets)" if f.get("repeats", 1) > 1 else ")")
        )
    if "memorisation" in report:
        m = report["memorisation"]
        lines.append(
            f"memorisation      nearest training image {_fmt(m['generated_to_nearest_train']['median'])} RMS "
            f"(training images among themselves {_fmt(m['train_to_nearest_other_train']['median'])}; "
            f"ratio {_fmt(m['ratio_of_medians'])})"
        )
    if "class_accuracy" in report:
        c = report["class_accuracy"]
        lines.append(
            f"class accuracy    {_fmt(c['accuracy'])}  (chance {_fmt(c['chance'])}; classifier on real "
            f"{_fmt(c['classifier_on_real_held_out'])})"
        )
    for d, block in report.get("directions", {}).items():
        t, base = block["translated"], block["identity_baseline"]
        lines.append(
            f"{d:<17} PSNR {_fmt(t['psnr'])} dB, SSIM {_fmt(t['ssim'])}  (identity baseline "
            f"{_fmt(base['psnr'])} dB, {_fmt(base['ssim'])}; {report['test_emoji']} held-out emoji)"
        )
        if "frechet" in block:
            f = block["frechet"]
            lines.append(
                f"{'':<17} Fréchet {_fmt(f['translated_vs_real_target'])}  (floor "
                f"{_fmt(f['real_held_out_vs_real_target_floor'])}, identity {_fmt(f['identity_baseline'])})"
            )
    if "cycle_AtoBtoA" in report:
        c = report["cycle_AtoBtoA"]
        lines.append(f"{'cycle A->B->A':<17} PSNR {_fmt(c['psnr'])} dB, SSIM {_fmt(c['ssim'])}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)
