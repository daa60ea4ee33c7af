"""The truncation trick: pull w towards the average w, optionally only on the first layers."""

from __future__ import annotations

import numpy as np


def truncate(ws: np.ndarray, w_avg: np.ndarray, psi: float, cutoff: int | None = None) -> np.ndarray:
    """Return ``w_avg + psi * (ws - w_avg)`` on layers ``[0, cutoff)`` (all layers when cutoff is None).

    ``ws`` is ``[N, num_ws, w_dim]`` (or ``[N, w_dim]``, where cutoff does not apply); ``w_avg`` is ``[w_dim]``.
    ``psi == 1`` returns the input unchanged, as the reference does.
    """
    ws = np.asarray(ws)
    w_avg = np.asarray(w_avg, dtype=ws.dtype)
    if ws.shape[-1] != w_avg.shape[-1]:
        raise ValueError(f"w has {ws.shape[-1]} features but w_avg has {w_avg.shape[-1]}")
    if psi == 1:
        return ws
    out = ws.copy()
    if ws.ndim == 2 or cutoff is None:
        out[...] = w_avg + psi * (ws - w_avg)
    else:
        if cutoff < 0:
            raise ValueError(f"truncation cutoff must be >= 0, got {cutoff}")
        out[:, :cutoff] = w_avg + psi * (ws[:, :cutoff] - w_avg)
    return out
