"""Direction sliders: compute SeFa directions on a worker, load and save direction files, one slider each."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import qtawesome as qta
from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QElidingLabel, QLabeledDoubleSlider

from bigart.explore import ExploreState, Session
from bigart.explore.directions import directions_of, slots_of
from bigart.gui.panel import Panel
from bigart.gui.widgets import blocked, double_slider
from bigart.gui.worker import Failure, Workers
from bigart.latent.directions import Directions

SLIDER_RANGE = 10.0


def compute_sefa(model: Any, k: int) -> Directions:
    """SeFa directions of ``model`` (runs on a worker)."""
    from bigart.models.directions import sefa_directions

    return sefa_directions(model, k)


class DirectionsPanel(Panel):
    """``Compute SeFa`` (k directions), ``Load...``, ``Save...``, ``Reset`` and a slider per direction."""

    def __init__(self, session: Session, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.workers = workers
        self.k = QSpinBox()
        self.k.setRange(1, 64)
        self.k.setValue(8)
        self.k.setToolTip("How many directions to compute")
        self.compute = QPushButton(qta.icon("fa6s.wand-magic-sparkles"), "Compute SeFa")
        self.compute.setToolTip("Find the directions the generator's weights vary most along (SeFa, no sampling)")
        self.load = QPushButton(qta.icon("fa6s.file-import"), "Load...")
        self.load.setToolTip("Load a directions file (.npz from 'bigart directions' or Save)")
        self.save = QPushButton(qta.icon("fa6s.floppy-disk"), "Save...")
        self.save.setToolTip("Save these directions as .npz")
        self.reset = QPushButton(qta.icon("fa6s.arrow-rotate-left"), "Reset")
        self.reset.setToolTip("Put every direction slider back to 0")
        self.empty = QLabel("No directions yet: compute SeFa directions or load a file.")
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)

        top = QHBoxLayout()
        top.addWidget(self.compute)
        top.addWidget(QLabel("k"))
        top.addWidget(self.k)
        top.addStretch(1)
        files = QHBoxLayout()
        files.addWidget(self.load)
        files.addWidget(self.save)
        files.addWidget(self.reset)
        files.addStretch(1)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.grid.setHorizontalSpacing(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(files)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid)

        self.sliders: list[QLabeledDoubleSlider] = []
        self._names: tuple[str, ...] = ()
        self._source: Directions | None = None  # the file or SeFa result the sliders came from, to save as it was
        self.compute.clicked.connect(self.compute_sefa)
        self.load.clicked.connect(self._load_clicked)
        self.save.clicked.connect(self._save_clicked)
        self.reset.clicked.connect(self._reset)

    def configure(self, model: Any) -> None:
        self._source = None
        self.compute.setEnabled(True)

    # -- SeFa ------------------------------------------------------------------------------------------------------
    @Slot()
    def compute_sefa(self) -> None:
        model = self.session.model
        if model is None:
            return
        self.compute.setEnabled(False)
        self.compute.setText("Computing...")
        self.workers.start(partial(compute_sefa, model, self.k.value()), self._computed, self._failed)

    @Slot(object)
    def _computed(self, directions: Directions) -> None:
        self._done()
        if self.session.model is None or directions.model_sha256 != self.session.model.sha256:
            return  # another model was opened meanwhile
        self.use(directions, f"SeFa ({directions.k})")

    @Slot(object)
    def _failed(self, failure: Failure) -> None:
        self._done()
        self.problem.emit(f"Computing SeFa directions failed: {failure.message}", failure.details)

    def _done(self) -> None:
        self.compute.setEnabled(True)
        self.compute.setText("Compute SeFa")

    def use(self, directions: Directions, label: str) -> None:
        """Replace the sliders by ``directions`` (one undo step)."""
        try:
            slots = slots_of(directions, self.session.model)
        except ValueError as e:
            self.problem.emit(f"These directions do not fit this model: {e}", "")
            return
        self._source = directions
        self.edit(label=label, directions=slots)

    # -- files -----------------------------------------------------------------------------------------------------
    @Slot()
    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load directions", "", "Directions (*.npz)")
        if path:
            self.load_file(path)

    def load_file(self, path: str | Path) -> None:
        try:
            directions = Directions.load(path)
        except Exception as e:
            self.problem.emit(f"Could not load directions: {e}", "")
            return
        self.use(directions, f"load {Path(path).name}")

    @Slot()
    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save directions", "directions.npz", "Directions (*.npz)")
        if path:
            self.save_file(path)

    def save_file(self, path: str | Path) -> bool:
        slots = self.session.state.directions
        try:
            directions = self._source if self._matches_source(slots) else directions_of(slots, self.session.model)
            directions.save(path)
        except (ValueError, OSError) as e:
            self.problem.emit(f"Could not save directions: {e}", "")
            return False
        return True

    def _matches_source(self, slots: tuple) -> bool:
        if self._source is None or self.session.model is None:
            return False
        try:
            mine = slots_of(self._source, self.session.model)
        except ValueError:
            return False
        return len(mine) == len(slots) and all(
            a.name == b.name and np.array_equal(a.vector.numpy(), b.vector.numpy())
            for a, b in zip(mine, slots, strict=True)
        )

    @Slot()
    def _reset(self) -> None:
        try:
            self.session.reset_directions()
        except ValueError as e:
            self.problem.emit(str(e), "")

    # -- sliders ---------------------------------------------------------------------------------------------------
    def sync(self, state: ExploreState, changed: frozenset[str]) -> None:
        if "directions" not in changed:
            return
        names = tuple(s.name for s in state.directions)
        if names != self._names:
            self._rebuild(names)
        for slider, slot in zip(self.sliders, state.directions, strict=True):
            if abs(slider.value() - slot.value) > 1e-9:
                with blocked(slider):
                    slider.setValue(slot.value)
        has = bool(state.directions)
        self.empty.setVisible(not has)
        self.save.setEnabled(has)
        self.reset.setEnabled(has and any(s.value for s in state.directions))

    def _rebuild(self, names: tuple[str, ...]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders = []
        for i, name in enumerate(names):
            label = QElidingLabel(name)
            label.setToolTip(name)
            label.setMinimumWidth(min(label.fontMetrics().horizontalAdvance(name) + 6, 130))
            label.setMaximumWidth(130)
            slider = double_slider(-SLIDER_RANGE, SLIDER_RANGE, decimals=1, step=0.1)
            slider.setValue(0.0)
            slider.valueChanged.connect(partial(self._moved, i))
            self.watch_drags(slider)
            self.grid.addWidget(label, i, 0)
            self.grid.addWidget(slider, i, 1)
            self.sliders.append(slider)
        self._names = names

    def _moved(self, index: int, value: float) -> None:
        merge = "direction" if self.sliders[index].isSliderDown() else None
        try:
            self.session.set_direction(index, round(float(value), 3), merge=merge)
        except (ValueError, IndexError) as e:
            self.problem.emit(str(e), "")


def directions_section(owner, session, workers) -> tuple[DirectionsPanel, QCollapsible]:
    """A :class:`DirectionsPanel` in an open "Directions" section, its drag and problem signals forwarded to
    ``owner``'s (``drag_started``, ``drag_finished``, ``problem``)."""
    panel = DirectionsPanel(session, workers)
    panel.drag_started.connect(owner.drag_started)
    panel.drag_finished.connect(owner.drag_finished)
    panel.problem.connect(owner.problem)
    box = QCollapsible("Directions")
    box.addWidget(panel)
    box.expand(animate=False)
    return panel, box
