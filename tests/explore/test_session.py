"""The session: state changes, events, undo/redo with merged slider drags, requests and recipes."""

from __future__ import annotations

import numpy as np
import pytest

from bigart.engine.engine import Engine
from bigart.engine.recipe import Recipe
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.explore import ExploreState, Session, latent_array
from tests.engine.test_engine import _model_file, _sg2_file


@pytest.fixture
def sg2(tmp_path, tiny_sg2):
    return _sg2_file(tmp_path, tiny_sg2, "skip", c_dim=3)


def test_changes_emit_events_and_build_requests(sg2):
    s = Session(sg2)
    seen = []
    unsubscribe = s.subscribe(lambda session, changed: seen.append(changed))
    assert s.state.psi == 0.7 and s.state.class_weights == ((0, 1.0),)  # the model's defaults
    assert s.set(psi=0.5, seed=3)
    assert not s.set(psi=0.5)  # no change, no event, no history step
    assert seen == [frozenset({"psi", "seed"})]
    assert s.request() == RenderRequest(seeds=(3,), psi=0.5, class_weights=((0, 1.0),))
    s.set(mix_seed=9, mix_layers=(0, 1))
    assert s.request().mixing == (1, 1, 0, 0, 0, 0) and s.request().mix_seeds == (9,)
    with pytest.raises(ValueError, match="unknown state fields"):
        s.set(colour=3)
    with pytest.raises(ValueError, match="noise mode"):
        s.set(noise_mode="loud")
    assert s.state.noise_mode == "const" and len(seen) == 2  # a refused change changes nothing
    unsubscribe()
    s.set(seed=4)
    assert len(seen) == 2


def test_a_broken_listener_does_not_break_the_session(sg2):
    s = Session(sg2)
    calls = []
    s.subscribe(lambda *_: 1 / 0)
    s.subscribe(lambda *_: calls.append(1))
    s.set(seed=1)
    assert calls == [1] and s.state.seed == 1


def test_undo_redo_and_merged_drags(sg2):
    s = Session(sg2, history_limit=50)
    s.add_directions(["a", "b"], np.eye(2, sg2.generator.w_dim))
    for v in np.linspace(0, 3, 30)[1:]:  # a slider drag: 29 events, one step
        s.set_direction(0, float(v))
    s.end_merge()
    for v in (1.0, 2.0):  # a second drag of the same slider is a second step
        s.set_direction(0, v)
    s.end_merge()
    s.set(seed=5)
    assert [e.label for e in s.history] == ["start", "add 2 directions", "a", "a", "seed"]
    assert s.undo() and s.state.seed == 0 and s.state.directions[0].value == 2.0
    assert s.undo() and s.state.directions[0].value == 3.0
    assert s.undo() and s.state.directions[0].value == 0.0
    assert s.redo() and s.state.directions[0].value == 3.0
    s.set(psi=0.2)  # a new change drops the redo branch
    assert not s.can_redo and s.history[-1].label == "psi"
    while s.undo():
        pass
    assert s.state == s.defaults() and not s.can_undo


def test_history_is_bounded(sg2):
    s = Session(sg2, history_limit=10)
    for seed in range(1, 100):
        s.set(seed=seed)
    assert len(s.history) == 10 and s.state.seed == 99
    while s.undo():
        pass
    assert s.state.seed == 90


def test_saved_latents_and_directions_in_requests(sg2):
    g = sg2.generator
    s = Session(sg2)
    w = np.random.RandomState(0).randn(g.num_ws, g.w_dim).astype(np.float32)
    s.set(latent=latent_array(w), latent_space="w")
    assert s.request().ws.shape == (1, g.num_ws, g.w_dim)
    s.add_directions(["up"], np.ones((1, g.w_dim)))
    assert s.request().directions == ()  # sliders at zero add nothing
    s.set_direction(0, 1.5)
    ((vector, strength),) = s.request().directions
    assert strength == 1.5 and np.array_equal(vector.numpy(), np.ones(g.w_dim, np.float32))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_recipe_round_trip_through_the_session(sg2, backend):
    s = Session(sg2)
    s.add_directions(["smile", "age"], np.random.RandomState(1).randn(2, sg2.generator.w_dim))
    s.set(seed=11, psi=0.6, mix_seed=4, mix_layers=(2, 3), class_weights=((1, 0.3), (2, 0.7)), backend=backend)
    s.set_direction(1, -2.0)
    engine = Engine(sg2, backend, threads=1)
    first = engine.render(s.request())
    recipe = Recipe.from_json(s.recipe(backend=backend).to_json())
    other = Session(sg2)
    other.restore(recipe)
    assert other.state.directions[0].name == "age" and other.state.mix_layers == (2, 3)
    again = engine.render(other.request())
    assert first.ok and np.array_equal(first.image, again.image)
    assert other.can_undo and other.undo() and other.state == other.defaults()


def test_restore_refuses_another_models_recipe(sg2, tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    big = _model_file(tmp_path, randomized(tiny_config()), "biggan")
    recipe = Session(sg2).recipe()
    s = Session(big)
    assert s.state.psi == 0.4 and s.request().class_weights == ((0, 1.0),)
    with pytest.raises(ValueError, match="open that model first"):
        s.restore(recipe)


def test_translation_state(tmp_path):
    from tests.models.test_cyclegan import tiny

    cyc = _model_file(tmp_path, tiny(n_blocks=2, directions=["AtoB", "BtoA"]), "cyclegan")
    s = Session(cyc)
    assert s.request() is None  # nothing to translate yet
    pixels = np.random.RandomState(0).randint(0, 256, (24, 32, 3), dtype=np.uint8)
    s.set(image=FrozenArray.of(pixels, np.uint8), image_name="cat.png", translate_direction="BtoA")
    recipe = s.recipe()
    assert recipe.image.file == "cat.png" and recipe.request.direction == "BtoA"
    assert ExploreState.from_recipe(recipe).image_name == "cat.png"
