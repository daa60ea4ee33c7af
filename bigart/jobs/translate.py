"""Translate images with a CycleGAN-family model: ``bigart translate`` runs this.

Each input becomes ``OUT/<stem>.png`` (RGBA when the input had alpha) carrying its recipe; with ``npy`` the float32
CHW output is written beside it. A bad input is named and skipped; the others still come out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from bigart.engine.engine import Engine
from bigart.engine.images import save_npy, save_png
from bigart.engine.recipe import ImageRef, ModelRef, envelope, translation_json
from bigart.engine.translate import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    load_image,
    to_pixels,
    translate_image,
)
from bigart.errors import BigartError, ImageError
from bigart.jobs.progress import Progress
from bigart.models import load_model


@dataclass
class TranslateSpec:
    model: str
    inputs: list[str]
    out: str
    direction: str = "AtoB"
    tile: int | None = DEFAULT_TILE
    overlap: int = DEFAULT_OVERLAP
    working_size: int | None = None
    device: str = "cpu"
    npy: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    backend: str = "torch"


@dataclass
class TranslateResult:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, message)


class _EngineNet:
    """The engine seen as a CycleGAN net by the translation code (whole images; tiling needs torch)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        g = engine.g
        self.size_multiple, self.input_nc, self.output_nc = g.size_multiple, g.input_nc, g.output_nc

    def __call__(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return torch.from_numpy(self.engine.translate(x.cpu().numpy(), direction))


def _out_name(stem: str, used: set[str]) -> str:
    name, i = stem, 1
    while name in used:
        name, i = f"{stem}-{i}", i + 1
    used.add(name)
    return name


def run(spec: TranslateSpec, progress: Progress | None = None) -> TranslateResult:
    progress = progress or Progress()
    model = load_model(spec.model, device="cpu" if spec.backend == "onnx" else spec.device)
    if model.family != "cyclegan":
        raise BigartError(f"{model.path.name} is a {model.family} model: 'bigart translate' needs a CycleGAN model")
    net = model.generator
    engine = Engine(model, spec.backend, spec.device)
    if spec.direction not in net.directions:
        raise BigartError(f"{model.path.name} translates {' and '.join(net.directions)}, not {spec.direction}")
    if spec.tile is not None and spec.tile < net.size_multiple:
        raise BigartError(f"--tile must be at least {net.size_multiple} for this model")
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    result = TranslateResult()
    used: set[str] = set()
    ref = ModelRef.of(model)
    progress.start(len(spec.inputs), "translate")
    try:
        for src in spec.inputs:
            progress.check_aborted()
            try:
                image = load_image(src, spec.max_pixels)
                # Tiles share instance-norm statistics through hooks in the torch net, so tiled images run on torch.
                long_side = spec.working_size or max(image.size)
                tiled = spec.tile is not None and long_side > spec.tile
                backend = "torch" if tiled or spec.backend == "torch" else "onnx"
                runner = net if backend == "torch" else _EngineNet(engine)
                y = translate_image(
                    runner, image, spec.direction, spec.tile, spec.overlap, spec.working_size, spec.device
                )
            except ImageError as e:
                result.failed.append((str(src), str(e)))
                progress.advance()
                continue
            name = _out_name(Path(src).stem, used)
            request = translation_json(
                ref, ImageRef.of(src), spec.direction, spec.tile, spec.overlap, spec.working_size
            )
            provider = f"torch-{spec.device}" if backend == "torch" else engine.provider
            recipe = envelope(ref, request, backend, spec.device, "fp32", provider)
            png = out / f"{name}.png"
            save_png(png, to_pixels(y, image.alpha), recipe)
            if spec.npy:
                save_npy(out / f"{name}.npy", y)
            result.written.append(png)
            progress.advance()
    finally:
        progress.close()
    return result
