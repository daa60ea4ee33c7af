"""The BigGAN panel: seed, classes (search by name, blend several with weights), truncation, directions."""

from __future__ import annotations

from functools import partial
from typing import Any

import qtawesome as qta
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QCompleter,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel

from bigart.explore import ExploreState, Session
from bigart.gui.directions_panel import directions_section
from bigart.gui.panel import Panel
from bigart.gui.widgets import SeedBox, blocked, double_slider, tool_button
from bigart.gui.worker import Workers
from bigart.latent.classes import ClassIndex


class BigGANPanel(Panel):
    def __init__(self, session: Session, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.classes: ClassIndex | None = None
        self._choices: dict[str, int] = {}
        self._shown_classes: tuple[int, ...] = ()

        self.seed = SeedBox()
        self.seed.chosen.connect(self._seed_chosen)
        self.truncation = double_slider(0.02, 1.0)
        self.truncation.setToolTip("Truncation: low values give typical, clean images; 1 gives the most variety")
        self.truncation.valueChanged.connect(self._truncation_moved)
        self.watch_drags(self.truncation)
        latent = QGroupBox("Latent")
        form = QFormLayout(latent)
        form.addRow("Seed", self.seed)
        form.addRow("Truncation", self.truncation)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Class name, e.g. tabby")
        self.search.setClearButtonEnabled(True)
        self.completer = QCompleter([])
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setMaxVisibleItems(12)
        self.search.setCompleter(self.completer)
        self.completer.activated.connect(self._completed)
        self.search.returnPressed.connect(self.set_class)
        self.set_button = QPushButton("Set")
        self.set_button.setToolTip("Show only this class")
        self.set_button.clicked.connect(self.set_class)
        self.add_button = QPushButton(qta.icon("fa6s.plus"), "Blend")
        self.add_button.setToolTip("Add this class to the blend")
        self.add_button.clicked.connect(self.add_class)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.set_button)
        row.addWidget(self.add_button)
        self.blend = QGridLayout()
        self.blend.setColumnStretch(0, 1)
        classes = QGroupBox("Classes")
        box = QVBoxLayout(classes)
        box.addLayout(row)
        box.addLayout(self.blend)
        hint = QLabel("Weights mix the class embeddings linearly.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        box.addWidget(hint)

        self.directions, self.directions_box = directions_section(self, session, workers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(latent)
        layout.addWidget(classes)
        layout.addWidget(self.directions_box)
        layout.addStretch(1)
        self.weight_spins: list[QDoubleSpinBox] = []

    def configure(self, model: Any) -> None:
        from bigart.jobs.render import class_index

        self.classes = class_index(model)
        self._choices = {f"{c.name} ({c.index})": c.index for c in self.classes}
        self.completer.model().setStringList(list(self._choices))
        self._shown_classes = ()
        self.directions.configure(model)

    # -- state -> widgets ------------------------------------------------------------------------------------------
    def sync(self, state: ExploreState, changed: frozenset[str]) -> None:
        self.seed.set_value(state.seed)
        with blocked(self.truncation):
            if abs(self.truncation.value() - state.psi) > 1e-9:
                self.truncation.setValue(state.psi)
        indices = tuple(i for i, _ in state.class_weights)
        if indices != self._shown_classes:
            self._rebuild_blend(indices)
        with blocked(*self.weight_spins):
            for spin, (_, weight) in zip(self.weight_spins, state.class_weights, strict=True):
                spin.setValue(weight)
        self.directions.sync(state, changed)

    def _rebuild_blend(self, indices: tuple[int, ...]) -> None:
        while self.blend.count():
            self.blend.takeAt(0).widget().deleteLater()
        self.weight_spins = []
        for row, index in enumerate(indices):
            name = self._name(index)
            label = QElidingLabel(f"{name} ({index})")
            label.setToolTip(f"class {index}: {name}")
            spin = QDoubleSpinBox()
            spin.setRange(-2.0, 2.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)
            spin.setToolTip("Weight of this class in the blend")
            spin.valueChanged.connect(partial(self._weight_changed, row))
            remove = tool_button("fa6s.trash", "Remove from the blend")
            remove.setEnabled(len(indices) > 1)
            remove.clicked.connect(partial(self._remove, row))
            self.blend.addWidget(label, row, 0)
            self.blend.addWidget(spin, row, 1)
            self.blend.addWidget(remove, row, 2)
            self.weight_spins.append(spin)
        self._shown_classes = indices

    def _name(self, index: int) -> str:
        if self.classes is None or not 0 <= index < len(self.classes):
            return f"class {index}"
        return self.classes[index].name

    # -- widgets -> session ----------------------------------------------------------------------------------------
    @Slot(int)
    def _seed_chosen(self, seed: int) -> None:
        self.edit(label=f"seed {seed}", seed=int(seed), latent=None, latent_space="z")

    @Slot(float)
    def _truncation_moved(self, value: float) -> None:
        merge = "psi" if self.truncation.isSliderDown() else None
        self.edit(label="truncation", merge=merge, psi=round(float(value), 3))

    def _searched(self) -> int | None:
        text = self.search.text().strip()
        if not text or self.classes is None:
            return None
        if text in self._choices:
            return self._choices[text]
        try:
            return self.classes.find(text).index
        except ValueError as e:
            self.problem.emit(str(e), "")
            return None

    @Slot(str)
    def _completed(self, _text: str) -> None:
        QTimer.singleShot(0, self.set_class)  # after the completer has put its text in the search field

    @Slot()
    def set_class(self) -> None:
        index = self._searched()
        if index is not None:
            self.edit(label=self._name(index), class_weights=((index, 1.0),))
            self.search.clear()

    @Slot()
    def add_class(self) -> None:
        index = self._searched()
        if index is None:
            return
        weights = self.session.state.class_weights
        if any(i == index for i, _ in weights):
            return
        self.edit(label=f"blend {self._name(index)}", class_weights=(*weights, (index, 1.0)))
        self.search.clear()

    def _weight_changed(self, row: int, value: float) -> None:
        weights = list(self.session.state.class_weights)
        if row < len(weights):
            weights[row] = (weights[row][0], round(float(value), 4))
            self.edit(label=f"weight of {self._name(weights[row][0])}", class_weights=tuple(weights))

    def _remove(self, row: int) -> None:
        weights = list(self.session.state.class_weights)
        if len(weights) > 1 and row < len(weights):
            index, _ = weights.pop(row)
            self.edit(label=f"remove {self._name(index)}", class_weights=tuple(weights))
