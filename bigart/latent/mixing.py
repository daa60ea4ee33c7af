"""Style mixing: which of the ``num_ws`` layers of w+ take their w from which source latent.

Source 0 is the main latent; sources 1, 2, ... are the latents mixed in. A schedule is a frozen, hashable value
(one source index per layer), so it can sit in a render request and in a recipe (as :meth:`MixingSchedule.to_ranges`
text).

Presets name layer groups by the resolution they style, as the StyleGAN paper does: coarse = 4-8 px, middle =
16-32 px, fine = 64 px and up. In StyleGAN2, w+ layer ``i`` styles resolution ``2 ** (i // 2 + 2)`` (layers 0-1:
4 px, 2-3: 8 px, ...; ``num_ws = 2 * log2(resolution) - 2``), which gives 0-3 / 4-7 / 8 and up. StyleGAN3 layers
have no per-resolution blocks (every layer works on a grid of about the same size while the band limit grows), so
its presets split the layers in the proportions of a 1024-px StyleGAN2 (4 / 4 / 10 of 18 layers): coarse =
``[0, round(num_ws * 2/9))``, middle = up to ``round(num_ws * 4/9)``, fine = the rest; at the published
``num_ws = 16`` that is 0-3 / 4-6 / 7-15.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

PRESETS = ("coarse", "middle", "fine")
FAMILIES = ("stylegan2", "stylegan3")

_RESOLUTIONS = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, None)}
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def stylegan2_layer_resolution(index: int) -> int:
    """The resolution StyleGAN2's w+ layer ``index`` styles: ``2 ** (index // 2 + 2)``."""
    return 2 ** (int(index) // 2 + 2)


def preset_layers(name: str, num_ws: int, family: str = "stylegan2") -> tuple[int, ...]:
    """The layers of preset ``name`` (coarse, middle, fine) for a generator with ``num_ws`` layers (may be empty:
    a 32-px StyleGAN2 has no fine layers)."""
    if name not in PRESETS:
        raise ValueError(f"unknown mixing preset {name!r}: use one of {', '.join(PRESETS)}")
    if family not in FAMILIES:
        raise ValueError(f"mixing presets are defined for {', '.join(FAMILIES)}, not {family!r}")
    if family == "stylegan3":
        a, b = round(num_ws * 2 / 9), round(num_ws * 4 / 9)
        bounds = {"coarse": (0, a), "middle": (a, b), "fine": (b, num_ws)}[name]
        return tuple(range(*bounds))
    lo, hi = _RESOLUTIONS[name]
    res = [stylegan2_layer_resolution(i) for i in range(num_ws)]
    return tuple(i for i in range(num_ws) if res[i] >= lo and (hi is None or res[i] <= hi))


def parse_layers(text: str, num_ws: int) -> tuple[int, ...]:
    """Layer-list syntax ``"0-3,8"`` (inclusive ranges) or a preset name, checked against ``num_ws``;
    sorted, each layer once."""
    text = text.strip()
    if text in PRESETS:
        return preset_layers(text, num_ws)
    layers: set[int] = set()
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"bad layer range {part.strip()!r}: expected N or N-M, e.g. '0-3,8'")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"bad layer range {part.strip()!r}: end {hi} is below start {lo}")
        if hi >= num_ws:
            raise ValueError(f"layer {hi} does not exist: this generator has layers 0 to {num_ws - 1}")
        layers.update(range(lo, hi + 1))
    return tuple(sorted(layers))


def _check_layers(layers: Iterable[int] | str, num_ws: int) -> tuple[int, ...]:
    if isinstance(layers, str):
        return parse_layers(layers, num_ws)
    out = tuple(sorted({int(i) for i in layers}))
    bad = [i for i in out if not 0 <= i < num_ws]
    if bad:
        raise ValueError(f"layers {bad} do not exist: this generator has layers 0 to {num_ws - 1}")
    return out


