"""Jobs run in this process: one torch thread, and the thread count left as it was found.

``bigart evaluate`` (and the Engine it builds) sets torch's threads from ``BIGART_THREADS`` or the core count; without
this a test here would leave the whole pytest process on more threads than later bit-exact tests expect.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("BIGART_THREADS", "1")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
