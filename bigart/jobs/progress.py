"""The progress object every long job takes: counts work, and lets the caller abort between steps."""

from __future__ import annotations


class Aborted(Exception):
    """Raised by ``Progress.check_aborted`` once ``abort()`` was called."""


class Progress:
    """Silent progress: counts steps and honours ``abort()``. Front ends subclass it to show the count."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.description = ""
        self._aborted = False

    def start(self, total: int, description: str = "") -> None:
        self.total, self.done, self.description = total, 0, description

    def advance(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        """Called once when the job ends, whatever the outcome."""

    def abort(self) -> None:
        self._aborted = True

    def check_aborted(self) -> None:
        if self._aborted:
            raise Aborted(f"{self.description or 'job'} cancelled after {self.done} of {self.total}")
