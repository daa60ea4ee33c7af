"""The Export dialog: a seed range, a contact sheet or a looping walk video of the open model, run by the same
``bigart.jobs.export.run`` as ``bigart export``, with progress, the latest frame and Cancel.

The job runs on its own thread with a progress object whose calls become queued signals; Cancel asks the job to
stop, which it does within one batch, leaving finished files that a second run skips.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bigart.jobs.progress import Aborted, Progress

KINDS = {"seeds": "Seed range (one image per seed)", "grid": "Contact sheet", "walk": "Looping walk video"}
IMAGE_SUFFIXES = (".png", ".jpg", ".webp")


class _Signals(QObject):
    started = Signal(int)
    advanced = Signal(int)
    done = Signal(object)
    failed = Signal(str)


class _GuiProgress(Progress):
    """A job's progress as signals (emitted on the job's thread, delivered on the GUI thread)."""

    def __init__(self, signals: _Signals) -> None:
        super().__init__()
        self.signals = signals

    def start(self, total: int, description: str = "") -> None:
        super().start(total, description)
        self.signals.started.emit(total)

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self.signals.advanced.emit(self.done)


class ExportDialog(QDialog):
    """Export from the open model with the session's truncation, noise, class and backend."""

    def __init__(self, model: Any, state: Any, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.model, self.state = model, state
        self.result: Any = None
        self.error: str | None = None
        self._progress: _GuiProgress | None = None
        self._thread: threading.Thread | None = None
        self._busy = False
        self._started_at = 0.0
        self.signals = _Signals(self)
        self.signals.started.connect(self._on_started)
        self.signals.advanced.connect(self._on_advanced)
        self.signals.done.connect(self._on_done)
        self.signals.failed.connect(self._on_failed)

        self.kind = QComboBox()
        for key, text in KINDS.items():
            self.kind.addItem(text, key)
        self.seeds = QLineEdit("0-15")
        self.seeds.setToolTip("Seeds, e.g. 0-15 or 3,7,42; for a walk, the keyframe seeds in order")
        self.grid = QLineEdit("4x4")
        self.frames = QSpinBox()
        self.frames.setRange(2, 10_000)
        self.frames.setValue(60)
        self.loop = QCheckBox("Loop back to the first keyframe")
        self.loop.setChecked(True)
        self.psi = QDoubleSpinBox()
        self.psi.setRange(-1.0, 2.0)
        self.psi.setSingleStep(0.05)
        self.psi.setValue(float(getattr(state, "psi", 1.0)))
        self.format = QComboBox()
        self.format.addItems(["png", "jpg", "webp"])
        self.out = QLineEdit(str(Path(folder) / "export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("Make", self.kind)
        form.addRow("Seeds", self.seeds)
        form.addRow("Sheet (rows x columns)", self.grid)
        form.addRow("Frames", self.frames)
        form.addRow("", self.loop)
        form.addRow("Psi (ψ)", self.psi)
        form.addRow("Format", self.format)
        form.addRow("Folder", out_row)
        self._rows = {"grid": self.grid, "walk": (self.frames, self.loop)}
        self.kind.currentIndexChanged.connect(self._kind_changed)

        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.preview = QLabel()
        self.preview.setFixedSize(160, 160)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #ddd;")
        self.start_button = QPushButton("Export")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, close):
            buttons.addWidget(b)

        top = QHBoxLayout()
        top.addLayout(form, 1)
        top.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._kind_changed()

    # -- the spec ------------------------------------------------------------------------------------------------
    def spec_dict(self) -> dict[str, Any]:
        """The export spec the fields describe (what ``bigart export --write-spec`` would save)."""
        kind = self.kind.currentData()
        d: dict[str, Any] = {
            "kind": kind,
            "model": str(self.model.path),
            "out": self.out.text().strip(),
            "backend": getattr(self.state, "backend", "torch"),
            "format": self.format.currentText(),
            "psi": round(self.psi.value(), 6),
        }
        family = self.model.family
        if family in ("stylegan2", "stylegan3"):
            d["noise_mode"] = self.state.noise_mode
            if self.state.cutoff is not None:
                d["cutoff"] = self.state.cutoff
        weights = getattr(self.state, "class_weights", ())
        if weights:
            d["class"] = ",".join(f"{i}:{w:g}" for i, w in weights)
        seeds = self.seeds.text().strip()
        if kind == "walk":
            d["keyframes"] = [s.strip() for s in seeds.split(",") if s.strip()]
            d.update(frames=self.frames.value(), loop=self.loop.isChecked(), video=["walk.mp4"])
        else:
            d["seeds"] = seeds
        if kind == "grid":
            d["grid"] = self.grid.text().strip()
        return d

    # -- running -------------------------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        from bigart.jobs.export import run
        from bigart.jobs.export_spec import ExportSpec

        if self.running:
            return
        self.result, self.error = None, None
        try:
            spec = ExportSpec.from_json(self.spec_dict())
            spec.check()
        except Exception as e:  # a bad field: say which, run nothing
            self._on_failed(str(e))
            return
        progress = _GuiProgress(self.signals)
        self._progress = progress
        signals = self.signals

        def job() -> None:
            try:
                result = run(spec, progress)
            except Aborted as e:
                signals.failed.emit(f"cancelled: {e}")
            except Exception as e:
                signals.failed.emit(str(e) or type(e).__name__)
            else:
                signals.done.emit(result)

        self._set_running(True)
        self.status.setText("starting…")
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=job, name="bigart-export", daemon=True)
        self._thread.start()

    @Slot()
    def cancel(self) -> None:
        if self._progress is not None:
            self._progress.abort()
            self.status.setText("cancelling after this batch…")

    @property
    def running(self) -> bool:
        """A job was started and its outcome has not reached the dialog yet (the GUI thread's view)."""
        return self._busy

    def wait(self, timeout: float = 60.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def closeEvent(self, event: Any) -> None:
        self.cancel()
        self.wait(30)
        super().closeEvent(event)

    # -- slots (GUI thread) --------------------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self._busy = running
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    @Slot(int)
    def _on_started(self, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(0)

    @Slot(int)
    def _on_advanced(self, done: int) -> None:
        self.bar.setValue(done)
        total = self.bar.maximum()
        elapsed = time.monotonic() - self._started_at
        eta = elapsed / done * (total - done) if done else 0.0
        self.status.setText(f"{done} of {total}, about {eta:.0f} s left")
        self._show_latest()

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        self.result = result
        self._set_running(False)
        self.bar.setValue(self.bar.maximum())
        made = f"wrote {len(result.written)} images to {result.out}"
        if result.skipped:
            made += f" ({result.skipped} already there)"
        if result.products:
            made += "; made " + ", ".join(p.name for p in result.products)
        if result.failed:
            made += f"; {len(result.failed)} skipped: {result.failed[0][1]}"
        self.status.setText(made)
        self._show_latest()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error = message
        self._set_running(False)
        self.status.setText(message)

    def _show_latest(self) -> None:
        folder = Path(self.out.text().strip())
        try:
            images = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
        except OSError:
            return
        if not images:
            return
        latest = max(images, key=lambda p: p.stat().st_mtime_ns)
        pixmap = QPixmap(str(latest))
        if not pixmap.isNull():
            size = self.preview.size()
            self.preview.setPixmap(pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
            self.preview.setToolTip(latest.name)

    @Slot()
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.out.text())
        if folder:
            self.out.setText(folder)

    @Slot()
    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.grid.setEnabled(kind == "grid")
        self.frames.setEnabled(kind == "walk")
        self.loop.setEnabled(kind == "walk")
        if kind == "walk" and "-" in self.seeds.text():
            self.seeds.setText("0,1,2,3")
