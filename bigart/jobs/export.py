"""Batch export over a JSON spec: image series, contact sheets, direction sweeps, style-mixing figures, latent walks,
class blends and translated folders. ``bigart export SPEC.json`` runs this, alone or under ``torchrun``.

A spec (:mod:`bigart.jobs.export_spec`) plans *items*, single images each with the recipe that re-renders it
(``bigart render --recipe``), and *products* made from finished items only (:mod:`bigart.jobs.export_plan`):
contact sheets (whose recipe lists their cells in ``state``), looping GIFs and H.264 MP4s. Items are rendered in
batches on the chosen backend while a few writer threads encode the files (PNG's zlib runs without the GIL); every
file reaches its final name atomically and is recorded in the manifest (:mod:`bigart.jobs.manifest`), so a run that
is cancelled, killed or started again skips what is finished. Under ``torchrun`` rank ``r`` renders items
``r, r + N, ...`` and rank 0 merges the manifest parts and makes the products once every rank is done.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from bigart.engine.engine import STYLEGAN, Engine
from bigart.engine.images import read_recipe, to_uint8
from bigart.engine.recipe import ImageRef, ModelRef, Recipe, envelope, request_to_json, translation_json
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.engine.translate import load_image
from bigart.errors import BigartError, ImageError
from bigart.jobs import manifest as book
from bigart.jobs.export_plan import Item, Plan, Product, check_model, make_plan
from bigart.jobs.export_spec import KINDS, ExportSpec, ExportSpecError
from bigart.jobs.media import compose_sheet, read_rgb, sha256_path, sidecar, write_gif, write_image, write_mp4
from bigart.jobs.progress import Progress
from bigart.jobs.ranks import Ranks
from bigart.latent.biggan import truncated_z_from_seeds
from bigart.models import load_model


def merge_requests(requests: list[RenderRequest]) -> RenderRequest | None:
    """One request for one-image requests that differ only in their latents (seeds, z or ws), else None."""
    first = requests[0]
    if len(requests) == 1:
        return first

    def latent(r: RenderRequest) -> tuple:
        if r.seeds:
            return ("seeds",)
        return ("z", r.z.shape) if r.z is not None else ("ws", r.ws.shape if r.ws is not None else None)

    def rest(r: RenderRequest) -> RenderRequest:
        return replace(r, seeds=(0,), z=None, ws=None)

    r0 = rest(first)
    if any(latent(r) != latent(first) or rest(r) != r0 for r in requests[1:]):
        return None
    if first.seeds:
        return replace(first, seeds=tuple(s for r in requests for s in r.seeds))
    if first.z is not None:
        return replace(first, z=FrozenArray.of(np.concatenate([r.z.numpy() for r in requests])))
    if first.ws is not None:
        return replace(first, ws=FrozenArray.of(np.concatenate([r.ws.numpy() for r in requests])))
    return None


def render_batch(engine: Engine, ref: ModelRef, requests: list[RenderRequest]) -> np.ndarray:
    """Float images ``[N, C, H, W]`` for one-image requests rendered as one batch of ``N``, so that each row is what
    its recipe (``batch_size=N``) re-renders: requests that differ only in their latents run as one request; others
    (a sweep's strengths, a class blend's weights) get their latents exactly as the recipe's repeated request
    would, and share one synthesis."""
    merged = merge_requests(requests)
    if merged is not None:
        return engine.generate(merged)
    n, first = len(requests), requests[0]
    if engine.model.family in STYLEGAN:
        rows = [engine.request_ws(Recipe(ref, r, batch_size=n).exact_request())[:1] for r in requests]
        return engine.synthesize(np.concatenate(rows), first.noise_mode)
    g = engine.g
    zs, cs = [], []
    for r in requests:  # BigGAN: z and class weights per row, as Engine.generate computes them
        z = truncated_z_from_seeds(r.seeds, g.z_dim, r.psi) if r.seeds else r.z.numpy()
        z = z.astype(np.float32, copy=True)
        for vector, strength in r.directions:
            z += np.float32(strength) * vector.numpy()
        zs.append(z)
        cs.append(r.class_vector(g.num_classes)[None])
    return engine.biggan(np.concatenate(zs), np.concatenate(cs), first.psi)


def _batches(items: list[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive runs of at most ``size`` items that may share a batch (same truncation and noise)."""
    batch: list[Item] = []
    for item in items:
        r = item.request
        if batch and (
            len(batch) == size
            or r is None
            or batch[0].request is None
            or (r.psi, r.noise_mode) != (batch[0].request.psi, batch[0].request.noise_mode)
        ):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


