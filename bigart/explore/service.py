"""The render service: one render thread, one pending slot, stamps, latest wins.

``submit`` never blocks: it stamps the request and overwrites the pending slot, so a burst of slider events
collapses into the newest one. The render thread owns the engine; it takes the newest request, maps it (StyleGAN
mapping + mixing are cached by request), looks once more for a newer stamp before the costly synthesis, renders,
and hands a :class:`RenderResult` to ``on_result`` (on the render thread: a GUI bridge forwards it). Errors are
results; the thread never dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from bigart.engine.engine import STYLEGAN, Engine
from bigart.engine.request import RenderRequest, RenderResult

log = logging.getLogger(__name__)

ResultCallback = Callable[[RenderResult, RenderRequest], None]


class RenderService:
    """Renders submitted requests on its own thread; ``close()`` (or ``with``) stops it."""

    def __init__(
        self,
        engine: Engine,
        on_result: ResultCallback | None = None,
        preview_engine: Engine | None = None,
        cache_size: int = 64,
        name: str = "bigart-render",
    ) -> None:
        self.engine, self.preview_engine = engine, preview_engine
        self.on_result = on_result
        self.cache_size = cache_size
        self._cache: OrderedDict[RenderRequest, np.ndarray] = OrderedDict()
        self._cond = threading.Condition()
        self._pending: tuple[int, RenderRequest, bool] | None = None
        self._stamp = 0
        self._closed = False
        self._last: RenderResult | None = None
        self._last_key: tuple[RenderRequest, bool] | None = None
        self.renders = 0  # renders finished (results delivered)
        self.skipped = 0  # requests dropped because a newer one came
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # -- the GUI side --------------------------------------------------------------------------------------------
    def submit(self, request: RenderRequest, preview: bool = False) -> int:
        """Queue ``request`` (replacing any pending one); returns its stamp. An equal request to the one last
        rendered or pending is not rendered again: its stamp is the earlier one."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the render service is closed")
            key = (request, preview and self.preview_engine is not None)
            if self._pending is not None and (self._pending[1], self._pending[2]) == key:
                return self._pending[0]
            if self._pending is None and self._last_key == key and self._last is not None and self._last.ok:
                return self._last.stamp
            self._stamp += 1
            if self._pending is not None:
                self.skipped += 1
            self._pending = (self._stamp, request, key[1])
            self._cond.notify_all()
            return self._stamp

    @property
    def latest(self) -> RenderResult | None:
        with self._cond:
            return self._last

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._pending is not None or self._working

    def wait(self, stamp: int | None = None, timeout: float = 60.0) -> RenderResult | None:
        """Block until the result of ``stamp`` (default: the newest submitted) or a newer one is in."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._stamp if stamp is None else stamp
            while self._last is None or self._last.stamp < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return self._last if self._last and self._last.stamp >= target else None
                self._cond.wait(left)
            return self._last

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread after the render in progress (pending requests are dropped)."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> RenderService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the render thread ---------------------------------------------------------------------------------------
    _working = False

    def _take(self) -> tuple[int, RenderRequest, bool] | None:
        with self._cond:
            while self._pending is None and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            job, self._pending = self._pending, None
            self._working = True
            return job

    def _newer(self) -> bool:
        with self._cond:
            return self._pending is not None or self._closed

    def _loop(self) -> None:
        while True:
            job = self._take()
            if job is None:
                return
            stamp, request, preview = job
            try:
                result = self._render(stamp, request, preview)
            except Exception as e:  # never let the thread die
                log.exception("render thread")
                result = RenderResult(stamp, None, {}, f"{type(e).__name__}: {e}")
            with self._cond:
                self._working = False
                if result is None:  # superseded before synthesis
                    self.skipped += 1
                    continue
                self._last, self._last_key = result, (request, preview)
                self.renders += 1
                self._cond.notify_all()
            if self.on_result is not None:
                try:
                    self.on_result(result, request)
                except Exception:
                    log.exception("render result callback")

    def _render(self, stamp: int, request: RenderRequest, preview: bool) -> RenderResult | None:
        engine = self.preview_engine if preview and self.preview_engine is not None else self.engine
        if engine.model.family not in STYLEGAN or request.image is not None:
            return engine.render(request, stamp)
        start = time.perf_counter()
        base = replace(request, directions=())
        ws = self._cache.get(base)
        if ws is None:
            try:
                ws = engine.request_ws(base)
            except Exception:
                return engine.render(request, stamp)  # the engine turns the error into a result
            self._cache[base] = ws
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(base)
        if self._newer():
            return None
        try:
            ws = engine.offset_ws(ws, request)
        except Exception:
            return engine.render(request, stamp)
        result = engine.render(request, stamp, ws=ws)
        timings = {**result.timings, "total": time.perf_counter() - start}
        return replace(result, timings=timings)
