"""The StyleGAN panel: seed and seed pad, truncation, noise, style mixing, directions."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QLargeIntSpinBox

from bigart.engine.request import NOISE_MODES
from bigart.explore import ExploreState, Session
from bigart.explore.seedplane import SeedPlane
from bigart.gui.directions_panel import directions_section
from bigart.gui.panel import Panel
from bigart.gui.widgets import SeedBox, SeedPad, blocked, double_slider
from bigart.gui.worker import Workers
from bigart.latent.mixing import PRESETS, preset_layers
from bigart.latent.seeds import MAX_SEED

NOISE_LABELS = {"const": "constant", "random": "random", "none": "none"}


class StyleGANPanel(Panel):
    def __init__(self, session: Session, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.plane: SeedPlane | None = None
        self._pad_pos = (0.0, 0.0)
        self._pad_latent = None  # the latent the pad made last (to go on from its position)

        # latent
        self.seed = SeedBox()
        self.seed.chosen.connect(self._seed_chosen)
        self.pad = SeedPad()
        self.pad.pressed.connect(self._pad_pressed)
        self.pad.moved.connect(self._pad_moved)
        self.pad.released.connect(self._pad_released)
        self.class_spin = QSpinBox()
        self.class_spin.setToolTip("The class of a class-conditional model")
        self.class_spin.valueChanged.connect(self._class_chosen)
        latent = QGroupBox("Latent, truncation and noise")
        form = QFormLayout(latent)
        form.addRow("Seed", self.seed)
        form.addRow(self.pad)
        self.class_label = QLabel("Class")
        form.addRow(self.class_label, self.class_spin)

        # truncation and noise
        self.psi = double_slider(-1.0, 2.0)
        self.psi.setToolTip("Truncation psi: 1 = untouched, 0 = the average face, below 0 = its opposite")
        self.psi.valueChanged.connect(self._psi_moved)
        self.watch_drags(self.psi)
        self.cutoff = QSpinBox()
        self.cutoff.setSpecialValueText("all layers")
        self.cutoff.setToolTip("Truncate only the first N layers of w+ (the coarse ones)")
        self.cutoff.valueChanged.connect(self._cutoff_chosen)
        self.noise = QComboBox()
        for mode in NOISE_MODES:
            self.noise.addItem(NOISE_LABELS[mode], mode)
        self.noise.setToolTip("Per-pixel noise: constant (reproducible), random (changes each render) or none")
        self.noise.currentIndexChanged.connect(self._noise_chosen)
        form.addRow("Psi (ψ)", self.psi)
        form.addRow("Cutoff", self.cutoff)
        form.addRow("Noise", self.noise)

        # style mixing
        self.mix_on = QCheckBox("Take styles from seed")
        self.mix_on.toggled.connect(self._mix_toggled)
        self.mix_seed = QLargeIntSpinBox()
        self.mix_seed.setRange(0, MAX_SEED)
        self.mix_seed.valueChanged.connect(self._mix_seed_chosen)
        self.layer_grid = QGridLayout()
        self.layer_grid.setHorizontalSpacing(4)
        self.layer_boxes: list[QCheckBox] = []
        presets = QHBoxLayout()
        self.preset_buttons = {}
        for name in PRESETS:
            b = QPushButton(name.capitalize())
            b.setToolTip(f"Mix the {name} layers")
            b.clicked.connect(partial(self._preset, name))
            presets.addWidget(b)
            self.preset_buttons[name] = b
        clear = QPushButton("None")
        clear.clicked.connect(self._clear_layers)
        presets.addWidget(clear)
        mixing = QWidget()
        box = QVBoxLayout(mixing)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.mix_on)
        row.addWidget(self.mix_seed, 1)
        box.addLayout(row)
        box.addWidget(QLabel("Layers (coarse to fine)"))
        box.addLayout(self.layer_grid)
        box.addLayout(presets)
        self.mixing = QCollapsible("Style mixing")
        self.mixing.addWidget(mixing)

        # directions
        self.directions, self.directions_box = directions_section(self, session, workers)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(latent)
        layout.addWidget(self.mixing)
        layout.addWidget(self.directions_box)
        layout.addStretch(1)

    # -- model -----------------------------------------------------------------------------------------------------
    def configure(self, model: Any) -> None:
        g = model.generator
        self.plane = SeedPlane(model)
        self._pad_latent = None
        with blocked(self.cutoff, self.class_spin):
            self.cutoff.setRange(0, g.num_ws)
            self.class_spin.setRange(0, max(g.c_dim - 1, 0))
        self.class_label.setVisible(g.c_dim > 0)
        self.class_spin.setVisible(g.c_dim > 0)
        while self.layer_grid.count():
            self.layer_grid.takeAt(0).widget().deleteLater()
        self.layer_boxes = []
        columns = 6 if g.num_ws <= 12 else 9
        for i in range(g.num_ws):
            b = QCheckBox(str(i))
            b.setToolTip(f"w+ layer {i}")
            b.toggled.connect(self._layers_ticked)
            self.layer_grid.addWidget(b, i // columns, i % columns)
            self.layer_boxes.append(b)
        for name, button in self.preset_buttons.items():
            button.setEnabled(bool(preset_layers(name, g.num_ws, model.family)))
        self.directions.configure(model)

    # -- state -> widgets ------------------------------------------------------------------------------------------
    def sync(self, state: ExploreState, changed: frozenset[str]) -> None:
        self.seed.set_value(state.seed)
        with blocked(self.psi, self.cutoff, self.noise, self.mix_on, self.mix_seed, self.class_spin, *self.layer_boxes):
            if abs(self.psi.value() - state.psi) > 1e-9:
                self.psi.setValue(state.psi)
            self.cutoff.setValue(0 if state.cutoff is None else state.cutoff)
            self.noise.setCurrentIndex(max(self.noise.findData(state.noise_mode), 0))
            self.mix_on.setChecked(state.mix_seed is not None)
            if state.mix_seed is not None:
                self.mix_seed.setValue(state.mix_seed)
            for i, b in enumerate(self.layer_boxes):
                b.setChecked(i in state.mix_layers)
            if state.class_weights:
                self.class_spin.setValue(state.class_weights[0][0])
        self.mix_seed.setEnabled(state.mix_seed is not None)
        if state.mix_seed is not None and "mix_seed" in changed and not self.mixing.isExpanded():
            self.mixing.expand(animate=False)  # e.g. a restored recipe that mixes styles: show how
        x, y = self._position(state)
        if state.latent is None:
            caption = f"seed {state.seed}"
        elif state.latent is self._pad_latent:
            caption = f"between seeds ({x:.2f}, {y:.2f})"
        else:
            caption = "a saved latent"
        self.pad.set_position(x, y, caption)
        self.directions.sync(state, changed)

    def _position(self, state: ExploreState) -> tuple[float, float]:
        if state.latent is not None and state.latent is self._pad_latent:
            return self._pad_pos
        return (float(state.seed), 0.0)

    # -- widgets -> session ----------------------------------------------------------------------------------------
    @Slot(int)
    def _seed_chosen(self, seed: int) -> None:
        self.edit(label=f"seed {seed}", seed=int(seed), latent=None, latent_space="z")

    @Slot(int)
    def _class_chosen(self, index: int) -> None:
        self.edit(label=f"class {index}", class_weights=((int(index), 1.0),))

    @Slot(float)
    def _psi_moved(self, value: float) -> None:
        self.edit(label="psi", merge="psi" if self.psi.isSliderDown() else None, psi=round(float(value), 3))

    @Slot(int)
    def _cutoff_chosen(self, value: int) -> None:
        self.edit(label="cutoff", cutoff=None if value == 0 else int(value))

    @Slot(int)
    def _noise_chosen(self, index: int) -> None:
        self.edit(label="noise", noise_mode=self.noise.itemData(index))

    @Slot(bool)
    def _mix_toggled(self, on: bool) -> None:
        if on:
            state = self.session.state
            layers = state.mix_layers or preset_layers("fine", len(self.layer_boxes), self.session.family) or (0,)
            self.edit(label="style mixing on", mix_seed=int(self.mix_seed.value()), mix_layers=tuple(layers))
        else:
            self.edit(label="style mixing off", mix_seed=None)

    @Slot(int)
    def _mix_seed_chosen(self, seed: int) -> None:
        if self.session.state.mix_seed is not None:
            self.edit(label=f"mix seed {seed}", mix_seed=int(seed))

    @Slot(bool)
    def _layers_ticked(self, _on: bool) -> None:
        layers = tuple(i for i, b in enumerate(self.layer_boxes) if b.isChecked())
        self._set_layers(layers, "mixing layers")

    def _preset(self, name: str) -> None:
        self._set_layers(preset_layers(name, len(self.layer_boxes), self.session.family), f"mix {name}")

    @Slot()
    def _clear_layers(self) -> None:
        self._set_layers((), "mix no layers")

    def _set_layers(self, layers: tuple[int, ...], label: str) -> None:
        changes: dict[str, Any] = {"mix_layers": tuple(layers)}
        if layers and self.session.state.mix_seed is None:
            changes["mix_seed"] = int(self.mix_seed.value())
        self.edit(label=label, **changes)

    # -- the seed pad ----------------------------------------------------------------------------------------------
    @Slot()
    def _pad_pressed(self) -> None:
        self._pad_pos = self._position(self.session.state)
        self.drag_started.emit()

    @Slot(float, float)
    def _pad_moved(self, dx: float, dy: float) -> None:
        if self.plane is None:
            return
        x, y = self._pad_pos
        # stay on the quarter plane of seeds from 0 up (negative points wrap to the top of the seed range)
        x, y = max(round(x + dx, 3), 0.0), max(round(y + dy, 3), 0.0)
        self._pad_pos = (x, y)
        fields = self.plane.fields(x, y, self.session.state.class_weights)
        self._pad_latent = fields["latent"]
        self.edit(label="seed pad", merge="pad", **fields)

    @Slot()
    def _pad_released(self) -> None:
        self.drag_finished.emit()