@dataclass
class ExportResult:
    out: Path
    written: list[Path] = field(default_factory=list)  # items made by this run (this process)
    skipped: int = 0  # items already finished
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, message)
    products: list[Path] = field(default_factory=list)  # sheets and animations made by this run
    manifest: Path | None = None  # written by rank 0
    rank: int = 0
    world: int = 1
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return len(self.written) / self.seconds if self.seconds > 0 else 0.0


class _Exporter:
    def __init__(self, spec: ExportSpec, progress: Progress, ranks: Ranks) -> None:
        self.spec, self.progress, self.ranks = spec, progress, ranks
        self.out = Path(spec.out)
        self.model = load_model(spec.model)  # on the CPU; the engine moves it where it runs
        check_model(spec, self.model)
        self.engine = Engine(self.model, spec.backend, ranks.device(spec.device), threads=ranks.threads())
        self.ref = ModelRef.of(self.model)
        self.result = ExportResult(self.out, rank=ranks.rank, world=ranks.world)
        self._inputs: dict[str, dict[str, Any]] = {}
        self.header = {
            "format": book.FORMAT,
            "version": book.VERSION,
            "kind": spec.kind,
            "model": {"sha256": self.model.sha256, "family": self.model.family, "file": self.ref.file},
            "spec": spec.to_json(),
        }

    # --- what decides the pixels ----------------------------------------------------------------------------
    def _lossy(self) -> int | None:
        return self.spec.quality if self.spec.format != "png" else None

    def expected(self, item: Item) -> dict[str, Any]:
        """What an item's recipe must hold: model, request and (for generated images) backend."""
        if item.request is not None:
            return {"model": self.model.sha256, "request": request_to_json(item.request), "backend": self.spec.backend}
        if item.file not in self._inputs:  # a translation names its input by hash: read it once
            s = self.spec
            image = ImageRef.of(item.source)
            request = translation_json(self.ref, image, s.direction, s.tile, s.overlap, s.working_size)
            self._inputs[item.file] = {"model": self.model.sha256, "request": request, "backend": None}
        return self._inputs[item.file]

    def _key(self, expected: dict[str, Any]) -> str:
        return book.key_of({**expected, "format": self.spec.format, "quality": self._lossy()})

    # --- the job ---------------------------------------------------------------------------------------------
    def run(self) -> ExportResult:
        start = time.perf_counter()
        spec, ranks, out = self.spec, self.ranks, self.out
        out.mkdir(parents=True, exist_ok=True)
        plan_ = make_plan(spec, self.model, self.engine)
        mine = ranks.share(plan_.items)
        own = [i.file for i in mine] + [book.part_name(ranks.rank)]
        if ranks.rank == 0:
            own += [p.file for p in plan_.products] + [book.NAME]
        if spec.format != "png":
            own += [PurePosixPath(f).with_suffix(".json").as_posix() for f in own]
        book.remove_stale_temps(out, own)
        entries, _ = book.read_entries(out)
        self._journal = journal = book.Journal(out, ranks.rank)
        try:
            todo = self._resume(mine, entries, journal)
            products = len(plan_.products) if ranks.rank == 0 else 0
            self.progress.start(len(todo) + products, f"export {spec.kind}")
            try:
                self._render(todo, journal)
                journal.write_part({**self.header, "rank": ranks.rank, "world": ranks.world})
                ranks.barrier()
                if ranks.rank == 0:
                    self._finish(plan_)
            finally:
                self.progress.close()
        finally:
            journal.close()
        self.result.seconds = time.perf_counter() - start
        return self.result

    def _resume(self, mine: list[Item], entries: dict[str, dict], journal: book.Journal) -> list[Item]:
        """The items still to make; finished ones are recorded again in this process's journal."""
        todo = []
        for item in mine:
            expected = self.expected(item)
            item.info["key"] = key = self._key(expected)
            entry = book.is_done(self.out, item.file, key, entries.get(item.file))
            path = self.out / item.file
            if entry is None and path.is_file() and book.matches_recipe(path, expected):
                entry = {"file": item.file, **item.info, "sha256": sha256_path(path), "rank": self.ranks.rank}
            if entry is None:
                todo.append(item)
            else:
                journal.add(entry)
                self.result.skipped += 1
        return todo

    def _render(self, todo: list[Item], journal: book.Journal) -> None:
        spec = self.spec
        pool = ThreadPoolExecutor(spec.writers, "bigart-writer") if spec.writers > 0 else None
        pending: deque[tuple[Item, Future]] = deque()
        limit = max(2, spec.writers) * spec.batch_size  # images waiting to be written, at most

        def done(item: Item, sha: str) -> None:
            journal.add({"file": item.file, **item.info, "sha256": sha, "rank": self.ranks.rank})
            self.result.written.append(self.out / item.file)
            self.progress.advance()

        def collect(keep: int) -> None:
            while pending and (len(pending) > keep or pending[0][1].done()):
                item, future = pending.popleft()
                done(item, future.result())

        def write(item: Item, pixels: np.ndarray, recipe: dict[str, Any]) -> None:
            args = (self.out / item.file, pixels, recipe, spec.format, spec.quality)
            if pool is None:
                done(item, write_image(*args))
            else:
                pending.append((item, pool.submit(write_image, *args)))

        try:
            size = 1 if spec.kind == "translate" else spec.batch_size
            for batch in _batches(todo, size):
                self.progress.check_aborted()
                if batch[0].request is None:
                    self._translate(batch[0], write)
                else:
                    self._generate(batch, write)
                collect(limit)
            collect(0)
        finally:
            # whatever happens, the files already handed to the writers are finished and recorded
            while pending:
                item, future = pending.popleft()
                with contextlib.suppress(Exception):  # the error that stopped the job is the one to report
                    done(item, future.result())
            if pool is not None:
                pool.shutdown(wait=True)

    def _generate(self, batch: list[Item], write) -> None:
        e = self.engine
        requests = [item.request for item in batch]
        pixels = to_uint8(render_batch(e, self.ref, requests))
        n = len(batch)
        for item, px in zip(batch, pixels, strict=True):
            recipe = Recipe(self.ref, item.request, e.backend, e.device, e.precision, e.provider, batch_size=n)
            write(item, px, recipe.to_json())

    def _translate(self, item: Item, write) -> None:
        s = self.spec
        try:
            image = load_image(item.source, s.max_pixels)
        except ImageError as e:
            self._failed(item, str(e))
            return
        rgba = image.rgb if image.alpha is None else np.dstack([image.rgb, image.alpha])
        request = RenderRequest(
            image=FrozenArray.of(rgba, np.uint8),
            direction=s.direction,
            tile=s.tile,
            overlap=s.overlap,
            working_size=s.working_size,
        )
        result = self.engine.render(request)
        if not result.ok:
            self._failed(item, f"{item.source}: {result.error}")
            return
        expected = self.expected(item)
        recipe = envelope(self.ref, expected["request"], result.backend, self.engine.device, "fp32", result.provider)
        write(item, result.image, recipe)

    def _failed(self, item: Item, message: str) -> None:
        """A bad input is named and skipped; the others still come out."""
        self.result.failed.append((item.info["input"], message))
        self._journal.fail(item.info["input"], message)
        self.progress.advance()

    # --- rank 0: the manifest and the products -----------------------------------------------------------------
    def _finish(self, plan_: Plan) -> None:
        out = self.out
        order = [i.file for i in plan_.items] + [p.file for p in plan_.products]
        inputs = {i.info["input"] for i in plan_.items if "input" in i.info}
        files, failed = book.merge(out, self.header, order, inputs)
        self.result.failed = [(f["input"], f["error"]) for f in failed]
        by_file = {e["file"]: e for e in files}
        total = len(order)
        for product in plan_.products:
            self.progress.check_aborted()
            entry = self._product(product, plan_.items, by_file)
            by_file[product.file] = entry
            listed = [by_file[f] for f in order if f in by_file]
            book.write_manifest(out, self.header, listed, failed, complete=len(listed) == total)
            self.progress.advance()
        self.result.manifest = out / book.NAME

    def _product(self, product: Product, items: list[Item], by_file: dict[str, dict]) -> dict[str, Any]:
        spec, out = self.spec, self.out
        files = [[None if i is None else items[i].file for i in row] for row in product.cells]
        missing = [f for row in files for f in row if f is not None and f not in by_file]
        if missing:
            raise BigartError(f"cannot make {product.file}: {len(missing)} of its images are missing ({missing[0]})")
        params = {"kind": product.kind, **product.info, "labels": product.labels is not None}
        if product.kind == "sheet":
            params.update(format=spec.format, quality=self._lossy())
        else:
            params.update(fps=spec.fps, crf=spec.crf if product.kind == "mp4" else None)
        key = book.key_of({"cells": [[f and by_file[f]["sha256"] for f in row] for row in files], **params})
        done = book.is_done(out, product.file, key, by_file.get(product.file))
        if done is not None:
            return done
        path = out / product.file
        path.parent.mkdir(parents=True, exist_ok=True)
        info = dict(product.info)
        if product.kind == "sheet":
            pixels = [[None if f is None else read_rgb(out / f) for f in row] for row in files]
            sheet = compose_sheet(pixels, spec.padding, product.labels)
            sha = write_image(path, sheet, self._sheet_recipe(product, files), spec.format, spec.quality)
        else:
            frames = (read_rgb(out / f) for f in files[0])
            if product.kind == "mp4":
                count = write_mp4(path, frames, spec.fps, spec.crf)
            else:
                count = write_gif(path, frames, spec.fps)
            info["frames"] = count
            sha = sha256_path(path)
        self.result.products.append(path)
        kind = "sheet" if product.kind == "sheet" else "video"
        return {"file": product.file, "kind": kind, **info, "format": product.kind, "sha256": sha, "key": key}

    def _sheet_recipe(self, product: Product, files: list[list[str | None]]) -> dict[str, Any]:
        """The first cell's recipe, with every cell (file, request, batch size) listed in ``state['sheet']``."""
        cells = []
        first = None
        for r, row in enumerate(files):
            for c, f in enumerate(row):
                if f is None:
                    continue
                recipe = _stored_recipe(self.out / f)
                first = first or recipe
                cell = {"row": r, "col": c, "file": f, "request": recipe["request"]}
                cell["batch_size"] = recipe.get("batch_size", 1)
                cells.append(cell)
        assert first is not None
        state = {"sheet": {"kind": self.spec.kind, **product.info, "labels": product.labels, "cells": cells}}
        return {**first, "state": state}


def _stored_recipe(path: Path) -> dict[str, Any]:
    data = read_recipe(path) if path.suffix.lower() == ".png" else json.loads(sidecar(path).read_text("utf-8"))
    if not isinstance(data, dict):
        raise BigartError(f"{path}: carries no recipe")
    return data


def run(spec: ExportSpec, progress: Progress | None = None) -> ExportResult:
    """Export everything ``spec`` asks for into ``spec.out``, skipping what is finished; under ``torchrun``
    (``WORLD_SIZE > 1``) this process does its share and rank 0 merges the manifest and makes the products."""
    progress = progress or Progress()
    spec.check()
    ranks = Ranks.from_env()
    try:
        return _Exporter(spec, progress, ranks).run()
    finally:
        ranks.close()


__all__ = ["KINDS", "ExportResult", "ExportSpec", "ExportSpecError", "make_plan", "render_batch", "run"]
