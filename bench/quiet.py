"""Timing on a shared machine: how much CPU other processes used meanwhile, and a timer that runs again then.

The benchmarks import this (``from bench.quiet import Quiet, busy_seconds``) so every table says the same thing
about the machine it was measured on.
"""

from __future__ import annotations

import os
import time


def busy_seconds() -> float | None:
    """CPU seconds all processes on this machine have used (Linux ``/proc/stat``), None elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


class Quiet:
    """Times runs and notices other processes using the CPU meanwhile: such a run is done again after a pause, up
    to ``retries`` times. ``discarded`` counts runs thrown away, ``contended`` runs kept although the machine never
    went quiet. A run is quiet when others used at most ``floor`` seconds or ``share`` of its wall time."""

    def __init__(self, retries: int = 8, floor: float = 0.03, share: float = 0.15) -> None:
        self.retries, self.floor, self.share = retries, floor, share
        self.discarded, self.contended = 0, 0

    def time(self, fn) -> float:
        for attempt in range(self.retries + 1):
            busy, cpu, t = busy_seconds(), time.process_time(), time.perf_counter()
            fn()
            wall = time.perf_counter() - t
            if busy is None:
                return wall
            others = (busy_seconds() - busy) - (time.process_time() - cpu)
            if others <= max(self.floor, self.share * wall):
                return wall
            if attempt < self.retries:
                self.discarded += 1
                time.sleep(1.0)
        self.contended += 1
        return wall
