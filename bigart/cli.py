"""The ``bigart`` command line: inspect, convert and render models.

Expected failures (a bad file, a bad argument) print one short line and exit with status 1;
``--debug`` shows the traceback. The GUI is imported lazily so these commands need no Qt.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bigart import __version__
from bigart.errors import BigartError


def _cmd_inspect(args: argparse.Namespace) -> int:
    from bigart.models import load_model

    if args.engine:
        from bigart.engine.engine import engine_report

        report = engine_report()
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            width = max(map(len, report))
            for k, v in report.items():
                print(f"{k.replace('_', ' '):<{width}}  {', '.join(v) if isinstance(v, list) else v}")
        if args.file is None:
            return 0
    if args.file is None:
        raise BigartError("inspect: give a model file, or --engine")
    info = load_model(args.file).info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    skip = {"config", "notes", "provenance", "license", "default_psi", "sha256"}
    rows = [
        (k.replace("_", " ") if k not in {"z_dim", "w_dim", "c_dim", "num_ws"} else k, v)
        for k, v in info.items()
        if k not in skip
    ]
    rows = [(k, f"{v:,}" if k == "params" else v) for k, v in rows if v is not None]
    rows.append(("sha256", info["sha256"]))
    if info.get("license"):
        rows.append(("license", info["license"]))
    for note in info.get("notes") or []:
        rows.append(("note", note))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from bigart.models import load_model, save_model_file

    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise BigartError(f"{out}: the output must end in .safetensors")
    model = load_model(args.input)
    header = model.header()
    if args.license:
        header["license"] = args.license
    if args.psi is not None:
        header["default_psi"] = args.psi
    save_model_file(out, model.generator.state_dict(), header)
    print(f"wrote {out} ({model.family}, from {model.source_format})")
    return 0


def _lr_schedule(text: str) -> list[list[float]]:
    """``STEP:F,STEP:F,...`` as ``[[step, factor], ...]`` (argparse type)."""
    try:
        return [[int(step), float(f)] for step, f in (item.split(":") for item in text.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected STEP:FACTOR pairs joined by commas") from None


def _progress_bar(quiet: bool):
    """A Progress that draws a tqdm bar with ETA on the terminal."""
    from tqdm import tqdm

    from bigart.jobs.progress import Progress

    class Bar(Progress):
        def start(self, total: int, description: str = "") -> None:
            super().start(total, description)
            self.bar = tqdm(total=total, desc=description, unit="img", disable=quiet)

        def advance(self, n: int = 1) -> None:
            super().advance(n)
            self.bar.update(n)

        def close(self) -> None:
            if hasattr(self, "bar"):
                self.bar.close()

    return Bar()


def _cmd_export_onnx(args: argparse.Namespace) -> int:
    from bigart.engine.engine import export_onnx
    from bigart.models import load_model

    written = export_onnx(load_model(args.model), args.out)
    for p in written:
        info = json.loads(p.with_suffix(".json").read_text())
        print(f"{p}  (max abs difference to torch {info['max_abs_diff']:.2e})")
    print(f"{Path(args.out) / 'manifest.json'}  (what runs between the graphs)")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from bigart.engine.threads import configure_torch_threads
    from bigart.jobs.render import RenderSpec, run
    from bigart.latent import parse_seeds

    given = [flag for flag, v in (("--seeds", args.seeds), ("--latents", args.latents), ("--recipe", args.recipe)) if v]
    if len(given) != 1:
        raise BigartError("give one of --seeds (e.g. 0-7), --latents FILE.npz or --recipe FILE.png|FILE.json")
    if args.model is None and args.recipe is None:
        from bigart.models.shipped import default_model

        args.model = str(default_model())  # the shipped emoji StyleGAN2
    seeds = None
    if args.seeds is not None:
        try:
            seeds = parse_seeds(args.seeds)
        except ValueError as e:
            raise BigartError(f"--seeds: {e}") from e
    configure_torch_threads()
    spec = RenderSpec(
        model=args.model,
        out=args.out,
        seeds=seeds,
        latents=args.latents,
        recipe=args.recipe,
        psi=args.psi,
        cutoff=args.cutoff,
        noise_mode=args.noise_mode,
        class_spec=args.class_spec,
        directions=args.direction or [],
        mix=args.mix or [],
        device=args.device,
        npy=args.npy,
        batch_size=args.batch,
        backend=args.backend,
    )
    written = run(spec, _progress_bar(args.quiet))
    if not args.quiet:
        print(f"wrote {len(written)} images to {args.out}")
    return 0


def _cmd_directions(args: argparse.Namespace) -> int:
    from bigart.engine.threads import configure_torch_threads
    from bigart.latent import Directions
    from bigart.latent.mixing import parse_layers
    from bigart.models import load_model
    from bigart.models.directions import sample_biggan_features, sample_w, sefa_directions

    configure_torch_threads()
    model = load_model(args.model)
    if model.family not in ("stylegan2", "stylegan3", "biggan"):
        raise BigartError(f"{model.path.name} is a {model.family} model: directions are for StyleGAN and BigGAN")
    layers = None
    if args.layers:
        if model.family == "biggan":
            raise BigartError("--layers picks StyleGAN w+ layers; BigGAN's directions act on z")
        try:
            chosen = parse_layers(args.layers, model.generator.num_ws)
        except ValueError as e:
            raise BigartError(f"--layers: {e}") from e
        if list(chosen) != list(range(chosen[0], chosen[-1] + 1)):
            raise BigartError("--layers must be one contiguous range, e.g. 0-5")
        layers = range(chosen[0], chosen[-1] + 1)
    if args.method == "sefa":
        dirs = sefa_directions(model, args.num, layers)
    elif model.family == "biggan":
        z, features = sample_biggan_features(model.generator, args.samples, seed=args.seed)
        dirs = Directions.from_pca(features, args.num, latents=z, space="z", model_sha256=model.sha256)
    else:
        w = sample_w(model.generator, args.samples, seed=args.seed)
        dirs = Directions.from_pca(w, args.num, space="w", layers=layers, model_sha256=model.sha256)
    dirs.save(args.out)
    if not args.quiet:
        print(f"wrote {dirs.k} {args.method} directions in {dirs.space} to {args.out}")
    return 0


def _cmd_translate(args: argparse.Namespace) -> int:
    from bigart.engine.threads import configure_torch_threads
    from bigart.jobs.translate import TranslateSpec, run

    configure_torch_threads()
    spec = TranslateSpec(
        model=args.model,
        inputs=args.inputs,
        out=args.out,
        direction=args.direction,
        tile=None if args.tile == 0 else args.tile,
        overlap=args.overlap,
        working_size=args.size,
        device=args.device,
        npy=args.npy,
        backend=args.backend,
    )
    result = run(spec, _progress_bar(args.quiet))
    for _src, message in result.failed:
        print(f"bigart: skipped: {message}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {len(result.written)} images to {args.out}"
            + (f", {len(result.failed)} skipped" if result.failed else "")
        )
    return 1 if result.failed else 0


def _cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "emoji":
        from bigart.training.emoji import prepare_emoji

        bar = _progress_bar(args.quiet)
        m = prepare_emoji(args.out, args.size, args.fixture_per_class, bar, train_view=not args.no_train_view)
        if not args.quiet:
            per_style = ", ".join(f"{s} {sum(m['counts'][s].values())}" for s in m["styles"])
            only = ", ".join(f"{s} only {sum(m['skipped'][f'only_{s}'].values())}" for s in m["styles"])
            print(f"wrote {m['images']} images of {m['pairs']} emoji in {len(m['classes'])} classes to {args.out}")
            print(f"({per_style}; skipped: {only}, in neither {m['skipped']['in_neither_style']})")
        return 0
    from bigart.engine.threads import configure_torch_threads
    from bigart.training.classifier import train_classifier_on_folder

    configure_torch_threads()
    report = train_classifier_on_folder(
        args.data, args.out, args.resolution, args.epochs, args.seed, _progress_bar(args.quiet)
    )
    if not args.quiet:
        print(
            f"wrote {args.out}: held-out accuracy {report['held_out_accuracy']:.3f} on {report['held_out_images']} "
            f"images (chance {report['chance']:.3f}), {report['seconds']:.0f} s"
        )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from bigart.engine.threads import configure_torch_threads
    from bigart.jobs.evaluate import EvaluateSpec, format_report, run

    configure_torch_threads()
    spec = EvaluateSpec(
        model=args.model,
        data=args.data,
        classifier=args.classifier,
        samples=args.samples,
        repeats=args.repeats,
        style=args.style,
        psi=args.psi,
        seed=args.seed,
        device=args.device,
        json_out=args.json,
    )
    report = run(spec, _progress_bar(args.quiet))
    if not args.quiet:
        print(format_report(report))
    early = early_steps = None
    if args.early:
        early = run(dataclasses.replace(spec, model=args.early, json_out=None), _progress_bar(args.quiet))
        from bigart.jobs.card import model_card

        early_steps = model_card(args.early).get("steps")
        if not args.quiet:
            print(f"early checkpoint ({early_steps} steps):")
            print(format_report(early))
    if args.card:
        from bigart.jobs.card import write_card

        md, grid = write_card(args.model, report, early, early_steps, args.recipe, args.data, args.classifier)
        print(f"wrote the metrics into {args.model}, and {md} with {grid}")
    return 0


def _add_data_and_evaluate(sub) -> None:
    """``bigart data emoji|classifier`` and ``bigart evaluate``."""
    s = sub.add_parser("data", help="prepare training data (emoji) and the classifier that evaluation uses")
    data = s.add_subparsers(dest="data_command", required=True)
    d = data.add_parser("emoji", help="download Noto Emoji and Twemoji with npm and write them by category")
    d.add_argument("--out", required=True, help="output folder: OUT/<style>/<Category>/<code>.png")
    d.add_argument("--size", type=int, default=64, help="pixels (default 64; above 64 renders SVGs with resvg-py)")
    d.add_argument("--fixture-per-class", type=int, help="keep only N emoji per category (a small test fixture)")
    d.add_argument("--no-train-view", action="store_true", help="skip OUT/train/ (the emoji not held out)")
    d.add_argument("-q", "--quiet", action="store_true")
    d.set_defaults(func=_cmd_data)
    d = data.add_parser("classifier", help="train the emoji-category classifier on a prepared emoji folder")
    d.add_argument("--data", required=True, help="folder written by 'bigart data emoji'")
    d.add_argument("--out", required=True, help="classifier file (.safetensors)")
    d.add_argument("--resolution", type=int, help="input resolution (default: the data's, at most 64)")
    d.add_argument("--epochs", type=int, default=30)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("-q", "--quiet", action="store_true")
    d.set_defaults(func=_cmd_data)

    s = sub.add_parser("evaluate", help="measure a generator against real data (Frechet distance, memorisation, ...)")
    s.add_argument("--model", required=True)
    s.add_argument("--data", required=True, help="folder written by 'bigart data emoji'")
    s.add_argument("--classifier", help="classifier file (default: DATA/classifier.safetensors if present)")
    s.add_argument("--samples", type=int, default=1000, help="generated samples (default 1000)")
    s.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="StyleGAN/BigGAN: Frechet distances over this many sets of --samples and real halvings, as mean ± sd",
    )
    s.add_argument("--style", help="compare with this style only (StyleGAN/BigGAN; default: every style)")
    s.add_argument("--psi", type=float, default=1.0, help="truncation (default 1: none)")
    s.add_argument("--seed", type=int, default=0, help="first seed of the generated samples")
    s.add_argument("--device", default="cpu")
    s.add_argument("--json", help="write the report as JSON here")
    s.add_argument("--early", metavar="MODEL", help="also evaluate an early checkpoint of the same run, to compare")
    s.add_argument("--card", action="store_true", help="write the metrics into the model file, MODEL.md and MODEL.png")
    s.add_argument("--recipe", help="the training recipe to name in the card (e.g. models/recipes/NAME.json)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_evaluate)


def _cmd_finetune(args: argparse.Namespace) -> int:
    import os

    from bigart.engine.threads import configure_torch_threads
    from bigart.training.loop import train
    from bigart.training.spec import TrainSpec

    spec: dict = {}
    if args.spec:
        spec = TrainSpec.from_json(args.spec).to_dict()
    elif args.resume and args.out and (Path(args.out) / "spec.json").exists() and args.family is None:
        spec = TrainSpec.from_json(Path(args.out) / "spec.json").to_dict()
    flags = {
        "family": args.family,
        "data": args.data,
        "data_b": args.data_b,
        "base": args.base,
        "out": args.out,
        "resolution": args.resolution,
        "steps": args.steps,
        "stop_at": args.stop_at,
        "batch": args.batch,
        "sample_every": args.sample_every,
        "checkpoint_every": args.checkpoint_every,
        "precision": args.precision,
        "export": args.export,
        "device": args.device,
        "seed": args.seed,
        "freeze_d": args.freeze_d,
        "d_warmup": args.d_warmup,
        "loss": args.loss,
        "augment": args.augment,
        "lr_decay_steps": args.lr_decay,
        "lr_schedule": args.lr_schedule,
    }
    spec.update({k: v for k, v in flags.items() if v is not None})
    for key, other in (("lr_schedule", "lr_decay_steps"), ("lr_decay_steps", "lr_schedule")):
        if flags[key] is not None:  # a schedule on the command line replaces the SPEC's schedule of the other kind
            spec[other] = None
    if args.resume:
        spec["resume"] = True
    missing = [k for k in ("family", "data", "out") if not spec.get(k)]
    if missing:
        raise BigartError(f"finetune: give a SPEC.json or --{' --'.join(missing)}")
    main_rank = int(os.environ.get("RANK", "0")) == 0
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        configure_torch_threads()
    result = train(TrainSpec.from_dict(spec), _progress_bar(args.quiet or not main_rank))
    if main_rank and not args.quiet:
        if result.aborted:
            print(f"stopped at step {result.step}; continue with: bigart finetune --out {result.out} --resume")
        else:
            print(f"trained to step {result.step} ({result.images_seen} images) in {result.out}")
        if result.export:
            print(f"wrote {result.export}")
    return 130 if result.aborted else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bigart", description="Explore, render and convert GAN generators.")
    p.add_argument("--version", action="version", version=f"bigart {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("inspect", help="describe a model file (or, with --engine, the inference backends)")
    s.add_argument("file", nargs="?")
    s.add_argument("--engine", action="store_true", help="backends, ONNX Runtime providers, device and threads")
    s.add_argument("--json", action="store_true", help="print JSON for machines")
    s.set_defaults(func=_cmd_inspect)

    s = sub.add_parser("convert", help="convert a checkpoint to a bigart .safetensors model file")
    s.add_argument("input")
    s.add_argument("out")
    s.add_argument("--license", help="license text to record in the model file")
    s.add_argument("--psi", type=float, help="default truncation to record")
    s.set_defaults(func=_cmd_convert)

    s = sub.add_parser(
        "export-onnx",
        help="export a model's ONNX graphs for ONNX Runtime's CPU provider (verified against torch) to a folder",
    )
    s.add_argument("--model", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_export_onnx)

    s = sub.add_parser("render", help="render seeds, saved latents or a recipe to PNG files (with their recipes)")
    s.add_argument(
        "--model",
        help="model file (.pkl, .pt, .pth, .safetensors); a recipe names its own; default: the shipped emoji StyleGAN2",
    )
    s.add_argument("--seeds", help="seed list, e.g. 0-7 or 0-9,12")
    s.add_argument("--latents", help=".npz with z [N, z_dim] (+ c), or w [N, w_dim] / ws [N, num_ws, w_dim]")
    s.add_argument("--recipe", help="a bigart PNG or .json recipe to render again, exactly")
    s.add_argument(
        "--direction",
        action="append",
        metavar="FILE:IDX=AMOUNT",
        help="move along directions of a file from 'bigart directions', e.g. dirs.npz:0=2.5,3=-1 (repeatable)",
    )
    s.add_argument(
        "--mix",
        action="append",
        metavar="SEED@LAYERS",
        help="style mixing: take these w+ layers from SEED, e.g. 42@0-3 or 42@fine (repeatable)",
    )
    s.add_argument("--psi", type=float, default=1.0, help="truncation psi; BigGAN's truncation in (0, 1] (default 1)")
    s.add_argument("--cutoff", type=int, help="truncate only the first N layers of w")
    s.add_argument("--noise-mode", default="const", choices=["const", "random", "none"])
    s.add_argument(
        "--class",
        dest="class_spec",
        help="class for conditional models: an index, a name (BigGAN: ImageNet names, parts of names work), "
        "or a mixture like 'golden retriever:0.7,tabby:0.3'",
    )
    s.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    s.add_argument("--batch", type=int, default=4, help="images per batch")
    s.add_argument(
        "--backend", choices=["torch", "onnx"], help="torch or ONNX Runtime (default torch, or the recipe's)"
    )
    s.add_argument("--npy", action="store_true", help="also write the float32 CHW output beside each PNG")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_render)

    s = sub.add_parser("directions", help="find meaningful latent directions (SeFa or PCA) and save them")
    s.add_argument("--model", required=True)
    s.add_argument("--method", choices=["sefa", "pca"], default="sefa")
    s.add_argument("--num", type=int, default=16, help="how many directions (default 16)")
    s.add_argument("--layers", help="StyleGAN: the w+ layers to factorise and edit, e.g. 0-5 or coarse")
    s.add_argument("--samples", type=int, default=20_000, help="PCA: latents to sample (default 20000)")
    s.add_argument("--seed", type=int, default=0, help="PCA: sampling seed")
    s.add_argument("--out", required=True, help="the .npz to write")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_directions)

    s = sub.add_parser("translate", help="translate images with a CycleGAN model (any size, alpha kept)")
    s.add_argument("--model", required=True, help="CycleGAN model: .pth, a junyanz checkpoints folder, .safetensors")
    s.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"])
    s.add_argument("--tile", type=int, default=512, help="tile size for large images (0: never tile; default 512)")
    s.add_argument("--overlap", type=int, default=64, help="overlap between tiles in pixels (default 64)")
    s.add_argument("--size", type=int, help="working resolution: scale the long side to this for the net")
    s.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="torch (default) or ONNX Runtime")
    s.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    s.add_argument("--npy", action="store_true", help="also write the float32 CHW output beside each PNG")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("-q", "--quiet", action="store_true")
    s.add_argument("inputs", nargs="+", help="images to translate")
    s.set_defaults(func=_cmd_translate)

    s = sub.add_parser("gui", help="the desktop app: explore a model, translate pictures, restore recipes")
    s.add_argument("--model", help="a model file or folder to open (default: the shipped emoji StyleGAN2)")
    s.add_argument("--recipe", help="a bigart PNG or .json recipe to restore (opens its model)")
    s.add_argument("--image", help="a picture to translate (with a CycleGAN model)")
    s.add_argument("--screenshot", metavar="OUT.png", help="save a picture of the window after the first render, exit")
    s.set_defaults(func=_cmd_gui)

    s = sub.add_parser("finetune", help="train or fine-tune a StyleGAN2, BigGAN or CycleGAN model on an image folder")
    s.add_argument("spec", nargs="?", help="a JSON training spec (flags override its fields)")
    s.add_argument("--family", choices=["stylegan2", "biggan", "cyclegan"])
    s.add_argument("--data", help="image folder (class sub-folders give labels; CycleGAN: trainA/ and trainB/)")
    s.add_argument("--data-b", help="CycleGAN: the domain-B folder, when --data is domain A")
    s.add_argument("--base", metavar="MODEL", help="model to fine-tune (any format bigart reads); none: from scratch")
    s.add_argument("--out", help="run folder: checkpoint, progress.jsonl, samples/")
    s.add_argument("--resolution", type=int, help="image size (from the base model when fine-tuning GANs)")
    s.add_argument("--steps", type=int, help="total steps (a resumed run continues up to this)")
    s.add_argument(
        "--stop-at",
        type=int,
        metavar="STEP",
        help="end at this step (checkpoint, samples, --export there) keeping the run's steps and learning-rate "
        "schedule, so --resume goes on as if uninterrupted: an early checkpoint of the same run",
    )
    s.add_argument("--batch", type=int, help="images per step, over all processes")
    s.add_argument("--sample-every", type=int, help="write a sample grid every N steps")
    s.add_argument("--checkpoint-every", type=int, help="write a checkpoint every N steps")
    s.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="fp32 (default) or autocast bf16 / fp16")
    s.add_argument("--device", help="cpu, cuda or cuda:N")
    s.add_argument("--seed", type=int)
    s.add_argument("--freeze-d", type=int, help="freeze the first N discriminator blocks (fine-tuning)")
    s.add_argument(
        "--d-warmup",
        type=int,
        metavar="N",
        help="StyleGAN2: train the discriminator alone for the first N steps (a base model without its own)",
    )
    s.add_argument("--loss", choices=["logistic", "hinge"], help="BigGAN: logistic (default) or hinge")
    s.add_argument("--augment", choices=["ada", "fixed", "none"], help="discriminator augmentation (default ada)")
    s.add_argument(
        "--lr-decay",
        type=int,
        metavar="N",
        help="learning rates fall linearly to zero over the last N steps (may be added when resuming)",
    )
    s.add_argument(
        "--lr-schedule",
        type=_lr_schedule,
        metavar="STEP:F,...",
        help="learning-rate multiplier F at STEP, linear in between; a step given twice is a jump "
        "(e.g. 0:1,9000:1,12000:0); replaces --lr-decay",
    )
    s.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    s.add_argument("--export", metavar="FILE.safetensors", help="write the trained generator as a bigart model file")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_finetune)

    s = sub.add_parser(
        "export",
        help="export image series, contact sheets, sweeps, mixing figures, walks (GIF/MP4), translated folders",
        description="Run an export spec (JSON), or make one from flags. Resumable: finished files are skipped. "
        "Several processes: torchrun --nproc_per_node N -m bigart export SPEC.json",
    )
    s.add_argument("spec", nargs="?", help="an export spec (.json); flags given as well override its keys")
    s.add_argument(
        "--kind", help="seeds, grid, sweep, mixing, walk, classes or translate (default: from the flags, else seeds)"
    )
    s.add_argument("--model", help="model file")
    s.add_argument("--out", help="output folder")
    s.add_argument("--seeds", help="seed list, e.g. 0-99 or 0-9,12")
    s.add_argument("--psi", type=float, help="truncation psi; BigGAN's truncation in (0, 1]")
    s.add_argument("--cutoff", type=int, help="truncate only the first N layers of w")
    s.add_argument("--noise-mode", dest="noise_mode", choices=["const", "random", "none"])
    s.add_argument("--class", dest="class", help="class (index, name or mixture a:0.7,b:0.3) for conditional models")
    s.add_argument("--direction", dest="directions", action="append", metavar="FILE:IDX=AMOUNT", help="as render")
    s.add_argument("--mix", action="append", metavar="SEED@LAYERS", help="style mixing, as render")
    s.add_argument("--grid", metavar="ROWSxCOLS", help="a contact sheet of the seeds, e.g. 4x4")
    s.add_argument("--labels", action="store_true", default=None, help="label sheet cells with their seeds")
    s.add_argument("--padding", type=int, help="pixels around sheet cells (default 2)")
    s.add_argument("--sweep", metavar="FILE:IDX", help="sweep this direction from -AMOUNT to AMOUNT")
    s.add_argument("--amount", type=float, help="sweep amount (default 3)")
    s.add_argument("--steps", type=int, help="steps of a sweep or class blend (default 9)")
    s.add_argument("--rows", dest="row_seeds", help="style mixing figure: row seeds (they keep the other layers)")
    s.add_argument("--cols", dest="col_seeds", help="style mixing figure: column seeds (they give --layers)")
    s.add_argument("--layers", help="style mixing layers: coarse, middle, fine or e.g. 0-3 (default coarse)")
    s.add_argument("--keyframes", help="walk through seeds, .npz latents or recipe PNGs, e.g. 1,5,9 or a.png,7")
    s.add_argument("--frames", type=int, help="frames of the walk (default 60)")
    s.add_argument("--interp", choices=["linear", "slerp", "cubic"], help="walk interpolation (default slerp)")
    s.add_argument("--easing", choices=["ease-in-out"], help="pause at each keyframe")
    s.add_argument("--space", choices=["z", "w"], help="walk in z or (StyleGAN) w (default z)")
    s.add_argument("--loop", action="store_true", default=None, help="walk back to the first keyframe, seamlessly")
    s.add_argument("--class-a", dest="class_a", help="class blend: from this class ...")
    s.add_argument("--class-b", dest="class_b", help="... to this class")
    s.add_argument("--inputs", help="translate: a folder (recursive, sub-folders kept) or one image")
    s.add_argument("--translate-direction", dest="direction", choices=["AtoB", "BtoA"])
    s.add_argument("--tile", type=int, help="translate: tile size (0: never tile; default 512)")
    s.add_argument("--overlap", type=int, help="translate: tile overlap (default 64)")
    s.add_argument("--size", dest="working_size", type=int, help="translate: working resolution (long side)")
    s.add_argument("--video", action="append", metavar="NAME.mp4|NAME.gif", help="animate the frames (repeatable)")
    s.add_argument("--fps", type=float, help="frames per second (default 30)")
    s.add_argument("--crf", type=int, help="MP4 quality, 0 lossless .. 51 worst (default 18)")
    s.add_argument("--format", choices=["png", "jpg", "webp"], help="image format (default png)")
    s.add_argument("--quality", type=int, help="JPEG/WebP quality 1..100 (default 95)")
    s.add_argument("--backend", choices=["torch", "onnx"])
    s.add_argument("--device", help="cpu, cuda or cuda:N")
    s.add_argument("--batch", dest="batch_size", type=int, help="images per batch (default 8)")
    s.add_argument("--writers", type=int, help="threads writing files while the next batch renders (default 2)")
    s.add_argument("--write-spec", metavar="FILE", help="write the spec these flags make to FILE and stop")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=_cmd_export)
    _add_data_and_evaluate(sub)
    return p


def _cmd_gui(args: argparse.Namespace) -> int:
    from bigart.gui.app import launch  # Qt only here: every other command runs without it

    return launch(args.model, args.recipe, args.screenshot, args.image)


# flag -> kind, when neither --kind nor the spec names one
_EXPORT_KIND_OF = {
    "grid": "grid",
    "keyframes": "walk",
    "sweep": "sweep",
    "row_seeds": "mixing",
    "col_seeds": "mixing",
    "class_a": "classes",
    "class_b": "classes",
    "inputs": "translate",
}
_EXPORT_NOT_SPEC = {"spec", "write_spec", "quiet", "func", "command", "debug"}  # the other flags are spec keys


def _cmd_export(args: argparse.Namespace) -> int:
    import os

    from bigart.jobs.export import ExportSpec, ExportSpecError, run

    data = {}
    if args.spec:
        try:
            data = json.loads(Path(args.spec).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ExportSpecError(f"{args.spec}: not a readable JSON spec ({e})") from e
        if not isinstance(data, dict):
            raise ExportSpecError(f"{args.spec}: an export spec is a JSON object")
    flags = {k: v for k, v in vars(args).items() if k not in _EXPORT_NOT_SPEC and v is not None}
    if flags.get("tile") == 0:
        flags["tile"] = None
    data.update(flags)
    if "kind" not in data:
        data["kind"] = next((kind for k, kind in _EXPORT_KIND_OF.items() if k in data), "seeds")
    where = f"{args.spec}: " if args.spec and not flags else ""
    try:
        spec = ExportSpec.from_json(data)
    except ExportSpecError as e:
        raise ExportSpecError(f"{where}{e}") from e
    if args.write_spec:
        spec.save(args.write_spec)
        if not args.quiet:
            print(f"wrote {args.write_spec}: run it with 'bigart export {args.write_spec}'")
        return 0
    rank = int(os.environ.get("RANK", "0") or 0)
    result = run(spec, _progress_bar(args.quiet or rank != 0))
    for src, message in result.failed:
        print(f"bigart: skipped {src}: {message}", file=sys.stderr)
    if not args.quiet:
        who = f"rank {rank}: " if result.world > 1 else ""
        print(f"{who}wrote {len(result.written)} images to {spec.out} ({result.skipped} already done)")
        for path in result.products:
            print(f"wrote {path}")
        if result.manifest is not None:
            print(f"manifest: {result.manifest}")
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BigartError as e:
        if args.debug:
            raise
        print(f"bigart: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bigart: interrupted", file=sys.stderr)
        return 130
