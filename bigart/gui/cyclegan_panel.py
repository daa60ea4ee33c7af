"""The CycleGAN panel: the picture to translate, the direction, the tile size, the before/after split."""

from __future__ import annotations

from typing import Any

import qtawesome as qta
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from bigart.explore import ExploreState, Session
from bigart.gui.panel import Panel
from bigart.gui.widgets import blocked

DIRECTION_LABELS = {"AtoB": "A → B", "BtoA": "B → A"}
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif)"


class CycleGANPanel(Panel):
    """``open_image_requested`` / ``save_requested`` go to the window, which owns files and workers;
    ``split_toggled`` drives the canvas."""

    open_image_requested = Signal()
    save_requested = Signal()
    split_toggled = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.open_button = QPushButton(qta.icon("fa6s.image"), "Open image...")
        self.open_button.setToolTip("The picture to translate (or drop it on the window)")
        self.open_button.clicked.connect(self.open_image_requested)
        self.image_label = QElidingLabel("No image yet")
        self.direction = QComboBox()
        for key, text in DIRECTION_LABELS.items():
            self.direction.addItem(text, key)
        self.direction.setToolTip("A → B uses the generator G_A (e.g. horse → zebra), B → A uses G_B")
        self.direction.currentIndexChanged.connect(self._direction_chosen)
        self.tile = QSpinBox()
        self.tile.setRange(0, 4096)
        self.tile.setSingleStep(64)
        self.tile.setSuffix(" px")
        self.tile.setSpecialValueText("whole image")
        self.tile.setToolTip("Large images go through the net in overlapping tiles of this size (bounds memory)")
        self.tile.valueChanged.connect(self._tile_chosen)
        self.split = QCheckBox("Before / after split")
        self.split.setChecked(True)
        self.split.setToolTip("Show the input left of the handle and the translation right of it")
        self.split.toggled.connect(self.split_toggled)
        self.save_button = QPushButton(qta.icon("fa6s.floppy-disk"), "Save...")
        self.save_button.setToolTip("Save the translation as PNG with its recipe (Ctrl+S)")
        self.save_button.clicked.connect(self.save_requested)

        group = QGroupBox("Translate")
        form = QFormLayout(group)
        form.addRow(self.open_button)
        form.addRow("Image", self.image_label)
        form.addRow("Direction", self.direction)
        form.addRow("Tile", self.tile)
        form.addRow(self.split)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addStretch(1)
        form.addRow(row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(group)
        layout.addStretch(1)

    def configure(self, model: Any) -> None:
        directions = getattr(model.generator, "directions", ("AtoB",))
        for i in range(self.direction.count()):
            self.direction.model().item(i).setEnabled(self.direction.itemData(i) in directions)

    def sync(self, state: ExploreState, changed: frozenset[str]) -> None:
        with blocked(self.direction, self.tile):
            self.direction.setCurrentIndex(max(self.direction.findData(state.translate_direction), 0))
            self.tile.setValue(0 if state.tile is None else state.tile)
        if state.image is None:
            self.image_label.setText("No image yet: open one or drop it on the window")
        else:
            h, w = state.image.shape[:2]
            self.image_label.setText(f"{state.image_name or 'image'} ({w} × {h})")
        self.save_button.setEnabled(state.image is not None)

    @Slot(int)
    def _direction_chosen(self, index: int) -> None:
        self.edit(
            label=f"translate {self.direction.itemText(index)}", translate_direction=self.direction.itemData(index)
        )

    @Slot(int)
    def _tile_chosen(self, value: int) -> None:
        self.edit(label="tile", tile=None if value == 0 else int(value))
