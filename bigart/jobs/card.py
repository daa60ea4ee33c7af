"""Model cards: what ``bigart evaluate --card`` writes for a model bigart trained.

The evaluation's headline numbers go into the model file's own header (``card.metrics``, next to the data, recipe,
steps, time and hardware the trainer recorded) and into ``MODEL.md`` beside it, with a sample grid ``MODEL.png``:
what the model is, the data and its licenses, how to train it again, and every number next to what it must be read
against (an early checkpoint of the same run, the real-vs-real floor, chance, the identity baseline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bigart import __version__
from bigart.atomic import atomic_write
from bigart.engine.engine import Engine
from bigart.engine.images import save_png
from bigart.engine.request import RenderRequest
from bigart.errors import BigartError
from bigart.jobs.evaluate import held_out_pairs, render_pixels, translate_all, with_sd
from bigart.jobs.progress import Progress
from bigart.models import LoadedModel, load_model
from bigart.models.modelfile import read_model_file, save_model_file
from bigart.training.emoji import load_emoji
from bigart.training.trainer import image_grid

FAMILY_TITLES = {"stylegan2": "StyleGAN2", "stylegan3": "StyleGAN3", "biggan": "BigGAN-deep", "cyclegan": "CycleGAN"}
GRID_SEEDS = 16
GRID_PAIRS = 8
GRID_PSI = 0.7


def model_card(path: str | Path) -> dict[str, Any]:
    """The card in a bigart model file's header (empty when it has none)."""
    return read_model_file(path)[1].get("card") or {}


def metrics_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of an evaluation report, each next to its reference."""
    headline = {
        "frechet": (
            "generated_vs_real_half",
            "real_vs_real_floor",
            "generated_vs_real",
            "n_compared",
            "repeats",
            "generated_vs_real_half_sd",
            "real_vs_real_floor_sd",
        ),
        "memorisation": ("ratio_of_medians", "closer_than_closest_train_pair", "k"),
        "class_accuracy": ("accuracy", "chance", "classifier_on_real_held_out"),
    }
    out: dict[str, Any] = {
        block: {k: report[block].get(k) for k in keys} for block, keys in headline.items() if block in report
    }
    for d, block in report.get("directions", {}).items():
        entry = {"translated": block["translated"], "identity_baseline": block["identity_baseline"]}
        if "frechet" in block:
            entry["frechet"] = {
                k: block["frechet"][k]
                for k in ("translated_vs_real_target", "identity_baseline", "real_held_out_vs_real_target_floor")
            }
        out.setdefault("directions", {})[d] = entry
    if "cycle_AtoBtoA" in report:
        out["cycle_AtoBtoA"] = {k: report["cycle_AtoBtoA"][k] for k in ("psnr", "ssim")}
    if "test_emoji" in report:
        out["test_emoji"] = report["test_emoji"]
    out["samples"] = report.get("samples")
    return out


def sample_grid(model: LoadedModel, data_folder: str | Path | None = None) -> np.ndarray:
    """``[H, W, 3]`` uint8: 16 seeds (StyleGAN, psi 0.7), two seeds per class (BigGAN, one class per column), or
    for CycleGAN held-out emoji in rows: A, A -> B, true B, B, B -> A, true A."""
    engine = Engine(model, "torch", "cpu")
    if model.family == "cyclegan":
        if data_folder is None:
            raise BigartError("a CycleGAN sample grid needs the emoji data folder")
        data = load_emoji(data_folder)
        a_style, b_style = data.manifest["styles"][:2]
        a, b, _, _ = held_out_pairs(data, a_style, b_style)
        pick = np.linspace(0, len(a) - 1, min(GRID_PAIRS, len(a))).round().astype(int)
        a, b = a[pick], b[pick]
        quiet = Progress()
        quiet.start(2 * len(a), "grid")
        ab = translate_all(engine, a, "AtoB", quiet)
        ba = translate_all(engine, b, "BtoA", quiet)
        rows = [a, ab, b, b, ba, a]
        return image_grid(np.concatenate(rows), len(a))
    psi = float(model.info().get("default_psi") or GRID_PSI)
    if model.family == "biggan":
        n = int(model.generator.config.num_classes)
        images = []
        for seed_row in range(2):
            for k in range(n):
                request = RenderRequest(seeds=(seed_row * n + k,), psi=psi, class_weights=((k, 1.0),))
                images.append(render_pixels(engine, request)[0])
        return image_grid(np.stack(images), n)
    request = RenderRequest(seeds=tuple(range(GRID_SEEDS)), psi=GRID_PSI)
    return image_grid(render_pixels(engine, request), 8)


def write_card(
    model_path: str | Path,
    report: dict[str, Any],
    early_report: dict[str, Any] | None = None,
    early_steps: int | None = None,
    recipe: str | None = None,
    data_folder: str | Path | None = None,
    classifier: str | None = None,
) -> tuple[Path, Path]:
    """Put the metrics into the model file's header and write ``MODEL.md`` and ``MODEL.png``; returns both paths."""
    model_path = Path(model_path)
    tensors, header = read_model_file(model_path)
    if not header:
        raise BigartError(f"{model_path}: not a bigart model file (a card goes into bigart's own .safetensors)")
    card = dict(header.get("card") or {})
    card["metrics"] = metrics_summary(report)
    card["evaluation"] = {
        "bigart": __version__,
        "data_files_sha256": (report.get("classifier") or {}).get("data_files_sha256"),
        "classifier_held_out_accuracy": (report.get("classifier") or {}).get("held_out_accuracy"),
        "samples": report["spec"]["samples"],
        "psi": report["spec"]["psi"],
    }
    if early_report is not None:
        card["early_checkpoint"] = {"steps": early_steps, "metrics": metrics_summary(early_report)}
    header = {**header, "card": card}
    header.pop("format_version", None)
    save_model_file(model_path, tensors, header)

    model = load_model(model_path)
    grid_path = model_path.with_suffix(".png")
    save_png(grid_path, sample_grid(model, data_folder))
    manifest = _manifest(data_folder)
    text = card_markdown(model, header, report, early_report, early_steps, recipe, manifest, classifier)
    md_path = model_path.with_suffix(".md")
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return md_path, grid_path


