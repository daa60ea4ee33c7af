"""Errors as a non-modal bar above the canvas: one short line, the details one click away, never a crash."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton, QWidget


class NotificationBar(QFrame):
    """Shows the latest problem; ``kind`` lets the window clear render errors once a render succeeds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notification")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#notification { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
            "#notification QLabel { color: #611a15; }"
        )
        icon = QLabel()
        icon.setPixmap(qta.icon("fa6s.circle-exclamation", color="#c62828").pixmap(18, 18))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details")
        self.details_button.clicked.connect(self.show_details)
        close = QToolButton()
        close.setIcon(qta.icon("fa6s.xmark"))
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(icon)
        row.addWidget(self.message, 1)
        row.addWidget(self.details_button)
        row.addWidget(close)
        self.kind = ""
        self.details = ""
        self._dialog: QMessageBox | None = None
        self.hide()

    def show_error(self, message: str, details: str = "", kind: str = "error") -> None:
        self.kind, self.details = kind, details or message
        self.message.setText(message)
        self.details_button.setVisible(bool(self.details))
        self.show()

    @Slot()
    def dismiss(self) -> None:
        self.kind = ""
        self.hide()

    def clear(self, kind: str) -> None:
        """Hide the bar if it shows a problem of ``kind``."""
        if self.isVisible() and self.kind == kind:
            self.dismiss()

    @Slot()
    def show_details(self) -> None:
        """The full text in a non-modal message box."""
        if self._dialog is not None:
            self._dialog.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "bigart: details", self.message.text(), parent=self)
        box.setDetailedText(self.details)
        box.setModal(False)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self._dialog = box
