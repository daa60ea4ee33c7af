"""Class names for class-conditional generators: look a class up by index, WordNet id, name or part of a name,
and turn ``"golden retriever:0.7,tabby:0.3"`` into the dense class vector a BigGAN takes.

The ImageNet-1k list ships as ``bigart/resources/imagenet_classes.json`` (index, WordNet id, names; see
``resources/README.md`` for its source and license).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

_WNID = re.compile(r"^n\d{8}$")
_SHOW = 8  # matches listed in an "ambiguous" error


@dataclass(frozen=True)
class ClassEntry:
    """One class: its index in the generator's class vector, WordNet id ('' if none) and names, main name first."""

    index: int
    wnid: str
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.names[0]

    def __str__(self) -> str:
        wnid = f", {self.wnid}" if self.wnid else ""
        return f"{self.index} {self.name!r}{wnid}"


class ClassIndex:
    """An ordered list of classes with lookups. ``find`` takes what a user types; the other lookups are exact."""

    def __init__(self, classes: Iterable[ClassEntry]) -> None:
        self.classes: tuple[ClassEntry, ...] = tuple(classes)
        if [c.index for c in self.classes] != list(range(len(self.classes))):
            raise ValueError("class entries must be numbered 0..N-1 in order")
        self._wnid = {c.wnid: c for c in self.classes if c.wnid}
        self._name: dict[str, list[ClassEntry]] = {}
        for c in self.classes:
            for n in dict.fromkeys(n.casefold() for n in c.names):
                self._name.setdefault(n, []).append(c)

    @classmethod
    def from_json(cls, data: Any) -> ClassIndex:
        """From ``{"classes": [{"index", "wnid", "names"}, ...]}`` (or the bare list)."""
        rows = data.get("classes") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ValueError("a class list must be a JSON list of {index, wnid, names} (or an object with 'classes')")
        entries = []
        for i, row in enumerate(rows):
            names = row.get("names") if isinstance(row, dict) else None
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                raise ValueError(f"class entry {i} has no list of names")
            entries.append(ClassEntry(int(row.get("index", i)), str(row.get("wnid") or ""), tuple(names)))
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path) -> ClassIndex:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def numbered(cls, n: int) -> ClassIndex:
        """Classes with no names of their own (``class 0`` ...), for conditional models without a class list."""
        return cls(ClassEntry(i, "", (f"class {i}",)) for i in range(n))

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self) -> Iterator[ClassEntry]:
        return iter(self.classes)

    def __getitem__(self, index: int) -> ClassEntry:
        if not 0 <= index < len(self.classes):
            raise IndexError(f"class index {index} out of range 0..{len(self.classes) - 1}")
        return self.classes[index]

    @property
    def names(self) -> list[str]:
        """The main name of every class, in index order."""
        return [c.name for c in self.classes]

    def by_wnid(self, wnid: str) -> ClassEntry:
        try:
            return self._wnid[wnid.strip().lower()]
        except KeyError:
            raise ValueError(f"no class with WordNet id {wnid!r}") from None

    def by_name(self, name: str) -> list[ClassEntry]:
        """Every class having ``name`` among its names (case-insensitive); ImageNet has a few shared names."""
        return list(self._name.get(name.strip().casefold(), []))

    def search(self, text: str) -> list[ClassEntry]:
        """Classes with a name containing ``text`` (case-insensitive), in index order."""
        needle = text.strip().casefold()
        return [c for c in self.classes if any(needle in n.casefold() for n in c.names)] if needle else []

    def find(self, query: str | int) -> ClassEntry:
        """The one class meant by an index, a WordNet id, a name or a unique part of a name.

        An exact name wins over partial matches. Several classes matching raises ValueError listing them.
        """
        if isinstance(query, int | np.integer):
            if not 0 <= query < len(self.classes):
                raise ValueError(f"class index {query} out of range 0..{len(self.classes) - 1}")
            return self.classes[int(query)]
        text = str(query).strip()
        if not text:
            raise ValueError("empty class name")
        if text.isdigit():
            if int(text) >= len(self.classes):
                raise ValueError(f"class index {text} out of range 0..{len(self.classes) - 1}")
            return self[int(text)]
        if _WNID.match(text.lower()):
            return self.by_wnid(text)
        exact = self.by_name(text)
        if len(exact) == 1:
            return exact[0]
        found = exact or self.search(text)
        if not found:
            raise ValueError(f"no class named like {text!r}")
        if len(found) > 1:
            listed = "; ".join(str(c) for c in found[:_SHOW])
            more = f" and {len(found) - _SHOW} more" if len(found) > _SHOW else ""
            raise ValueError(f"{text!r} matches {len(found)} classes: {listed}{more}; give the index or WordNet id")
        return found[0]


@lru_cache(maxsize=1)
def imagenet_classes() -> ClassIndex:
    """The 1000 ImageNet-1k classes in the order BigGAN and other ImageNet generators use."""
    ref = resources.files("bigart") / "resources" / "imagenet_classes.json"
    return ClassIndex.from_json(json.loads(ref.read_text(encoding="utf-8")))


def parse_class_mixture(text: str, index: ClassIndex) -> np.ndarray:
    """``"golden retriever:0.7,tabby:0.3"`` -> float32 ``[len(index)]`` class weights.

    Parts are separated by commas; each is a class (index, WordNet id, name or unique part of a name, see
    :meth:`ClassIndex.find`) with an optional ``:weight``, 1.0 when left out. Weights are used as given (not
    normalised); a class named twice gets the sum. Errors name the part at fault.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("class mixture is empty: expected something like 'golden retriever:0.7,tabby:0.3'")
    weights = np.zeros(len(index), np.float64)
    for part in text.split(","):
        name, sep, weight_text = part.rpartition(":") if ":" in part else (part, "", "")
        if not name.strip():
            what = f"part {part.strip()!r} names no class" if part.strip() else "has an empty part"
            raise ValueError(f"class mixture {text.strip()!r} {what}")
        weight = 1.0
        if sep:
            try:
                weight = float(weight_text)
            except ValueError:
                raise ValueError(
                    f"class mixture part {part.strip()!r}: {weight_text.strip()!r} is not a number"
                ) from None
            if not math.isfinite(weight):
                raise ValueError(f"class mixture part {part.strip()!r}: the weight must be finite")
        try:
            entry = index.find(name)
        except ValueError as e:
            raise ValueError(f"class mixture part {part.strip()!r}: {e}") from None
        weights[entry.index] += weight
    return weights.astype(np.float32)


def class_vector(classes: Sequence[int], num_classes: int) -> np.ndarray:
    """One-hot float32 rows ``[len(classes), num_classes]`` (the reference's ``one_hot_from_int``)."""
    out = np.zeros((len(classes), num_classes), np.float32)
    for row, c in enumerate(classes):
        if not 0 <= int(c) < num_classes:
            raise ValueError(f"class {c} out of range 0..{num_classes - 1}")
        out[row, int(c)] = 1.0
    return out
