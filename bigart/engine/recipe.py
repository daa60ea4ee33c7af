"""Recipes: everything needed to make one image again, as versioned JSON.

A recipe names the model (file, path, sha256, family), holds the render request for that one image (seeds or the
exact z / w+ values, truncation, mixing, class weights, direction vectors with their strengths, noise, and for
translation the input image's name and hash), and what ran it (backend, device, precision, provider). ``state``
carries what the app needs beyond the request to restore a session (direction names, the seed shown, panel
choices); it never changes the pixels.

bigart writes a recipe into every PNG it saves (text chunk ``bigart``) and as ``.json``; ``bigart render --recipe``
and dropping a PNG on the app read it back. Floats go through JSON exactly (float32 -> float64 -> shortest repr), so
a recipe re-renders to the same pixels on the same backend.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bigart import __version__
from bigart.atomic import atomic_write
from bigart.engine.images import read_recipe as read_png_text
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.errors import BigartError

FORMAT = "bigart.recipe"
VERSION = 1


class RecipeError(BigartError):
    """A recipe that cannot be read, is of an unknown version, or does not fit what it is used with."""


@dataclass(frozen=True)
class ModelRef:
    """Which model a recipe needs: its sha256 decides; file and path help to find it."""

    sha256: str
    family: str
    file: str = ""
    path: str = ""

    @classmethod
    def of(cls, model: Any) -> ModelRef:
        """From a ``LoadedModel``."""
        return cls(model.sha256, model.family, Path(model.path).name, str(Path(model.path).resolve()))


@dataclass(frozen=True)
class ImageRef:
    """The input image of a translation: a recipe names it and checks it by hash, it does not embed it."""

    file: str
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike) -> ImageRef:
        return cls(Path(path).name, sha256_file(path))


@dataclass(frozen=True)
class Recipe:
    model: ModelRef
    request: RenderRequest
    backend: str = "torch"
    device: str = "cpu"
    precision: str = "fp32"
    provider: str = ""
    image: ImageRef | None = None
    state: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    batch_size: int = 1

    def __post_init__(self) -> None:
        if self.request.batch != 1 and self.request.image is None:
            raise RecipeError(f"a recipe describes one image; this request makes {self.request.batch}")
        if self.batch_size < 1:
            raise RecipeError(f"batch size must be at least 1, got {self.batch_size}")

    def exact_request(self) -> RenderRequest:
        """The request to render for the very same pixels: the image repeated ``batch_size`` times (take row 0).

        Matrix products pick their kernels by batch size, so a batch of 4 and a batch of 1 may differ in the last
        float bit, enough to move a pixel by one level; rows do not depend on each other's values, so repeating
        the one latent at the batch size it was made in reproduces it exactly.
        """
        n, r = self.batch_size, self.request
        if n == 1 or r.image is not None:
            return r
        if r.seeds:
            return replace(r, seeds=r.seeds * n)
        if r.z is not None:
            return replace(r, z=FrozenArray.of(np.repeat(r.z.numpy(), n, axis=0)))
        return replace(r, ws=FrozenArray.of(np.repeat(r.ws.numpy(), n, axis=0)))

    def to_json(self) -> dict[str, Any]:
        request = request_to_json(self.request)
        if self.image is not None:
            request["image"] = {"file": self.image.file, "sha256": self.image.sha256}
        out = envelope(self.model, request, self.backend, self.device, self.precision, self.provider, self.state)
        if self.batch_size != 1:
            out["batch_size"] = self.batch_size
        return out

    @classmethod
    def from_json(cls, data: Any, image: np.ndarray | None = None) -> Recipe:
        """Parse (and check) a recipe; a translation recipe needs its input ``image`` (uint8 ``[H, W, 3|4]``)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecipeError("not a bigart recipe (no 'format': 'bigart.recipe')")
        if data.get("version") != VERSION:
            raise RecipeError(f"recipe version {data.get('version')!r}: this bigart reads version {VERSION}")
        try:
            m = data["model"]
            model = ModelRef(str(m["sha256"]), str(m["family"]), str(m.get("file", "")), str(m.get("path", "")))
            req = data["request"]
            image_ref = None
            if "image" in req:
                image_ref = ImageRef(str(req["image"]["file"]), str(req["image"]["sha256"]))
                if image is None:
                    raise RecipeError(f"this recipe translates {image_ref.file}: give that image to re-render it")
            request = request_from_json(req, image)
            state = data.get("state") or {}
            if not isinstance(state, dict):
                raise ValueError("'state' must be an object")
            return cls(
                model,
                request,
                str(data.get("backend", "torch")),
                str(data.get("device", "cpu")),
                str(data.get("precision", "fp32")),
                str(data.get("provider", "")),
                image_ref,
                state,
                int(data.get("batch_size", 1)),
            )
        except RecipeError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise RecipeError(f"damaged recipe: {type(e).__name__}: {e}") from e

    def with_request(self, request: RenderRequest) -> Recipe:
        return replace(self, request=request)


