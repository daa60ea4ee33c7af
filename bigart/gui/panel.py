"""What every control panel shares: the session it edits, and signals for drags and problems."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractSlider, QWidget

from bigart.explore import ExploreState, Session


class Panel(QWidget):
    """A panel edits the session's state through ``session.set`` and shows it again in :meth:`sync`.

    ``drag_started`` / ``drag_finished`` frame a slider drag (previews, one undo step); ``problem(message,
    details)`` reports what went wrong to the notification bar.
    """

    drag_started = Signal()
    drag_finished = Signal()
    problem = Signal(str, str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session

    def configure(self, model: Any) -> None:
        """A model was loaded: adapt to it (layers, classes, directions)."""

    def sync(self, state: ExploreState, changed: frozenset[str]) -> None:
        """Show ``state`` (widgets set with their signals blocked)."""

    def watch_drags(self, slider: QAbstractSlider) -> None:
        slider.sliderPressed.connect(self.drag_started)
        slider.sliderReleased.connect(self.drag_finished)

    def edit(self, label: str | None = None, merge: str | None = None, **changes: Any) -> None:
        """``session.set`` that reports a refused value instead of raising."""
        try:
            self.session.set(label=label, merge=merge, **changes)
        except ValueError as e:
            self.problem.emit(str(e), "")
