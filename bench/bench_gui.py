"""GUI responsiveness under a slow model: does the event loop stall while a slider is dragged?

    python bench/bench_gui.py [--events 200] [--hz 60] [--frame-ms 300] [--real] [--json out.json]

A real main window (offscreen unless a display is set) opens a random-initialised 64-px StyleGAN2 and renders it
with an engine that takes ``--frame-ms`` per frame: a real :class:`~bigart.engine.engine.Engine` whose synthesis
sleeps until the frame has taken that long. ``--real`` renders a wider network (256 channels) without sleeping
instead: its frame time is measured and reported, and the render thread competes with the GUI thread for the CPU.

The truncation slider is pressed, gets ``--events`` values at ``--hz`` from a QTimer, and is released. Meanwhile a
5 ms precise QTimer records the gaps between its ticks: the worst gap is the longest the event loop stalled. At the
end the canvas must show exactly the pixels a fresh engine renders for the final state. Prints a summary and
writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch
from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from bigart.engine.engine import Engine
from bigart.engine.threads import physical_cores
from bigart.models import load_model, save_model_file
from bigart.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator, nvidia_channels

TICK_MS = 5


class SlowEngine(Engine):
    """A real engine whose every frame takes at least ``frame_s`` seconds (a big model on a slow machine)."""

    frame_s = 0.3

    def synthesize(self, ws: np.ndarray, noise_mode: str = "const") -> np.ndarray:
        start = time.perf_counter()
        out = super().synthesize(ws, noise_mode)
        left = self.frame_s - (time.perf_counter() - start)
        if left > 0:
            time.sleep(left)
        return out


def make_model(folder: Path, channel_max: int) -> Path:
    torch.manual_seed(0)
    cfg = StyleGAN2Config(
        z_dim=512,
        c_dim=0,
        w_dim=512,
        img_resolution=64,
        channels=nvidia_channels(64, 16384, channel_max),
        architecture="skip",
        mapping_layers=8,
    )
    g = StyleGAN2Generator(cfg).eval()
    path = folder / f"sg2-64-c{channel_max}.safetensors"
    save_model_file(path, g.state_dict(), {"family": "stylegan2", "config": cfg.to_dict()})
    return path


def frame_seconds(path: Path) -> float:
    engine = Engine(load_model(path))
    from bigart.engine.request import RenderRequest

    engine.render(RenderRequest(seeds=(0,), psi=0.7))
    t = time.perf_counter()
    for seed in (1, 2):
        engine.render(RenderRequest(seeds=(seed,), psi=0.7))
    return (time.perf_counter() - t) / 2


def wait(app: QApplication, condition, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.002)
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--hz", type=float, default=60.0)
    ap.add_argument("--frame-ms", type=float, default=300.0)
    ap.add_argument("--real", action="store_true", help="a wider real network, no sleeping")
    ap.add_argument("--json", default="bench_gui.json", help="where to write the results (default bench_gui.json)")
    args = ap.parse_args()

    from bigart.gui.app import application
    from bigart.gui.window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    os.environ.setdefault("BIGART_CACHE_DIR", str(tmp / "cache"))
    if args.real:
        path = make_model(tmp, 256)
        factory, frame = Engine, frame_seconds(path)
    else:
        path = make_model(tmp, 128)
        SlowEngine.frame_s = args.frame_ms / 1000
        factory, frame = SlowEngine, None

    app = application()
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), engine_factory=factory)
    window.resize(1280, 800)
    window.show()
    window.load_model(str(path))
    if not wait(app, lambda: window.shown is not None and not window.shown.preview, 120):
        print("bench_gui: the first render never came", file=sys.stderr)
        return 1

    clock = QElapsedTimer()
    clock.start()
    ticks: list[float] = []
    monitor = QTimer()
    monitor.setTimerType(Qt.TimerType.PreciseTimer)
    monitor.setInterval(TICK_MS)
    monitor.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))

    psi = window.panels["stylegan"].psi
    values = [round(v, 2) for v in np.linspace(0.7, -0.8, args.events)]
    sent: list[float] = []
    shown_during: list[tuple[float, bool]] = []
    window.renderer.shown.connect(lambda d: shown_during.append((clock.nsecsElapsed() / 1e6, d.preview)))

    def send() -> None:
        if not sent:
            psi.setSliderDown(True)
        psi.setValue(values[len(sent)])
        sent.append(clock.nsecsElapsed() / 1e6)
        if len(sent) == len(values):
            feeder.stop()
            psi.setSliderDown(False)

    feeder = QTimer()
    feeder.setTimerType(Qt.TimerType.PreciseTimer)
    feeder.setInterval(round(1000 / args.hz))
    feeder.timeout.connect(send)
    service = window.renderer.service
    renders0, skipped0 = service.renders, service.skipped
    monitor.start()
    feeder.start()

    def settled() -> bool:
        s = window.shown
        return len(sent) == len(values) and s is not None and not s.preview and s.request == window.session.request()

    ok = wait(app, settled, 120)
    released_at = sent[-1] if sent else 0.0
    final_at = clock.nsecsElapsed() / 1e6
    # keep measuring a little after the final image, then stop
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    monitor.stop()

    expected = Engine(window.model).render(window.session.request())
    exact = bool(ok and expected.ok and np.array_equal(window.canvas.image, expected.image))
    gaps = np.diff(np.asarray(ticks)) if len(ticks) > 1 else np.zeros(1)
    event_gaps = np.diff(np.asarray(sent)) if len(sent) > 1 else np.zeros(1)
    previews = sum(1 for _, p in shown_during if p)
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": physical_cores()},
        "engine": "real network" if args.real else f"Engine + sleep to {args.frame_ms:.0f} ms per frame",
        "frame_ms_measured": None if frame is None else round(frame * 1000, 1),
        "events": len(sent),
        "event_rate_hz": round(1000 / float(np.mean(event_gaps)), 1) if len(sent) > 1 else None,
        "monitor_tick_ms": TICK_MS,
        "worst_stall_ms": round(float(gaps.max()), 2),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 2),
        "median_gap_ms": round(float(np.median(gaps)), 2),
        "renders": service.renders - renders0,
        "skipped_requests": service.skipped - skipped0,
        "previews_shown": previews,
        "full_renders_shown": len(shown_during) - previews,
        "release_to_final_image_ms": round(final_at - released_at, 1),
        "final_image_is_final_state": exact,
        "history_steps": len(window.session.history),
        "preview_precision": getattr(window.renderer.preview_engine, "precision", None),
    }
    window.close()
    print(json.dumps(result, indent=2))
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"worst event-loop stall {result['worst_stall_ms']} ms (5 ms timer; p99 {result['p99_gap_ms']} ms) while "
        f"{result['events']} slider events arrived at {result['event_rate_hz']} Hz; {result['renders']} renders; "
        f"final image is the final state's: {exact}",
        file=sys.stderr,
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
