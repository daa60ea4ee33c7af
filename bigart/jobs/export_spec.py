"""Export specs: what ``bigart export`` makes, as JSON that is checked before anything runs.

A spec names a ``kind`` (seeds, grid, sweep, mixing, walk, classes, translate), the model and the output folder, and
the keys of that kind; :meth:`ExportSpec.from_json` refuses unknown keys (suggesting the near one), keys of another
kind, missing ones and bad values, naming the key at fault. Paths are taken as given (relative ones from the
current folder). ``bigart export --write-spec`` saves the spec its flags make.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bigart.engine.engine import BACKENDS
from bigart.engine.request import DIRECTIONS, NOISE_MODES
from bigart.engine.translate import DEFAULT_MAX_PIXELS
from bigart.errors import BigartError
from bigart.jobs.manifest import write_json
from bigart.jobs.media import FORMATS, SUFFIX, VIDEO_SUFFIXES
from bigart.latent import parse_seeds
from bigart.latent.interp import EASINGS, MODES

KINDS = ("seeds", "grid", "sweep", "mixing", "walk", "classes", "translate")
VIDEO_KINDS = ("seeds", "sweep", "walk", "classes")
SPACES = ("z", "w")
SPEC_FORMAT = "bigart.export-spec"


class ExportSpecError(BigartError):
    """An export spec that cannot be run: the message names the field at fault."""


# --------------------------------------------------------------------------------------------------------------
# The spec


def _fail(key: str, want: str, value: Any) -> ExportSpecError:
    return ExportSpecError(f"'{key}' must be {want}, got {json.dumps(value)}")


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _fail(key, "a non-empty string", v)
    return v


def _int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(key, "a whole number", v)
    return v


def _float(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(key, "a finite number", v)
    return float(v)


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _fail(key, "true or false", v)
    return v


def _seeds(key: str, v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if isinstance(v, list):
        if not v or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in v):
            raise _fail(key, 'seeds like "0-99,120" or a list of seeds >= 0', v)
        v = ",".join(str(s) for s in v)
    if not isinstance(v, str):
        raise _fail(key, 'seeds like "0-99,120" or a list of seeds', v)
    try:
        parse_seeds(v)
    except ValueError as e:
        raise ExportSpecError(f"'{key}': {e}") from e
    return v


def _strings(key: str, v: Any) -> list[str]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(s, str) and s.strip() for s in v):
        raise _fail(key, "a list of strings", v)
    return list(v)


def _keyframes(key: str, v: Any) -> list[str]:
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",")]
    if not isinstance(v, list) or not v:
        raise _fail(key, "a list of seeds, .npz latents files or recipe .png/.json files", v)
    out = []
    for s in v:
        if isinstance(s, int) and not isinstance(s, bool) and s >= 0:
            out.append(str(s))
        elif isinstance(s, str) and s.strip():
            out.append(s.strip())
        else:
            raise _fail(key, "a list of seeds, .npz latents files or recipe .png/.json files", v)
    return out


def _class(key: str, v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return _str(key, v)


def _optional(conv: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda key, v: None if v is None else conv(key, v)


# JSON key -> (attribute, converter). Every key a spec may hold.
_KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "kind": ("kind", _str),
    "model": ("model", _str),
    "out": ("out", _str),
    "backend": ("backend", _str),
    "device": ("device", _str),
    "batch_size": ("batch_size", _int),
    "format": ("format", _str),
    "quality": ("quality", _int),
    "writers": ("writers", _int),
    "seeds": ("seeds", _optional(_seeds)),
    "psi": ("psi", _float),
    "cutoff": ("cutoff", _optional(_int)),
    "noise_mode": ("noise_mode", _str),
    "class": ("class_spec", _optional(_class)),
    "directions": ("directions", _strings),
    "mix": ("mix", _strings),
    "video": ("video", _strings),
    "fps": ("fps", _float),
    "crf": ("crf", _int),
    "grid": ("grid", _optional(_str)),
    "labels": ("labels", _bool),
    "padding": ("padding", _int),
    "sweep": ("sweep", _optional(_str)),
    "amount": ("amount", _float),
    "steps": ("steps", _int),
    "row_seeds": ("row_seeds", _optional(_seeds)),
    "col_seeds": ("col_seeds", _optional(_seeds)),
    "layers": ("layers", _str),
    "keyframes": ("keyframes", _keyframes),
    "frames": ("frames", _int),
    "interp": ("interp", _str),
    "easing": ("easing", _optional(_str)),
    "space": ("space", _str),
    "loop": ("loop", _bool),
    "class_a": ("class_a", _optional(_class)),
    "class_b": ("class_b", _optional(_class)),
    "inputs": ("inputs", _optional(_str)),
    "direction": ("direction", _str),
    "tile": ("tile", _optional(_int)),
    "overlap": ("overlap", _int),
    "working_size": ("working_size", _optional(_int)),
    "max_pixels": ("max_pixels", _int),
}
_COMMON = ("kind", "model", "out", "backend", "device", "batch_size", "format", "quality", "writers")
_RENDER = ("psi", "cutoff", "noise_mode", "class", "directions", "mix")
_VIDEO = ("video", "fps", "crf")
_SHEET = ("labels", "padding")
_KIND_KEYS = {
    "seeds": ("seeds", *_RENDER, *_VIDEO),
    "grid": ("seeds", "grid", *_RENDER, *_SHEET),
    "sweep": ("seeds", "sweep", "amount", "steps", *_RENDER, *_VIDEO),
    "mixing": ("row_seeds", "col_seeds", "layers", "psi", "cutoff", "noise_mode", "class", "directions", *_SHEET),
    "walk": ("keyframes", "frames", "interp", "easing", "space", "loop", *_RENDER, *_VIDEO),
    "classes": ("seeds", "class_a", "class_b", "steps", "psi", "cutoff", "noise_mode", "directions", "mix", *_VIDEO),
    "translate": ("inputs", "direction", "tile", "overlap", "working_size", "max_pixels"),
}
_REQUIRED = {
    "seeds": ("seeds",),
    "grid": (),
    "sweep": ("seeds", "sweep"),
    "mixing": ("row_seeds", "col_seeds"),
    "walk": ("keyframes",),
    "classes": ("seeds", "class_a", "class_b"),
    "translate": ("inputs",),
}
_GRID = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


@dataclass
class ExportSpec:
    """What to export. The JSON form (:meth:`from_json`) has these fields as keys, ``class_spec`` as ``"class"``;
    a key that does not apply to ``kind`` is refused there, and keeps its default here."""

    kind: str
    model: str
    out: str
    backend: str = "torch"
    device: str = "cpu"
    batch_size: int = 8
    format: str = "png"
    quality: int = 95
    writers: int = 2  # threads encoding files while the next batch renders; 0 writes in the rendering thread
    # what every generated image shares (as ``bigart render``)
    seeds: str | None = None
    psi: float = 1.0
    cutoff: int | None = None
    noise_mode: str = "const"
    class_spec: str | None = None
    directions: list[str] = field(default_factory=list)
    mix: list[str] = field(default_factory=list)
    # animations made from the frames: names (.mp4, .gif) inside ``out``
    video: list[str] = field(default_factory=list)
    fps: float = 30.0
    crf: int = 18
    # grid: ROWSxCOLS of seeds (default: square enough for the seeds); mixing and grid: labels, padding
    grid: str | None = None
    labels: bool = False
    padding: int = 2
    # sweep: a direction FILE.npz:IDX from -amount to +amount in ``steps`` steps
    sweep: str | None = None
    amount: float = 3.0
    steps: int = 9
    # mixing: rows take ``layers`` from each column
    row_seeds: str | None = None
    col_seeds: str | None = None
    layers: str = "coarse"
    # walk: through keyframes (seeds, .npz latents, recipe .png/.json)
    keyframes: list[str] = field(default_factory=list)
    frames: int = 60
    interp: str = "slerp"
    easing: str | None = None
    space: str = "z"
    loop: bool = False
    # classes: class A -> class B in ``steps`` steps
    class_a: str | None = None
    class_b: str | None = None
    # translate: a folder (recursive) or one image
    inputs: str | None = None
    direction: str = "AtoB"
    tile: int | None = 512
    overlap: int = 64
    working_size: int | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS

    # --- JSON ------------------------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Any) -> ExportSpec:
        """Parse and check a spec: ``{"kind": "walk", "model": "ffhq.pkl", "out": "walk", "keyframes": [1, 5, 9],
        "frames": 120, "loop": true, "video": ["walk.mp4"]}``. Errors name the key at fault."""
        if not isinstance(data, dict):
            raise ExportSpecError(f"an export spec is a JSON object, got {type(data).__name__}")
        data = dict(data)
        if data.pop("spec", SPEC_FORMAT) != SPEC_FORMAT:
            raise ExportSpecError(f"'spec' must be {SPEC_FORMAT!r} (or left out)")
        version = data.pop("version", 1)
        if version != 1:
            raise ExportSpecError(f"spec version {version!r}: this bigart reads version 1")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ExportSpecError(f"'kind' must be one of {', '.join(KINDS)}, got {json.dumps(kind)}")
        allowed = set(_COMMON) | set(_KIND_KEYS[kind])
        for key in data:
            if key not in _KEYS:
                close = difflib.get_close_matches(key, list(_KEYS), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ExportSpecError(f"unknown key '{key}'{hint}")
            if key not in allowed:
                users = [k for k in KINDS if key in _KIND_KEYS[k]]
                raise ExportSpecError(f"'{key}' does not apply to kind '{kind}' (it is for: {', '.join(users)})")
        for key in ("model", "out", *_REQUIRED[kind]):
            if data.get(key) in (None, "", []):
                raise ExportSpecError(f"kind '{kind}' needs '{key}'")
        kwargs = {}
        for key, value in data.items():
            attr, conv = _KEYS[key]
            kwargs[attr] = conv(key, value)
        spec = cls(**kwargs)
        spec.check()
        return spec

    @classmethod
    def load(cls, path: str | Path) -> ExportSpec:
        """Read a spec file; errors name the file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ExportSpecError(f"{path}: no such spec file") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ExportSpecError(f"{path}: cannot read ({e})") from e
        except ValueError as e:
            raise ExportSpecError(f"{path.name}: not JSON ({e})") from e
        try:
            return cls.from_json(data)
        except ExportSpecError as e:
            raise ExportSpecError(f"{path.name}: {e}") from e

    def to_json(self) -> dict[str, Any]:
        """The JSON form: every key of this kind (null where unset); ``from_json`` reads it back equal."""
        out: dict[str, Any] = {"spec": SPEC_FORMAT, "version": 1}
        for key in (*_COMMON, *_KIND_KEYS[self.kind]):
            value = getattr(self, _KEYS[key][0])
            out[key] = list(value) if isinstance(value, list) else value
        return out

    def save(self, path: str | Path) -> None:
        write_json(Path(path), self.to_json())

    # --- checks ----------------------------------------------------------------------------------------------
    def check(self) -> None:
        """Value checks that need no model (the model's own are made when the job runs)."""

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ExportSpecError(message)

        need(self.kind in KINDS, f"'kind' must be one of {', '.join(KINDS)}, got {self.kind!r}")
        need(self.backend in BACKENDS, f"'backend' must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        need(self.format in FORMATS, f"'format' must be one of {', '.join(FORMATS)}, got {self.format!r}")
        need(self.noise_mode in NOISE_MODES, f"'noise_mode' must be one of {', '.join(NOISE_MODES)}")
        need(self.batch_size >= 1, f"'batch_size' must be at least 1, got {self.batch_size}")
        need(1 <= self.quality <= 100, f"'quality' must be in 1..100, got {self.quality}")
        need(0 <= self.writers <= 32, f"'writers' must be in 0..32, got {self.writers}")
        need(self.cutoff is None or self.cutoff >= 0, f"'cutoff' must be >= 0, got {self.cutoff}")
        need(self.fps > 0, f"'fps' must be above 0, got {self.fps}")
        need(0 <= self.crf <= 51, f"'crf' must be in 0..51 (0 lossless, 18 visually lossless), got {self.crf}")
        need(self.padding >= 0, f"'padding' must be >= 0, got {self.padding}")
        need(self.steps >= 2, f"'steps' must be at least 2, got {self.steps}")
        need(self.amount >= 0, f"'amount' must be >= 0 (the sweep runs from -amount to +amount), got {self.amount}")
        need(self.frames >= 2, f"'frames' must be at least 2, got {self.frames}")
        need(self.interp in MODES, f"'interp' must be one of {', '.join(MODES)}, got {self.interp!r}")
        need(self.easing in EASINGS, f"'easing' must be null or 'ease-in-out', got {self.easing!r}")
        need(self.space in SPACES, f"'space' must be z or w, got {self.space!r}")
        need(self.direction in DIRECTIONS, f"'direction' must be AtoB or BtoA, got {self.direction!r}")
        need(self.tile is None or self.tile >= 1, f"'tile' must be at least 1 (or null: never tile), got {self.tile}")
        need(self.overlap >= 0, f"'overlap' must be >= 0, got {self.overlap}")
        need(self.working_size is None or self.working_size >= 1, "'working_size' must be at least 1")
        for name in self.video:
            p = PurePosixPath(name)
            need(
                p.suffix.lower() in VIDEO_SUFFIXES,
                f"'video' {name!r}: the name must end in {' or '.join(VIDEO_SUFFIXES)}",
            )
            need(not p.is_absolute() and ".." not in p.parts, f"'video' {name!r}: give a name inside 'out'")
        need(not self.video or self.kind in VIDEO_KINDS, f"'video' does not apply to kind '{self.kind}'")
        if self.sweep is not None:
            need(
                ":" in self.sweep and "=" not in self.sweep,
                f"'sweep' must be FILE.npz:IDX (a direction and its index or name), got {self.sweep!r}",
            )
        if self.kind == "grid":
            need(self.seeds is not None or self.grid is not None, "kind 'grid' needs 'seeds' or 'grid' (ROWSxCOLS)")
            rows, cols = self.grid_shape()
            n = len(self.seed_list())
            need(n <= rows * cols, f"'grid' {rows}x{cols} holds {rows * cols} images, but 'seeds' gives {n}")
        if self.kind == "walk":
            need(len(self.keyframes) >= 1, "kind 'walk' needs 'keyframes'")

    def seed_list(self) -> list[int]:
        if self.seeds is None:
            rows, cols = self.grid_shape()
            return list(range(rows * cols))
        return parse_seeds(self.seeds)

    def grid_shape(self) -> tuple[int, int]:
        """``(rows, cols)``: as given, or the squarest sheet that holds the seeds."""
        if self.grid is None:
            n = len(parse_seeds(self.seeds)) if self.seeds else 1
            cols = math.ceil(math.sqrt(n))
            return math.ceil(n / cols), cols
        m = _GRID.match(self.grid)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            raise ExportSpecError(f"'grid' must be ROWSxCOLS like 4x4, got {self.grid!r}")
        return int(m.group(1)), int(m.group(2))

    @property
    def suffix(self) -> str:
        return SUFFIX[self.format]
