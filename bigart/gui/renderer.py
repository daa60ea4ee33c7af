"""The bridge between the render service's thread and the GUI thread.

One :class:`~bigart.explore.RenderService` per (model, backend): its render thread calls a :class:`ResultBridge`,
which emits a queued signal; :class:`Renderer` receives it in a bound slot on the GUI thread, drops results of a
service it has already replaced (its generation), and re-emits them as :class:`Delivery` values for the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from bigart.engine.engine import Engine, preview_precision
from bigart.engine.request import RenderRequest, RenderResult
from bigart.explore import RenderService


@dataclass(frozen=True)
class Delivery:
    """A render result as the window sees it: which service made it (``generation``), the request it answers, and
    whether it is a preview and at what precision it was computed."""

    generation: int
    result: RenderResult
    request: RenderRequest
    preview: bool = False
    precision: str = "fp32"

    @property
    def key(self) -> tuple[int, int]:
        """Orders results: a newer service, or a newer stamp of the same service, is newer."""
        return (self.generation, self.result.stamp)


class ResultBridge(QObject):
    """Called on the render thread with each result; emits it to the GUI thread."""

    delivered = Signal(object)

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation

    def __call__(self, result: RenderResult, request: RenderRequest) -> None:
        self.delivered.emit(Delivery(self.generation, result, request))


class Renderer(QObject):
    """Owns the render service of the loaded model; ``submit`` never blocks, results arrive as ``shown``."""

    shown = Signal(object)

    def __init__(self, parent: QObject | None = None, engine_factory: type[Engine] = Engine) -> None:
        super().__init__(parent)
        self.engine_factory = engine_factory
        self.service: RenderService | None = None
        self.engine: Engine | None = None
        self.preview_engine: Engine | None = None
        self.generation = 0
        self._bridge: ResultBridge | None = None
        self._retired: list[tuple[RenderService, ResultBridge]] = []
        self._previews: dict[int, bool] = {}

    def configure(self, model: Any, backend: str = "torch") -> None:
        """Render ``model`` on ``backend`` from now on (a new render thread; the old one finishes and stops)."""
        self._retire()
        self.generation += 1
        engine = self.engine_factory(model, backend)
        preview = None
        if preview_precision(backend, engine.device) != "fp32":
            preview = self.engine_factory(model, backend, precision="preview")
        bridge = ResultBridge(self.generation)
        bridge.delivered.connect(self._delivered, Qt.ConnectionType.QueuedConnection)
        self.engine, self.preview_engine, self._bridge = engine, preview, bridge
        self.service = RenderService(engine, on_result=bridge, preview_engine=preview)
        self._previews.clear()

    def submit(self, request: RenderRequest, preview: bool = False) -> int:
        if self.service is None:
            raise RuntimeError("no model to render")
        preview = preview and self.preview_engine is not None
        stamp = self.service.submit(request, preview)
        self._previews.setdefault(stamp, preview)
        while len(self._previews) > 256:
            self._previews.pop(next(iter(self._previews)))
        return stamp

    @property
    def busy(self) -> bool:
        return self.service is not None and self.service.busy

    @Slot(object)
    def _delivered(self, delivery: Delivery) -> None:
        if delivery.generation != self.generation or self.engine is None:
            return  # from a service replaced since
        preview = self._previews.get(delivery.result.stamp, False)
        engine = self.preview_engine if preview else self.engine
        precision = engine.precision if engine is not None else "fp32"
        if delivery.result.backend == "torch" and self.engine.backend == "onnx":
            precision = "fp32"  # tiled translation runs on torch
        self.shown.emit(Delivery(delivery.generation, delivery.result, delivery.request, preview, precision))

    def _retire(self) -> None:
        if self.service is not None:
            self.service.close(timeout=0.0)
            self._retired.append((self.service, self._bridge))
        self._retired = [(s, b) for s, b in self._retired if s.alive]
        self.service = self.engine = self.preview_engine = self._bridge = None

    def close(self, timeout: float = 10.0) -> None:
        """Stop every render thread (waiting up to ``timeout`` seconds for the render in progress)."""
        self._retire()
        for service, _bridge in self._retired:
            service.close(timeout)
        self._retired = []
