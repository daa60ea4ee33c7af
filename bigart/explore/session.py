"""The exploration session: the loaded model, the current :class:`ExploreState`, its undo history, and listeners.

Plain Python and thread-agnostic: listeners are called synchronously on the thread that made the change (the GUI
thread in the app). A slider drag sends many changes with one ``merge`` key; they become one undo step, which
:meth:`Session.end_merge` (on release) closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bigart.engine.recipe import ModelRef, Recipe
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.explore.state import FIELDS, STYLEGAN, DirectionSlot, ExploreState

log = logging.getLogger(__name__)

Listener = Callable[["Session", frozenset[str]], None]


@dataclass(frozen=True)
class HistoryEntry:
    state: ExploreState
    label: str


class Session:
    """Holds the model and the state; every change goes through :meth:`set` (or the helpers built on it)."""

    def __init__(self, model: Any = None, history_limit: int = 200) -> None:
        if history_limit < 1:
            raise ValueError("history_limit must be at least 1")
        self.model = model
        self.history_limit = history_limit
        self._listeners: list[Listener] = []
        self._entries: list[HistoryEntry] = [HistoryEntry(self.defaults(), "start")]
        self._index = 0
        self._merge: str | None = None

    # -- listeners -----------------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(session, changed_fields)`` after every change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, changed: frozenset[str]) -> None:
        for listener in list(self._listeners):
            try:
                listener(self, changed)
            except Exception:  # a broken listener must not break the session or the other listeners
                log.exception("session listener failed")

    # -- state ---------------------------------------------------------------------------------------------------
    @property
    def state(self) -> ExploreState:
        return self._entries[self._index].state

    @property
    def family(self) -> str | None:
        return None if self.model is None else self.model.family

    def defaults(self) -> ExploreState:
        """A fresh state for the loaded model: its default truncation, its first class."""
        if self.model is None:
            return ExploreState()
        meta = getattr(self.model, "meta", {}) or {}
        family = self.model.family
        psi = meta.get("default_psi")
        if family == "biggan":
            psi = 0.4 if psi is None else psi
            return ExploreState(psi=float(psi), class_weights=((0, 1.0),))
        if family in STYLEGAN:
            c_dim = getattr(self.model.generator, "c_dim", 0)
            return ExploreState(psi=float(0.7 if psi is None else psi), class_weights=((0, 1.0),) if c_dim else ())
        return ExploreState()

    def set(self, label: str | None = None, merge: str | None = None, **changes: Any) -> bool:
        """Change fields of the state; one undo step (``merge``: consecutive changes with this key are one step).

        Returns whether anything changed. Unknown fields or invalid values raise ``ValueError`` and change nothing.
        """
        unknown = set(changes) - FIELDS
        if unknown:
            raise ValueError(f"unknown state fields: {', '.join(sorted(unknown))}")
        new = replace(self.state, **changes)  # validates
        changed = frozenset(k for k in changes if getattr(new, k) != getattr(self.state, k))
        if not changed:
            return False
        self._push(new, label or ", ".join(sorted(changed)), merge)
        self._emit(changed)
        return True

    def set_direction(self, index: int, value: float, merge: str | None = "direction") -> bool:
        slot = self.state.directions[index]
        return self.set(
            label=slot.name,
            merge=f"{merge}:{index}" if merge else None,
            directions=self.state.with_direction(index, value).directions,
        )

    def add_directions(self, names: list[str], vectors: np.ndarray) -> None:
        """Add slider slots (at 0) for directions ``vectors`` (``[k, D]`` or ``[k, num_ws, D]``)."""
        slots = tuple(DirectionSlot(n, FrozenArray.of(v)) for n, v in zip(names, vectors, strict=True))
        self.set(label=f"add {len(slots)} directions", directions=self.state.directions + slots)

    def reset_directions(self) -> bool:
        slots = tuple(replace(s, value=0.0) for s in self.state.directions)
        return self.set(label="reset directions", directions=slots)

    def end_merge(self) -> None:
        """Close the current merged step (a slider was released)."""
        self._merge = None

    def _push(self, state: ExploreState, label: str, merge: str | None) -> None:
        if merge is not None and merge == self._merge and self._index == len(self._entries) - 1 and self._index > 0:
            self._entries[self._index] = HistoryEntry(state, label)
            return
        del self._entries[self._index + 1 :]
        self._entries.append(HistoryEntry(state, label))
        if len(self._entries) > self.history_limit:
            del self._entries[: len(self._entries) - self.history_limit]
        self._index = len(self._entries) - 1
        self._merge = merge

    # -- history -------------------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._entries) - 1

    @property
    def history(self) -> list[HistoryEntry]:
        return list(self._entries)

    @property
    def position(self) -> int:
        return self._index

    def undo(self) -> bool:
        return self.go_to(self._index - 1) if self.can_undo else False

    def redo(self) -> bool:
        return self.go_to(self._index + 1) if self.can_redo else False

    def go_to(self, index: int) -> bool:
        """Jump to a history entry (the history strip)."""
        if not 0 <= index < len(self._entries) or index == self._index:
            return False
        before = self.state
        self._index, self._merge = index, None
        changed = frozenset(k for k in FIELDS if getattr(before, k) != getattr(self.state, k))
        self._emit(changed)
        return True

    # -- model and recipes ---------------------------------------------------------------------------------------
    def set_model(self, model: Any, state: ExploreState | None = None) -> None:
        """Load another model: its defaults (or ``state``) and a new history."""
        self.model = model
        self._entries = [HistoryEntry(state or self.defaults(), "open model")]
        self._index, self._merge = 0, None
        self._emit(frozenset({"model"}) | FIELDS)

    def request(self) -> RenderRequest | None:
        """The request for the current state, or None when there is nothing to render (no model, no image)."""
        if self.model is None:
            return None
        num_ws = getattr(self.model.generator, "num_ws", 0) if self.family in STYLEGAN else 0
        try:
            return self.state.request(self.model.family, num_ws)
        except ValueError:
            return None

    def recipe(self, backend: str = "", device: str = "cpu", precision: str = "fp32", provider: str = "") -> Recipe:
        """The recipe of the current state (what a saved PNG carries)."""
        request = self.request()
        if request is None:
            raise ValueError("nothing to render yet")
        from bigart.engine.recipe import ImageRef

        image = None
        if request.image is not None:
            image = ImageRef(self.state.image_name or "image", _pixels_hash(request.image))
        return Recipe(
            ModelRef.of(self.model),
            request,
            backend or self.state.backend,
            device,
            precision,
            provider,
            image,
            self.state.recipe_state(),
        )

    def restore(self, recipe: Recipe) -> None:
        """Take the state a recipe describes (one undo step); the model must be the recipe's."""
        if self.model is None or self.model.sha256 != recipe.model.sha256:
            raise ValueError(f"this recipe was made with {recipe.model.file or 'another model'}: open that model first")
        new = ExploreState.from_recipe(recipe)
        changed = frozenset(k for k in FIELDS if getattr(new, k) != getattr(self.state, k))
        if changed:
            self._push(new, "restore recipe", None)
            self._emit(changed)


def _pixels_hash(image: FrozenArray) -> str:
    import hashlib

    return "pixels:" + hashlib.sha256(image.data).hexdigest()
