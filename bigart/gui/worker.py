"""Long work off the GUI thread: a function runs on the global thread pool and its value (or its error) comes back
through a queued signal to a bound slot of a GUI-thread object."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


@dataclass(frozen=True)
class Failure:
    """An exception from a worker: a short message for the notification bar and the traceback behind "Details"."""

    message: str
    details: str


class Task(QObject):
    """The signals of one piece of work; ``finished(value)`` or ``failed(Failure)`` is emitted once."""

    finished = Signal(object)
    failed = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], task: Task) -> None:
        super().__init__()
        self.fn, self.task = fn, task

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as e:
            self.task.failed.emit(Failure(str(e) or type(e).__name__, traceback.format_exc()))
        else:
            self.task.finished.emit(value)


class Workers(QObject):
    """Starts tasks and keeps each alive until its result is delivered."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: set[Task] = set()

    def start(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[Failure], None]) -> Task:
        """Run ``fn()`` on the pool; ``done(value)`` or ``failed(Failure)`` runs on the GUI thread. ``done`` and
        ``failed`` must be bound slots of GUI-thread QObjects (never lambdas: they would run on the worker)."""
        task = Task(self)
        task.finished.connect(done)
        task.failed.connect(failed)
        task.finished.connect(self._forget)
        task.failed.connect(self._forget)
        self._running.add(task)
        QThreadPool.globalInstance().start(_Runnable(fn, task))
        return task

    @property
    def busy(self) -> bool:
        return bool(self._running)

    @Slot(object)
    def _forget(self, _value: object) -> None:
        task = self.sender()
        self._running.discard(task)
        if task is not None:
            task.deleteLater()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every started task has run (for closing the app)."""
        return QThreadPool.globalInstance().waitForDone(msecs)