@dataclass(frozen=True)
class MixingSchedule:
    """For each of the ``num_ws`` layers, the index of the source whose w that layer takes (0 = main latent)."""

    sources: tuple[int, ...]

    def __post_init__(self) -> None:
        sources = tuple(int(s) for s in self.sources)
        if not sources:
            raise ValueError("a mixing schedule needs at least one layer")
        if min(sources) < 0:
            raise ValueError(f"source indices must be >= 0, got {min(sources)}")
        object.__setattr__(self, "sources", sources)

    @property
    def num_ws(self) -> int:
        return len(self.sources)

    @property
    def num_sources(self) -> int:
        """How many sources :meth:`apply` needs (the highest index used, plus one)."""
        return max(self.sources) + 1

    @property
    def is_identity(self) -> bool:
        """True when every layer takes the main latent (no mixing at all)."""
        return self.num_sources == 1

    @classmethod
    def identity(cls, num_ws: int) -> MixingSchedule:
        """Every layer from source 0."""
        return cls((0,) * int(num_ws))

    @classmethod
    def from_layers(cls, layers: Iterable[int] | str, num_ws: int, source: int = 1) -> MixingSchedule:
        """``layers`` (ints, ``"0-3,8"`` or a preset name) from ``source``, every other layer from source 0: the
        reference ``style_mixing.py`` semantics (the row latent with the column latent on ``--styles``)."""
        chosen = set(_check_layers(layers, num_ws))
        return cls(tuple(int(source) if i in chosen else 0 for i in range(int(num_ws))))

    @classmethod
    def preset(cls, name: str, num_ws: int, family: str = "stylegan2", source: int = 1) -> MixingSchedule:
        """The layers of preset ``name`` (``'coarse'``, ``'middle'``, ``'fine'``) from ``source``, the rest from 0."""
        return cls.from_layers(preset_layers(name, num_ws, family), num_ws, source)

    @classmethod
    def from_ranges(cls, text: str, num_ws: int, family: str = "stylegan2") -> MixingSchedule:
        """Parse ``"0-3:1,8-13:2"``: comma-separated ``LAYERS:SOURCE`` parts, LAYERS an inclusive range, one layer or
        a preset name (``"fine:1"``). Layers not named take source 0. A layer named twice is an error. An empty
        text means no mixing."""
        sources = [0] * int(num_ws)
        named: set[int] = set()
        if not text.strip():
            return cls.identity(num_ws)
        for part in text.split(","):
            layer_text, sep, source_text = part.rpartition(":")
            if not sep or not source_text.strip().isdigit():
                raise ValueError(f"bad mixing part {part.strip()!r}: expected LAYERS:SOURCE, e.g. '0-3:1' or 'fine:2'")
            name = layer_text.strip()
            layers = preset_layers(name, num_ws, family) if name in PRESETS else parse_layers(name, num_ws)
            twice = named.intersection(layers)
            if twice:
                raise ValueError(f"layers {sorted(twice)} are given a source twice in {text!r}")
            named.update(layers)
            for i in layers:
                sources[i] = int(source_text)
        return cls(tuple(sources))

    def to_ranges(self) -> str:
        """The shortest ``from_ranges`` text for this schedule (source-0 layers are left out); round-trips."""
        parts = []
        i = 0
        while i < self.num_ws:
            j = i
            while j + 1 < self.num_ws and self.sources[j + 1] == self.sources[i]:
                j += 1
            if self.sources[i] != 0:
                parts.append(f"{i}:{self.sources[i]}" if i == j else f"{i}-{j}:{self.sources[i]}")
            i = j + 1
        return ",".join(parts)

    def layers_of(self, source: int) -> tuple[int, ...]:
        """The layers that take their w from ``source``."""
        return tuple(i for i, s in enumerate(self.sources) if s == source)

    def apply(self, ws_sources: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Mix the sources into one w+: ``out[..., i, :] = ws_sources[sources[i]][..., i, :]``.

        ``ws_sources`` is ``[S, num_ws, w_dim]`` (or ``[S, *batch, num_ws, w_dim]``), or a list of S arrays; a
        source given as a single w ``[w_dim]`` is broadcast to every layer. Returns ``[*batch, num_ws, w_dim]``.
        """
        sources = [np.asarray(w) for w in ws_sources]
        if len(sources) < self.num_sources:
            raise ValueError(f"this schedule uses source {self.num_sources - 1} but {len(sources)} sources were given")
        full = []
        for s in sources:
            s = np.asarray(s)
            if s.ndim == 1:
                s = np.broadcast_to(s, (self.num_ws, s.shape[0]))
            if s.ndim < 2 or s.shape[-2] != self.num_ws:
                raise ValueError(f"each source must be [..., {self.num_ws}, w_dim] or [w_dim], got {s.shape}")
            full.append(s)
        stacked = np.stack(np.broadcast_arrays(*full))
        layer = np.arange(self.num_ws)
        # stacked: [S, *batch, num_ws, w_dim]; pick source sources[i] for layer i.
        moved = np.moveaxis(stacked, -2, 0)  # [num_ws, S, *batch, w_dim]
        return np.moveaxis(moved[layer, np.asarray(self.sources)], 0, -2).copy()


def style_mixing_grid(
    row_ws: np.ndarray, col_ws: np.ndarray, layers: Iterable[int] | str, num_ws: int | None = None
) -> np.ndarray:
    """``[R, C, num_ws, w_dim]``: cell ``(r, c)`` is row ``r``'s w+ with ``layers`` taken from column ``c``'s w+,
    the semantics of the reference ``style_mixing.py`` (``w = w_row.clone(); w[styles] = w_col[styles]``).

    ``row_ws`` and ``col_ws`` are ``[R, num_ws, w_dim]`` and ``[C, num_ws, w_dim]``, or ``[R, w_dim]`` and
    ``[C, w_dim]`` with ``num_ws`` given (the mapping's single w, broadcast to every layer).
    """
    row_ws, col_ws = np.asarray(row_ws), np.asarray(col_ws)
    if row_ws.ndim == 2 and col_ws.ndim == 2:
        if num_ws is None:
            raise ValueError("give num_ws when rows and columns are single w vectors [N, w_dim]")
        row_ws = np.repeat(row_ws[:, None], num_ws, axis=1)
        col_ws = np.repeat(col_ws[:, None], num_ws, axis=1)
    if row_ws.ndim != 3 or col_ws.ndim != 3 or row_ws.shape[1:] != col_ws.shape[1:]:
        raise ValueError(f"rows and columns must be [N, num_ws, w_dim] alike, got {row_ws.shape} and {col_ws.shape}")
    chosen = list(_check_layers(layers, row_ws.shape[1]))
    out = np.repeat(row_ws[:, None], col_ws.shape[0], axis=1)
    out[:, :, chosen] = col_ws[None, :, chosen]
    return out
