"""The Train dialog: start ``bigart finetune`` as a child process, watch it, stop and resume it, open the result.

The training runs in its own process (a crash or a kill never takes the app down). The dialog reads what the job
writes — ``progress.jsonl`` for the loss curves, images/s and the time left, ``samples/`` for the latest grid — and
stops it with SIGTERM, on which the trainer writes a checkpoint that Resume continues exactly. When the job ends
with its export written, ``trained(path)`` is emitted and the window opens the model.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QProcess, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

FAMILIES = ("stylegan2", "biggan", "cyclegan")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
EXPORT_NAME = "model.safetensors"


class LossPlot(QWidget):
    """Loss curves over steps, one colour per loss, each scaled to the common range of what is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.setMinimumSize(320, 160)

    def add(self, step: int, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self.series.setdefault(name, []).append((step, float(value)))
        self.update()

    def clear(self) -> None:
        self.series = {}
        self.update()

    @property
    def points(self) -> int:
        return sum(len(v) for v in self.series.values())

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        values = [v for s in self.series.values() for _, v in s]
        steps = [t for s in self.series.values() for t, _ in s]
        if not values:
            p.setPen(QColor("gray"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "losses appear here")
            return
        lo, hi = min(values), max(values)
        hi = hi if hi > lo else lo + 1
        t0, t1 = min(steps), max(steps)
        t1 = t1 if t1 > t0 else t0 + 1
        m, w, h = 8, self.width() - 16, self.height() - 28
        for i, (name, pts) in enumerate(sorted(self.series.items())):
            colour = QColor(COLOURS[i % len(COLOURS)])
            path = QPainterPath()
            for k, (t, v) in enumerate(pts):
                point = QPointF(m + w * (t - t0) / (t1 - t0), m + h * (1 - (v - lo) / (hi - lo)))
                path.moveTo(point) if k == 0 else path.lineTo(point)
            p.setPen(QPen(colour, 1.5))
            p.drawPath(path)
            p.drawText(m + 70 * i, self.height() - 6, f"{name} {pts[-1][1]:.3g}")


class TrainDialog(QDialog):
    """Train or fine-tune in a child process; ``trained(path)`` when a model file was exported."""

    trained = Signal(str)

    def __init__(self, base: Any = None, folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train")
        self.base = base
        self.process: QProcess | None = None
        self.exit_code: int | None = None
        self._offset = 0
        self._rows: list[dict[str, Any]] = []
        self._log: list[str] = []
        self._launched = 0.0

        self.family = QComboBox()
        self.family.addItems(FAMILIES)
        self.use_base = QCheckBox("Fine-tune the open model")
        if base is not None and base.family in FAMILIES:
            self.family.setCurrentText(base.family)
            self.use_base.setChecked(True)
            self.use_base.setToolTip(str(base.path))
        else:
            self.use_base.setEnabled(False)
        self.data = QLineEdit()
        self.data.setPlaceholderText("image folder (sub-folders = classes; CycleGAN: trainA/ and trainB/)")
        pick = QPushButton("Browse…")
        pick.clicked.connect(self._browse_data)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data, 1)
        data_row.addWidget(pick)
        self.out = QLineEdit(str(Path(folder or ".") / "training"))
        self.resolution = QSpinBox()
        self.resolution.setRange(8, 1024)
        self.resolution.setValue(64)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(2000)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(8)
        self.sample_every = QSpinBox()
        self.sample_every.setRange(1, 1_000_000)
        self.sample_every.setValue(100)
        self.precision = QComboBox()
        self.precision.addItems(["fp32", "bf16"])

        form = QFormLayout()
        form.addRow("Family", self.family)
        form.addRow("", self.use_base)
        form.addRow("Data", data_row)
        form.addRow("Run folder", self.out)
        form.addRow("Resolution", self.resolution)
        form.addRow("Steps", self.steps)
        form.addRow("Batch", self.batch)
        form.addRow("Samples every", self.sample_every)
        form.addRow("Precision", self.precision)

        self.plot = LossPlot()
        self.sample = QLabel("samples appear here")
        self.sample.setFixedSize(256, 256)
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setStyleSheet("background: #ddd;")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.plot, 1)
        top = QHBoxLayout()
        top.addLayout(left, 1)
        top.addWidget(self.sample, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.use_base.toggled.connect(self._base_toggled)
        self._base_toggled(self.use_base.isChecked())

        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.poll)

    # -- the job -------------------------------------------------------------------------------------------------
    @property
    def run_folder(self) -> Path:
        return Path(self.out.text().strip())

    def arguments(self, resume: bool) -> list[str]:
        """The ``bigart finetune`` command line the fields describe."""
        out = self.run_folder
        args = ["-m", "bigart", "finetune", "--out", str(out), "--steps", str(self.steps.value()), "-q"]
        args += ["--sample-every", str(self.sample_every.value()), "--export", str(out / EXPORT_NAME)]
        if resume:
            return [*args, "--resume"]
        args += ["--family", self.family.currentText(), "--data", self.data.text().strip()]
        args += ["--batch", str(self.batch.value()), "--precision", self.precision.currentText()]
        if self.use_base.isChecked() and self.base is not None:
            args += ["--base", str(self.base.path)]
        else:
            args += ["--resolution", str(self.resolution.value())]
        return args

    @Slot()
    def start(self) -> None:
        if not self.data.text().strip():
            self.status.setText("choose an image folder to train on")
            return
        self._launch(resume=False)

    @Slot()
    def resume(self) -> None:
        if not (self.run_folder / "checkpoint.pt").exists():
            self.status.setText(f"no checkpoint in {self.run_folder} to resume")
            return
        self._launch(resume=True)

    def _launch(self, resume: bool) -> None:
        if self.running:
            return
        self.run_folder.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.plot.clear()
            self._rows = []
        self._offset = self._progress_path().stat().st_size if resume and self._progress_path().exists() else 0
        self.exit_code = None
        self._log = []
        self._launched = time.time()
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._read_output)
        proc.finished.connect(self._finished)
        self.process = proc
        proc.start(sys.executable, self.arguments(resume))
        self.status.setText("resuming…" if resume else "starting…")
        self._set_running(True)
        self.timer.start()

    @Slot()
    def stop(self) -> None:
        """SIGTERM: the trainer finishes its step, writes a checkpoint and exits."""
        if self.running:
            self.process.terminate()
            self.status.setText("stopping after this step (a checkpoint is written)…")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def closeEvent(self, event: Any) -> None:
        if self.running:
            self.process.terminate()
            self.process.waitForFinished(60_000)
        super().closeEvent(event)

    # -- watching ------------------------------------------------------------------------------------------------
    def _progress_path(self) -> Path:
        return self.run_folder / "progress.jsonl"

    @Slot()
    def poll(self) -> None:
        """Read new progress lines and the newest sample grid."""
        path = self._progress_path()
        if path.exists():
            with path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1  # only whole lines
            self._offset += end
            for line in chunk[:end].decode("utf-8", "replace").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                self._rows.append(row)
                self.plot.add(int(row["step"]), {k[5:]: v for k, v in row.items() if k.startswith("loss_") and v})
            if self._rows:
                self._show_rate()
        samples = sorted((self.run_folder / "samples").glob("step-*.png"))
        if samples and self.sample.toolTip() != samples[-1].name:
            pixmap = QPixmap(str(samples[-1]))
            if not pixmap.isNull():
                self.sample.setPixmap(pixmap.scaled(self.sample.size(), Qt.AspectRatioMode.KeepAspectRatio))
                self.sample.setToolTip(samples[-1].name)

    def _show_rate(self) -> None:
        recent = self._rows[-20:]
        sec = sum(float(r.get("sec_per_step") or 0) for r in recent) / len(recent)
        last = self._rows[-1]
        per_step = last["images_seen"] / max(1, last["step"])
        rate = per_step / sec if sec > 0 else 0.0
        left = max(0, self.steps.value() - int(last["step"])) * sec
        self.status.setText(
            f"step {last['step']} of {self.steps.value()}, {last['images_seen']} images, {rate:.1f} images/s, "
            f"about {left / 60:.1f} min left"
        )

    @Slot()
    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._log += text.splitlines()
        self._log = self._log[-50:]

    @Slot(int, QProcess.ExitStatus)
    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self.poll()
        self.timer.stop()
        self._set_running(False)
        self.exit_code = code
        model = self.run_folder / EXPORT_NAME
        if code == 0 and model.exists() and model.stat().st_mtime >= self._launched - 1:
            self.status.setText(f"trained to step {self._rows[-1]['step'] if self._rows else '?'}: {model}")
            self.trained.emit(str(model))
        elif (self.run_folder / "checkpoint.pt").exists():
            why = next((ln for ln in reversed(self._log) if ln.strip()), "")
            self.status.setText(f"stopped; Resume continues from the checkpoint. {why}".strip())
        else:
            self.status.setText("the training did not start: " + " / ".join(self._log[-3:]))

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    @Slot(bool)
    def _base_toggled(self, fine_tune: bool) -> None:
        """Fine-tuning takes the family and resolution of the open model."""
        self.family.setEnabled(not fine_tune)
        self.resolution.setEnabled(not fine_tune)
        if fine_tune and self.base is not None:
            self.family.setCurrentText(self.base.family)
            g = self.base.generator
            size = getattr(g, "img_resolution", None) or getattr(self.base.config, "img_resolution", 0)
            if size:
                self.resolution.setValue(int(size))

    @Slot()
    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Train on the images in", self.data.text())
        if folder:
            self.data.setText(folder)