def envelope(
    model: ModelRef,
    request: dict[str, Any],
    backend: str,
    device: str,
    precision: str,
    provider: str,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A recipe's JSON around an already serialised ``request`` (see :meth:`Recipe.to_json`)."""
    out = {
        "format": FORMAT,
        "version": VERSION,
        "bigart": __version__,
        "model": {"sha256": model.sha256, "family": model.family, "file": model.file},
        "request": request,
        "backend": backend,
        "device": device,
        "precision": precision,
        "provider": provider,
    }
    if model.path:
        out["model"]["path"] = model.path
    if state:
        out["state"] = state
    return out


def translation_json(
    model: ModelRef, image: ImageRef, direction: str, tile: int | None, overlap: int, working_size: int | None
) -> dict[str, Any]:
    """The ``request`` part of a translation recipe, without holding the image's pixels."""
    return {
        "psi": 1.0,
        "cutoff": None,
        "noise_mode": "const",
        "direction": direction,
        "tile": tile,
        "overlap": overlap,
        "working_size": working_size,
        "image": {"file": image.file, "sha256": image.sha256},
    }


def _array(value: Any, name: str, ndim: tuple[int, ...]) -> FrozenArray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim not in ndim or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"'{name}' must be a finite array of {' or '.join(map(str, ndim))} dimensions")
    return FrozenArray.of(a.astype(np.float32))


def request_to_json(r: RenderRequest) -> dict[str, Any]:
    """The JSON form of a request (without a translation's pixels, which a recipe references by :class:`ImageRef`)."""
    out: dict[str, Any] = {"psi": r.psi, "cutoff": r.cutoff, "noise_mode": r.noise_mode}
    if r.seeds:
        out["seeds"] = list(r.seeds)
    if r.z is not None:
        out["z"] = r.z.numpy().tolist()
    if r.ws is not None:
        out["ws"] = r.ws.numpy().tolist()
    if r.class_weights:
        out["class_weights"] = [[int(i), float(w)] for i, w in r.class_weights]
    if r.mixing:
        out["mix_seeds"], out["mixing"] = list(r.mix_seeds), list(r.mixing)
    if r.directions:
        out["directions"] = [{"vector": v.numpy().tolist(), "strength": float(s)} for v, s in r.directions]
    if r.image is not None:
        out.update(direction=r.direction, tile=r.tile, overlap=r.overlap, working_size=r.working_size)
    return out


def request_from_json(d: dict[str, Any], image: np.ndarray | None = None) -> RenderRequest:
    """Inverse of :func:`request_to_json`; ``image`` supplies a translation's pixels."""
    cutoff = d.get("cutoff")
    kwargs: dict[str, Any] = {
        "psi": float(d.get("psi", 1.0)),
        "cutoff": None if cutoff is None else int(cutoff),
        "noise_mode": str(d.get("noise_mode", "const")),
        "class_weights": tuple((int(i), float(w)) for i, w in d.get("class_weights", ())),
        "mix_seeds": tuple(int(s) for s in d.get("mix_seeds", ())),
        "mixing": tuple(int(k) for k in d.get("mixing", ())),
        "directions": tuple(
            (_array(x["vector"], "direction", (1, 2)), float(x["strength"])) for x in d.get("directions", ())
        ),
    }
    if "seeds" in d:
        kwargs["seeds"] = tuple(int(s) for s in d["seeds"])
    if "z" in d:
        kwargs["z"] = _array(d["z"], "z", (2,))
    if "ws" in d:
        kwargs["ws"] = _array(d["ws"], "ws", (2, 3))
    if image is not None:
        tile, size = d.get("tile", 512), d.get("working_size")
        kwargs.update(
            working_size=None if size is None else int(size),
            image=FrozenArray.of(image, np.uint8),
            direction=str(d.get("direction", "AtoB")),
            tile=None if tile is None else int(tile),
            overlap=int(d.get("overlap", 64)),
        )
    return RenderRequest(**kwargs)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_recipe_data(path: str | os.PathLike) -> dict[str, Any]:
    """The raw recipe JSON of a bigart PNG or a ``.json`` file; :class:`RecipeError` naming the file otherwise."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = read_png_text(path)
            if data is None:
                raise RecipeError(f"{path.name}: this image carries no bigart recipe")
    except RecipeError:
        raise
    except FileNotFoundError as e:
        raise RecipeError(f"{path}: no such file") from e
    except (OSError, ValueError) as e:
        raise RecipeError(f"{path.name}: not a readable recipe ({e})") from e
    return data


def load_recipe(path: str | os.PathLike, image: np.ndarray | None = None) -> Recipe:
    """Read a recipe from a PNG or JSON file (see :meth:`Recipe.from_json` for ``image``)."""
    try:
        return Recipe.from_json(read_recipe_data(path), image)
    except RecipeError as e:
        name = Path(path).name
        raise RecipeError(str(e) if str(e).startswith(name) else f"{name}: {e}") from e


def save_recipe_json(path: str | os.PathLike, recipe: Recipe) -> None:
    text = json.dumps(recipe.to_json(), indent=1, sort_keys=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