def _manifest(folder: str | Path | None) -> dict[str, Any]:
    if folder is None:
        return {}
    try:
        return json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _duration(seconds: float) -> str:
    h, rem = divmod(round(seconds), 3600)
    return f"{h} h {rem // 60:02d} min" if h else f"{rem // 60} min {rem % 60:02d} s"


def card_markdown(
    model: LoadedModel,
    header: dict[str, Any],
    report: dict[str, Any],
    early_report: dict[str, Any] | None,
    early_steps: int | None,
    recipe: str | None,
    manifest: dict[str, Any],
    classifier: str | None,
) -> str:
    card = header.get("card") or {}
    info = model.info()
    name = model.path.stem
    title = FAMILY_TITLES.get(model.family, model.family)
    data = card.get("data") or {}
    hw = card.get("hardware") or {}
    rec = card.get("recipe") or {}
    base_recipe = _recipe_exporting((card.get("base_model") or {}).get("file"), recipe)
    lines = [
        f"# {name}: an emoji {title}, trained by bigart",
        "",
        f"`models/{model.path.name}` — {info['params']:,} parameters, "
        + (f"{info['resolution']} × {info['resolution']} px" if info.get("resolution") else "any size")
        + f", {model.path.stat().st_size / 1e6:.1f} MB, sha256 `{model.sha256}`.",
        "",
        f"![samples]({grid_path_name(model)})",
        "",
        _grid_caption(model),
        "",
        "## Data and licenses",
        "",
        _data_sentence(data, _conditional(model))
        + f", made by `bigart data emoji --size {manifest.get('size', 64)}`, without the held-out 10% of emoji that "
        "the evaluation uses.",
        "",
    ]
    packages = manifest.get("packages") or {}
    licenses = manifest.get("licenses") or {}
    if packages:
        for style in manifest.get("styles", []):
            pkg = packages.get(style, {})
            lines.append(
                f"- {style}: npm package `{pkg.get('package')}` {pkg.get('version')}, license {licenses.get(style)}"
            )
        lines.append("")
    lines += [
        "Noto Emoji: Copyright Google Inc., Apache License 2.0. Twemoji graphics: Copyright Twitter, Inc and other "
        "contributors, licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). The weights are "
        "derived from both; the full notices are in the data folder's `NOTICE`.",
        "",
        f"License of this file: {header.get('license', 'not recorded')}",
        "",
        "## Training",
        "",
        f"- Recipe: `{recipe or 'see the header'}`; {card.get('steps', '?')} steps, {card.get('images_seen', 0):,} "
        f"images seen, batch {rec.get('batch', '?')}, precision {rec.get('precision', '?')}, "
        f"training time {_duration(float(card.get('training_seconds', 0)))}.",
        _hardware_line(hw),
        *_base_lines(card, model, base_recipe),
        _losses_line(model.family, rec),
        *filter(None, [_schedule_line(rec)]),
        "- To train it again (the run resumes where it stopped when interrupted; add `--resume`):",
        "",
        "```",
        f"bigart data emoji --size {manifest.get('size', 64)} --out emoji64",
        *([f"bigart finetune {base_recipe}"] if base_recipe else []),
        f"bigart finetune {recipe or 'RECIPE.json'}",
        "```",
        "",
        "## Measured",
        "",
        "```",
        f"bigart evaluate --model models/{model.path.name} --data emoji64 "
        f"--classifier {classifier or 'emoji64/classifier.safetensors'} --samples {report['spec']['samples']}"
        + (f" --repeats {report['spec']['repeats']}" if report["spec"].get("repeats", 1) > 1 else "")
        + (" --early EARLY.safetensors" if early_report is not None else "")
        + " --card",
        "```",
        "",
    ]
    lines += _metric_table(model.family, report, early_report, early_steps, base_recipe)
    notes = report.get("notes") or []
    if notes:
        lines += [""] + [f"Note: {n}" for n in notes]
    lines += ["", f"Card written by bigart {__version__} (`bigart evaluate --card`).", ""]
    return "\n".join(lines)


