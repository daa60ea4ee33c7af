"""Small widgets shared by the panels: a seed box, the seed pad, labelled sliders, signal blocking."""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator

import qtawesome as qta
from PySide6.QtCore import QObject, QPointF, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget
from superqt import QLabeledDoubleSlider, QLargeIntSpinBox

from bigart.latent.seeds import MAX_SEED


@contextlib.contextmanager
def blocked(*objects: QObject) -> Iterator[None]:
    """Set widgets from the state without their signals echoing back into the session."""
    blockers = [QSignalBlocker(o) for o in objects]
    try:
        yield
    finally:
        for b in blockers:
            b.unblock()


def tool_button(icon: str, tip: str, parent: QWidget | None = None) -> QToolButton:
    b = QToolButton(parent)
    b.setIcon(qta.icon(icon))
    b.setToolTip(tip)
    return b


def double_slider(minimum: float, maximum: float, decimals: int = 2, step: float = 0.01) -> QLabeledDoubleSlider:
    s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    s.setRange(minimum, maximum)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setPageStep(step * 10)
    return s


class SeedBox(QWidget):
    """A seed: spin box with previous / next / random buttons. Emits ``chosen(seed)``."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spin = QLargeIntSpinBox()
        self.spin.setRange(0, MAX_SEED)
        self.spin.setToolTip("The seed: the same seed always gives the same picture")
        self.spin.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.prev = tool_button("fa6s.chevron-left", "Previous seed")
        self.next = tool_button("fa6s.chevron-right", "Next seed")
        self.random = tool_button("fa6s.dice", "Random seed")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.spin, 1)
        for b in (self.prev, self.next, self.random):
            row.addWidget(b)
        self.spin.valueChanged.connect(self._typed)
        self.prev.clicked.connect(self._previous)
        self.next.clicked.connect(self._next)
        self.random.clicked.connect(self._random)

    def value(self) -> int:
        return int(self.spin.value())

    def set_value(self, seed: int) -> None:
        with blocked(self.spin):
            self.spin.setValue(int(seed))

    @Slot(int)
    def _typed(self, seed: int) -> None:
        self.chosen.emit(int(seed))

    @Slot()
    def _previous(self) -> None:
        self.chosen.emit((self.value() - 1) & MAX_SEED)

    @Slot()
    def _next(self) -> None:
        self.chosen.emit((self.value() + 1) & MAX_SEED)

    @Slot()
    def _random(self) -> None:
        self.chosen.emit(random.randrange(2**31))


class SeedPad(QWidget):
    """A 2-D drag area over the seed plane: dragging reports moves in seed units (``moved(dx, dy)``); the grid shows
    the whole seeds around the position given by :meth:`set_position`."""

    pressed = Signal()
    moved = Signal(float, float)
    released = Signal()

    PIXELS_PER_SEED = 48.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(72)
        self.setMaximumHeight(72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip("Drag to move between seeds: whole steps are seeds, the points between them blend their w")
        self.position = (0.0, 0.0)
        self.caption = ""
        self._last: QPointF | None = None

    def set_position(self, x: float, y: float, caption: str = "") -> None:
        self.position, self.caption = (float(x), float(y)), caption
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            self.pressed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            return
        delta = event.position() - self._last
        self._last = event.position()
        # dragging the grid: moving it right shows the seeds to the left
        self.moved.emit(-delta.x() / self.PIXELS_PER_SEED, -delta.y() / self.PIXELS_PER_SEED)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None and event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            self.released.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        step = self.PIXELS_PER_SEED
        cx, cy = self.width() / 2, self.height() / 2
        x, y = self.position
        p.setPen(QPen(pal.mid().color(), 1))
        first_i = math.floor(x - cx / step)
        for i in range(first_i, first_i + int(self.width() / step) + 2):
            px = cx + (i - x) * step
            p.drawLine(QPointF(px, 0), QPointF(px, self.height()))
        first_j = math.floor(y - cy / step)
        for j in range(first_j, first_j + int(self.height() / step) + 2):
            py = cy + (j - y) * step
            p.drawLine(QPointF(0, py), QPointF(self.width(), py))
        p.setPen(QPen(QColor(220, 60, 60), 2))
        p.drawLine(QPointF(cx - 8, cy), QPointF(cx + 8, cy))
        p.drawLine(QPointF(cx, cy - 8), QPointF(cx, cy + 8))
        if self.caption:
            p.setPen(pal.text().color())
            p.drawText(
                self.rect().adjusted(6, 4, -6, -4),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                self.caption,
            )
        p.setPen(pal.mid().color())
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
