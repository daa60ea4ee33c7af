"""The history strip: every step of the session, the current one selected; clicking a step goes back to it."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QWidget

from bigart.explore import Session
from bigart.gui.widgets import blocked


class HistoryStrip(QListWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setToolTip("Every change; click one to go back to it (Ctrl+Z / Ctrl+Shift+Z step through)")
        self.currentRowChanged.connect(self._chosen)
        self._labels: list[str] = []

    def sync(self) -> None:
        labels = [e.label for e in self.session.history]
        with blocked(self):
            if labels != self._labels:
                self.clear()
                self.addItems(labels)
                self._labels = labels
            self.setCurrentRow(self.session.position)
        item = self.item(self.session.position)
        if item is not None:
            self.scrollToItem(item)

    @Slot(int)
    def _chosen(self, row: int) -> None:
        if row >= 0:
            self.session.go_to(row)