def _data_sentence(data: dict[str, Any], conditional: bool) -> str:
    if "A" in data and "B" in data:  # CycleGAN: two domains
        a, b = data["A"], data["B"]
        paired = ", paired by file name" if data.get("paired") else ""
        return (
            f"Trained on domain A `{a.get('folder', '?')}` ({a.get('images', '?')} images) and domain B "
            f"`{b.get('folder', '?')}` ({b.get('images', '?')} images){paired}"
        )
    classes = data.get("classes") if conditional else None
    return f"Trained on `{data.get('folder', '?')}`: {data.get('images', '?')} images" + (
        f" in {len(classes)} classes ({', '.join(classes)})" if classes else ""
    )


def _schedule_line(rec: dict[str, Any]) -> str | None:
    points = rec.get("lr_schedule")
    if points:
        parts, last = [], None
        for step, f in points:
            sep = "" if last is None else (" → jump to " if step == last else " → ")
            parts.append(f"{sep}{f:g} at step {step:,}")
            last = step
        return (
            "- Learning-rate multiplier, linear between the points (the recipe's `lr_schedule`): "
            + "".join(parts)
            + "."
        )
    n = rec.get("lr_decay_steps")
    if not n:
        return None
    return f"- Learning rates constant, then falling linearly to zero over the last {n:,} steps."


def _recipe_exporting(file_name: str | None, recipe: str | None) -> str | None:
    """The recipe beside ``recipe`` whose export is the file ``file_name`` (the base of a fine-tuning recipe)."""
    if not file_name or not recipe:
        return None
    for candidate in sorted(Path(recipe).parent.glob("*.json")):
        try:
            export = json.loads(candidate.read_text()).get("export")
        except (OSError, ValueError, AttributeError):
            continue
        if export and Path(export).name == file_name and candidate != Path(recipe):
            return str(candidate)
    return None


