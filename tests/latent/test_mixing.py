"""Style-mixing schedules: parsing, presets by resolution, round trips, and mixing that matches the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigart.latent import MixingSchedule, preset_layers, style_mixing_grid
from bigart.latent.mixing import parse_layers, stylegan2_layer_resolution

FAST = settings(max_examples=40, deadline=None)


@st.composite
def schedules(draw):
    num_ws = draw(st.integers(1, 20))
    return MixingSchedule(tuple(draw(st.lists(st.integers(0, 3), min_size=num_ws, max_size=num_ws))))


def test_from_ranges():
    s = MixingSchedule.from_ranges("0-3:1,8-13:2", 18)
    assert s.sources == (1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0)
    assert s.num_sources == 3 and s.layers_of(2) == tuple(range(8, 14))
    assert MixingSchedule.from_ranges(" 5 : 1 ", 8).sources == (0, 0, 0, 0, 0, 1, 0, 0)
    assert MixingSchedule.from_ranges("fine:1", 12).layers_of(1) == (8, 9, 10, 11)
    assert MixingSchedule.from_ranges("", 4).is_identity
    for bad in ("0-3", "0-3:x", "3-1:1", "0-18:1", "a:1", "0-3:1,2-4:2"):
        with pytest.raises(ValueError):
            MixingSchedule.from_ranges(bad, 18)


@FAST
@given(schedules())
def test_to_ranges_round_trips(s):
    assert MixingSchedule.from_ranges(s.to_ranges(), s.num_ws) == s


def test_schedules_are_frozen_hashable_values():
    a = MixingSchedule.from_ranges("0-3:1", 18)
    b = MixingSchedule.from_layers(range(4), 18)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.sources = (0,) * 18  # type: ignore[misc]
    assert MixingSchedule([0, 1]).sources == (0, 1)  # any sequence becomes a tuple
    with pytest.raises(ValueError):
        MixingSchedule((0, -1))


def test_stylegan2_presets_follow_layer_resolution():
    # 1024 px: 18 layers; layer i styles 2 ** (i // 2 + 2) px
    assert [stylegan2_layer_resolution(i) for i in (0, 1, 2, 3, 4, 17)] == [4, 4, 8, 8, 16, 1024]
    assert preset_layers("coarse", 18) == (0, 1, 2, 3)
    assert preset_layers("middle", 18) == (4, 5, 6, 7)
    assert preset_layers("fine", 18) == tuple(range(8, 18))
    assert preset_layers("fine", 8) == ()  # a 32-px model has no 64-px layers
    for num_ws in (8, 10, 12, 14, 16, 18):  # every layer is in exactly one preset
        groups = [preset_layers(p, num_ws) for p in ("coarse", "middle", "fine")]
        assert sorted(sum(groups, ())) == list(range(num_ws))


def test_stylegan3_presets_are_fractions():
    assert preset_layers("coarse", 16, "stylegan3") == (0, 1, 2, 3)
    assert preset_layers("middle", 16, "stylegan3") == (4, 5, 6)
    assert preset_layers("fine", 16, "stylegan3") == tuple(range(7, 16))
    s = MixingSchedule.preset("middle", 16, "stylegan3", source=2)
    assert s.layers_of(2) == (4, 5, 6) and s.num_sources == 3
    with pytest.raises(ValueError):
        preset_layers("ultra", 16)
    with pytest.raises(ValueError):
        preset_layers("fine", 16, "biggan")


def test_parse_layers():
    assert parse_layers("0-2,5,1", 8) == (0, 1, 2, 5)
    assert parse_layers("coarse", 8) == (0, 1, 2, 3)
    for bad in ("", "1-", "8", "2-1"):
        with pytest.raises(ValueError):
            parse_layers(bad, 8)


@FAST
@given(schedules(), st.integers(1, 3))
def test_apply_takes_each_layer_from_its_source(s, batch):
    rng = np.random.RandomState(0)
    ws = rng.randn(s.num_sources, batch, s.num_ws, 3).astype(np.float32)
    out = s.apply(ws)
    assert out.shape == (batch, s.num_ws, 3) and out.dtype == np.float32
    for i, src in enumerate(s.sources):
        np.testing.assert_array_equal(out[:, i], ws[src, :, i])
    np.testing.assert_array_equal(s.apply(list(ws[:, 0])), out[0])  # a list of [num_ws, w_dim]


def test_apply_broadcasts_single_w_sources_and_checks_counts():
    s = MixingSchedule.from_ranges("2-3:1", 4)
    main, other = np.zeros((4, 2)), np.ones(2)
    np.testing.assert_array_equal(s.apply([main, other]), [[0, 0], [0, 0], [1, 1], [1, 1]])
    np.testing.assert_array_equal(MixingSchedule.identity(4).apply([main]), main)
    with pytest.raises(ValueError):
        s.apply([main])  # source 1 missing
    with pytest.raises(ValueError):
        s.apply([np.zeros((5, 2)), np.zeros((5, 2))])  # wrong number of layers


def test_style_mixing_grid_matches_the_reference_semantics():
    rng = np.random.RandomState(0)
    rows, cols = rng.randn(3, 8, 4), rng.randn(2, 8, 4)
    styles = [0, 1, 2, 3, 4, 5, 6]  # style_mixing.py's default --styles=0-6
    grid = style_mixing_grid(rows, cols, "0-6")
    assert grid.shape == (3, 2, 8, 4)
    for r in range(3):
        for c in range(2):
            w = rows[r].copy()
            w[styles] = cols[c][styles]  # the reference: w = w_dict[row].clone(); w[col_styles] = ...
            np.testing.assert_array_equal(grid[r, c], w)
            np.testing.assert_array_equal(grid[r, c], MixingSchedule.from_layers(styles, 8).apply([rows[r], cols[c]]))
    single = style_mixing_grid(rows[:, 0], cols[:, 0], [7], num_ws=8)  # single w broadcast to the layers
    np.testing.assert_array_equal(single[1, 0, 7], cols[0, 0])
    np.testing.assert_array_equal(single[1, 0, :7], np.repeat(rows[1:2, 0], 7, axis=0))
    with pytest.raises(ValueError):
        style_mixing_grid(rows, cols, [8])
    with pytest.raises(ValueError):
        style_mixing_grid(rows[:, 0], cols[:, 0], [1])  # num_ws needed
