"""The model panel: open a model (a recent one, or one of the shipped emoji models in one click) and what it is:
family, resolution, license."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qtawesome as qta
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget
from superqt import QElidingLabel

from bigart.models.shipped import shipped_models

FAMILY_NAMES = {"stylegan2": "StyleGAN2", "stylegan3": "StyleGAN3", "biggan": "BigGAN-deep", "cyclegan": "CycleGAN"}


SHIPPED_ICONS = {"stylegan2": "fa6s.face-smile", "biggan": "fa6s.shapes", "cyclegan": "fa6s.right-left"}
SHIPPED_LABELS = {"stylegan2": "StyleGAN2", "biggan": "BigGAN", "cyclegan": "CycleGAN"}


class ModelPanel(QGroupBox):
    """Emits ``open_requested`` (the Open... button) and ``recent_chosen(path)`` (a recent or a shipped model)."""

    open_requested = Signal()
    recent_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.open_button = QPushButton(qta.icon("fa6s.folder-open"), "Open...")
        self.open_button.setToolTip("Open a model file (Ctrl+O); you can also drop one on the window")
        self.open_button.clicked.connect(self.open_requested)
        self.recent = QComboBox()
        self.recent.setToolTip("Models opened before")
        self.recent.setMinimumContentsLength(12)
        self.recent.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.recent.activated.connect(self._recent_activated)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.recent, 1)
        self.shipped_buttons: dict[str, QPushButton] = {}
        shipped_row = QHBoxLayout()
        for m in shipped_models():
            button = QPushButton(qta.icon(SHIPPED_ICONS.get(m.family, "fa6s.cube")), SHIPPED_LABELS.get(m.family, ""))
            button.setToolTip(f"{m.title}: bigart's own model, trained on open emoji art\n{m.path}")
            button.clicked.connect(lambda _=False, path=str(m.path): self.recent_chosen.emit(path))
            shipped_row.addWidget(button)
            self.shipped_buttons[m.family] = button
        self.file = QElidingLabel("none")
        self.file.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.family = QLabel("-")
        self.resolution = QLabel("-")
        self.license = QLabel("-")
        self.license.setWordWrap(True)
        self.license.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("")
        self.status.setEnabled(False)
        form = QFormLayout(self)
        form.addRow(row)
        if self.shipped_buttons:
            form.addRow("Emoji", shipped_row)
        form.addRow("File", self.file)
        form.addRow("Family", self.family)
        form.addRow("Size", self.resolution)
        form.addRow("License", self.license)
        form.addRow(self.status)
        self.status.hide()
        self.set_recent([])

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        self.recent.addItem("Recent models" if paths else "No recent models")
        self.recent.model().item(0).setEnabled(False)
        for p in paths:
            self.recent.addItem(Path(p).name, p)
            self.recent.setItemData(self.recent.count() - 1, p, Qt.ItemDataRole.ToolTipRole)
        self.recent.setCurrentIndex(0)

    @Slot(int)
    def _recent_activated(self, index: int) -> None:
        path = self.recent.itemData(index)
        self.recent.setCurrentIndex(0)
        if path:
            self.recent_chosen.emit(path)

    def set_loading(self, path: str) -> None:
        self.status.setText(f"Loading {Path(path).name}...")
        self.status.show()
        self.open_button.setEnabled(False)

    def set_model(self, model: Any | None) -> None:
        self.open_button.setEnabled(True)
        self.status.setText("")
        self.status.hide()
        if model is None:
            return
        info = model.info()
        self.file.setText(Path(info["file"]).name)
        self.file.setToolTip(f"{info['file']}\nsha256 {info['sha256']}\nformat {info['format']}")
        self.family.setText(FAMILY_NAMES.get(model.family, model.family))
        resolution = info.get("resolution")
        params = (
            f"{info['params'] / 1e6:.1f} M parameters" if info["params"] >= 1e5 else f"{info['params']:,} parameters"
        )
        if resolution:
            self.resolution.setText(f"{resolution} × {resolution} px, {params}")
        else:
            self.resolution.setText(f"any size (multiples of {info.get('size_multiple', 1)} px), {params}")
        self.license.setText(info.get("license") or "not recorded in the file")
        notes = info.get("notes") or []
        self.license.setToolTip("\n".join(notes))