def _channels(channels: dict[str, int] | None) -> str:
    return "/".join(str(c) for _, c in sorted((int(r), c) for r, c in (channels or {}).items()))


def _base_lines(card: dict[str, Any], model: LoadedModel, base_recipe: str | None) -> list[str]:
    """For a model fine-tuned from a bigart model file: that file, how it was trained, how it was grown, the total."""
    base = card.get("base_model") or {}
    if not base.get("file"):
        return []
    done = base.get("training") or {}
    hw = done.get("hardware") or {}
    by = f"trained by `{base_recipe}`: " if base_recipe else ""
    line = (
        f"- Fine-tuned from `{base['file']}` (sha256 `{base.get('file_sha256', '?')[:16]}…`, {by}"
        f"{done.get('steps') or 0:,} steps, {done.get('images_seen') or 0:,} images, "
        f"{_duration(float(done.get('training_seconds') or 0))} on {hw.get('cpu') or hw.get('gpu') or '?'})"
    )
    own = {str(r): c for r, c in getattr(model.config, "channels", {}).items()}
    if base.get("channels") and own and base["channels"] != own:
        res = "/".join(str(r) for r in sorted(int(r) for r in own))
        line += (
            f", grown wider: channels at {res} px {_channels(base['channels'])} → {_channels(own)} (old channels "
            "kept, new ones read through zero weights, so it drew the base's images until training moved them)"
        )
    steps = (done.get("steps") or 0) + (card.get("steps") or 0)
    seconds = float(done.get("training_seconds") or 0) + float(card.get("training_seconds") or 0)
    total = (
        f"- In all, from scratch: {steps:,} steps, "
        f"{(done.get('images_seen') or 0) + (card.get('images_seen') or 0):,} images, {_duration(seconds)}."
    )
    return [line + ".", total]


def _losses_line(family: str, rec: dict[str, Any]) -> str:
    """The objective the recipe trained with, in words (from the card's copy of the training spec)."""
    if not rec:
        return "- Losses: not recorded."
    if family == "cyclegan":
        line = f"- Losses: LSGAN, cycle L1 (λ {rec.get('lambda_cycle')}), identity L1 (λ {rec.get('lambda_identity')})"
        if rec.get("paired") and rec.get("lambda_paired"):
            line += (
                f", and a paired L1 term (λ {rec.get('lambda_paired')}): domain A and B images paired by file name, "
                "so the translation is also supervised by the true other-style image"
            )
        return line + "."
    reg = f"lazy R1 (gamma {rec['r1_gamma']})" if rec.get("r1_gamma") else "lazy R1 (default gamma)"
    if rec.get("loss") == "hinge":
        reg = "no R1"
    extra = f", path length (weight {rec.get('pl_weight')})" if family == "stylegan2" and rec.get("pl_weight") else ""
    warmup = (
        f"; a fresh discriminator trained alone for the first {rec['d_warmup']:,} steps" if rec.get("d_warmup") else ""
    )
    return (
        f"- Losses: {rec.get('loss', 'logistic')}, {reg}{extra}; augmentation {rec.get('augment')} "
        f"({', '.join(rec.get('augmentations') or [])}){warmup}; generator average (EMA) exported."
    )


def _hardware_line(hw: dict[str, Any]) -> str:
    if not hw:
        return "- Hardware: not recorded by the bigart that exported this file."
    threads = f", {hw['threads']} thread(s)" if "threads" in hw else ""
    return (
        f"- Hardware: {hw.get('cpu') or hw.get('gpu') or hw.get('device', '?')}{threads}, "
        f"{hw.get('processes', 1)} process(es), torch {hw.get('torch', '?')}."
    )


def _conditional(model: LoadedModel) -> bool:
    config = model.generator.config
    return bool(getattr(config, "num_classes", 0) > 1 or getattr(config, "c_dim", 0))


