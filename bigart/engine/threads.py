"""Thread counts: physical cores, not logical CPUs (hyper-threads slow these nets down)."""

from __future__ import annotations

import os

import psutil


def physical_cores() -> int:
    """``BIGART_THREADS`` if set, else the number of physical cores this process may use (at least 1)."""
    env = os.environ.get("BIGART_THREADS")
    if env:
        return max(1, int(env))
    physical = psutil.cpu_count(logical=False) or 1
    logical = psutil.cpu_count(logical=True) or physical
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        allowed = logical
    # When affinity limits us to fewer logical CPUs, scale the physical count down in proportion.
    return max(1, min(physical, physical * allowed // logical))


def configure_torch_threads() -> int:
    """Set torch's intra-op threads to the physical core count; returns it."""
    import torch

    n = physical_cores()
    torch.set_num_threads(n)
    return n
