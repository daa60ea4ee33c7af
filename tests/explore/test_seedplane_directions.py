"""The app's Qt-free helpers: seed-pad positions as saved w latents, direction files as slider slots and back."""

from __future__ import annotations

import numpy as np
import pytest

from bigart.engine.engine import Engine
from bigart.engine.request import RenderRequest
from bigart.explore import Session
from bigart.explore.directions import directions_of, slots_of
from bigart.explore.seedplane import SeedPlane
from bigart.latent import Directions
from tests.engine.test_engine import _model_file, _sg2_file


@pytest.fixture
def sg2(tmp_path, tiny_sg2):
    return _sg2_file(tmp_path, tiny_sg2, "skip", c_dim=3)


def test_whole_positions_are_seeds_and_fractions_blend_w(sg2):
    plane = SeedPlane(sg2)
    cw = ((1, 1.0),)
    assert plane.fields(5, 0, cw) == {"seed": 5, "latent": None, "latent_space": "z"}
    assert plane.fields(5, 2, cw)["seed"] == 205
    engine = Engine(sg2, threads=1)
    s = Session(sg2)
    s.set(psi=0.6, class_weights=cw, **plane.fields(3.25, 0.5, cw))
    assert s.state.latent_space == "w" and s.state.seed == 3
    blended = engine.render(s.request())
    assert blended.ok
    c = np.eye(3, dtype=np.float32)[[1]]
    from bigart.latent import z_from_seeds

    w = {seed: engine.map(z_from_seeds((seed,), sg2.generator.z_dim), c)[0] for seed in (3, 4, 103, 104)}
    mix = 0.375 * w[3] + 0.125 * w[4] + 0.375 * w[103] + 0.125 * w[104]
    assert np.allclose(s.request().ws.numpy()[0], mix, atol=1e-6)
    # truncating the blend = blending the truncated w: psi applies to the saved latent as to a seed
    seed_state = Session(sg2)
    seed_state.set(psi=0.6, class_weights=cw, **plane.fields(3, 0, cw))
    assert np.array_equal(
        engine.render(seed_state.request()).image,
        engine.render(RenderRequest(seeds=(3,), psi=0.6, class_weights=cw)).image,
    )


def test_directions_to_slots_and_back(sg2, tmp_path):
    g = sg2.generator
    rnd = np.random.RandomState(0)
    layered = Directions(rnd.randn(2, g.w_dim), ("a", "b"), layers=range(1, 3), model_sha256=sg2.sha256)
    slots = slots_of(layered, sg2)
    assert [s.name for s in slots] == ["a", "b"] and slots[0].vector.shape == (g.num_ws, g.w_dim)
    back = directions_of(slots, sg2)
    assert back.layers == range(1, 3) and np.allclose(back.vectors, layered.vectors)
    back.save(tmp_path / "d.npz")
    assert Directions.load(tmp_path / "d.npz").names == ("a", "b")
    whole = Directions(rnd.randn(3, g.w_dim))
    assert directions_of(slots_of(whole, sg2), sg2).layers is None
    with pytest.raises(ValueError, match="features"):
        slots_of(Directions(rnd.randn(1, g.w_dim + 1)), sg2)
    with pytest.raises(ValueError, match="no directions"):
        directions_of((), sg2)


def test_biggan_directions_live_in_z(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    big = _model_file(tmp_path, randomized(tiny_config()), "biggan")
    z = Directions(np.eye(2, big.generator.z_dim), space="z")
    slots = slots_of(z, big)
    assert slots[0].vector.shape == (big.generator.z_dim,)
    assert directions_of(slots, big).space == "z"
    with pytest.raises(ValueError, match="live in w"):
        slots_of(Directions(np.eye(2, big.generator.z_dim)), big)