def grid_path_name(model: LoadedModel) -> str:
    return model.path.with_suffix(".png").name


def _grid_caption(model: LoadedModel) -> str:
    if model.family == "cyclegan":
        return (
            "Held-out emoji (never trained on), rows: Noto input, translated to Twemoji, the true Twemoji; Twemoji "
            "input, translated to Noto, the true Noto."
        )
    if model.family == "biggan":
        return "One class per column (in the order of the classes below), two seeds each, truncation as in the file."
    return f"Seeds 0-{GRID_SEEDS - 1}, truncation psi {GRID_PSI}."


def _metric_table(
    family: str,
    report: dict[str, Any],
    early: dict[str, Any] | None,
    early_steps: int | None,
    first_run: str | None = None,
) -> list[str]:
    """The metrics next to their references; ``first_run``: the recipe of the chain's first run, whose early
    checkpoint a fine-tuned model is compared with."""
    of = f" of `{first_run}`" if first_run else ""
    early_col = f"early checkpoint (step {early_steps}{of})" if early is not None else None
    head = ["metric", "this model"] + ([early_col] if early_col else []) + ["reference"]
    rows: list[list[str]] = []

    def row(label: str, value: Any, early_value: Any, reference: str) -> None:
        rows.append([label, _f(value)] + ([_f(early_value)] if early_col else []) + [reference])

    def get(r: dict[str, Any] | None, *keys: str) -> Any:
        for k in keys:
            if r is None or k not in r:
                return None
            r = r[k]
        return r

    if family == "cyclegan":
        for d in report.get("directions", {}):
            for metric in ("psnr", "ssim"):
                base = get(report, "directions", d, "identity_baseline", metric)
                unit = " dB" if metric == "psnr" else ""
                row(
                    f"{d} {metric.upper()}{unit} ({report.get('test_emoji')} held-out emoji)",
                    get(report, "directions", d, "translated", metric),
                    get(early, "directions", d, "translated", metric),
                    f"identity baseline {_f(base)}",
                )
            fr = get(report, "directions", d, "frechet")
            if fr:
                row(
                    f"{d} Fréchet to the real target style",
                    fr["translated_vs_real_target"],
                    get(early, "directions", d, "frechet", "translated_vs_real_target"),
                    f"identity {_f(fr['identity_baseline'])}, real held-out floor "
                    f"{_f(fr['real_held_out_vs_real_target_floor'])}",
                )
        if "cycle_AtoBtoA" in report:
            row(
                "A → B → A PSNR dB", report["cycle_AtoBtoA"]["psnr"], get(early, "cycle_AtoBtoA", "psnr"), "identity: ∞"
            )
    else:
        f, c, m = (report.get(k) for k in ("frechet", "class_accuracy", "memorisation"))
        gan_rows = [  # (block, label, (block name, key) of the value, reference), each when the report has the block
            (
                f,
                lambda: (
                    f"Fréchet distance ({f['n_compared']} vs {f['n_reference']} images"
                    + (f"; mean ± sd of {f['repeats']} sample sets)" if f.get("repeats", 1) > 1 else ")")
                ),
                ("frechet", "generated_vs_real_half"),
                lambda: f"real-vs-real floor {with_sd(f, 'real_vs_real_floor', _f)}",
            ),
            (
                c,
                lambda: "class accuracy (classifier on generated images)",
                ("class_accuracy", "accuracy"),
                lambda: f"chance {_f(c['chance'])}, classifier on real held-out {_f(c['classifier_on_real_held_out'])}",
            ),
            (
                m,
                lambda: f"memorisation: nearest-training-image distance / training images' own ({m['k']} samples)",
                ("memorisation", "ratio_of_medians"),
                lambda: (
                    f"well below 1 would mean copies; {m['closer_than_closest_train_pair']} samples closer than "
                    "the closest training pair"
                ),
            ),
        ]
        for block, label, path, reference in gan_rows:
            if block:
                name, key = path
                row(label(), with_sd(get(report, name), key, _f), with_sd(get(early, name), key, _f), reference())
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out
