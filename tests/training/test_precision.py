"""Mixed precision: bf16 autocast trains every family on the CPU; fp16 is refused there."""

from __future__ import annotations

import math

import pytest

from bigart.errors import BigartError
from bigart.training.loop import iter_progress_log, train


@pytest.mark.parametrize("family", ["stylegan2", "biggan", "cyclegan"])
def test_bf16_autocast_trains(family, tmp_path, tiny_spec):
    result = train(tiny_spec(family, tmp_path / "run", steps=2, precision="bf16"))
    assert result.step == 2 and result.losses
    assert all(math.isfinite(v) for v in result.losses.values())
    rows = list(iter_progress_log(tmp_path / "run"))
    assert [r["step"] for r in rows] == [1, 2] and all(r["sec_per_step"] > 0 for r in rows)


def test_fp16_needs_cuda(tmp_path, tiny_spec):
    with pytest.raises(BigartError, match="fp16"):
        train(tiny_spec("stylegan2", tmp_path / "run", precision="fp16"))
