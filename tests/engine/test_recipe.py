"""Recipes: every image bigart writes re-renders to the same pixels from its recipe alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bigart.cli import main
from bigart.engine.engine import Engine
from bigart.engine.images import read_recipe
from bigart.engine.recipe import Recipe, RecipeError, load_recipe, save_recipe_json
from bigart.engine.request import FrozenArray, RenderRequest
from bigart.latent import Directions
from bigart.latent.files import Latents
from bigart.models import load_model, save_model_file
from bigart.models.directions import sefa_directions
from tests.engine.test_engine import _sg2_file, _sg3_file
from tests.models.nvidia_pickle import sg2_kwargs, write_nvidia_pickle


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _rerender(tmp_path, png, backend=None) -> np.ndarray:
    out = tmp_path / "again"
    args = ["render", "--recipe", str(png), "--out", str(out), "-q"] + (["--backend", backend] if backend else [])
    assert main(args) == 0
    return _pixels(out / f"{png.stem}.png")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_stylegan2_recipe_round_trip_with_mixing_directions_and_class_blend(tmp_path, tiny_sg2, backend):
    m = _sg2_file(tmp_path, tiny_sg2, "skip", c_dim=3)
    dirs = sefa_directions(m, 4)
    dirs.save(tmp_path / "dirs.npz")
    out = tmp_path / "out"
    base = ["render", "--model", str(m.path), "--seeds", "0-5", "--batch", "4", "--psi", "0.7", "--cutoff", "4"]
    base += ["--class", "0:0.25,2:0.75", "--mix", "9@0-1", "--mix", "12@middle", "--backend", backend, "-q"]
    edits = ["--direction", f"{tmp_path}/dirs.npz:0=2", "--direction", f"{tmp_path}/dirs.npz:3=-1.5"]
    args = [*base, *edits, "--out", str(out)]
    assert main(args) == 0
    for seed in (0, 5):  # seed 5 rendered in a batch of two, re-rendered alone
        png = out / f"seed{seed:04d}.png"
        recipe = read_recipe(png)
        req = recipe["request"]
        assert req["seeds"] == [seed] and req["mix_seeds"] == [9, 12] and req["class_weights"] == [[0, 0.25], [2, 0.75]]
        assert req["mixing"][:2] == [1, 1] and req["mixing"][2:] == [0, 0, 2, 2] and len(req["directions"]) == 2
        assert recipe["backend"] == backend
        again = _rerender(tmp_path, png)
        assert np.array_equal(again, _pixels(png))
    # the recipe is what changed the image: without the direction the pixels differ
    plain = tmp_path / "plain"
    assert main([*base, "--out", str(plain)]) == 0
    assert not np.array_equal(_pixels(plain / "seed0000.png"), _pixels(out / "seed0000.png"))


def test_stylegan3_and_latents_recipes(tmp_path):
    m = _sg3_file(tmp_path, radial=False)
    g = m.generator
    ws = np.random.RandomState(1).randn(3, g.num_ws, g.w_dim).astype(np.float32)
    Latents(ws=ws).save(tmp_path / "w.npz")
    out = tmp_path / "out"
    assert (
        main(
            ["render", "--model", str(m.path), "--latents", str(tmp_path / "w.npz"), "--psi", "0.5", "--out", str(out)]
        )
        == 0
    )
    png = out / "latent0002.png"
    assert np.array_equal(_rerender(tmp_path, png), _pixels(png))
    stored = np.asarray(read_recipe(png)["request"]["ws"], np.float32)
    assert np.array_equal(stored[0], ws[2])  # exact float32 values through JSON


def test_biggan_recipe_with_class_blend_and_z_direction(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    g = randomized(tiny_config())
    path = tmp_path / "big.safetensors"
    save_model_file(path, g.state_dict(), {"family": "biggan", "config": g.config.to_dict()})
    m = load_model(path)
    dirs = sefa_directions(m, 3)
    assert dirs.space == "z"
    dirs.save(tmp_path / "z.npz")
    out = tmp_path / "out"
    args = ["render", "--model", str(path), "--seeds", "4,7", "--psi", "0.6", "--class", "1:0.6,3:0.4"]
    assert main([*args, "--direction", f"{tmp_path}/z.npz:1=1.5", "--out", str(out), "-q"]) == 0
    png = out / "seed0007.png"
    assert np.array_equal(_rerender(tmp_path, png), _pixels(png))
    assert np.array_equal(_rerender(tmp_path, png, backend="onnx").shape, _pixels(png).shape)


def test_translation_recipe_round_trip(tmp_path):
    from tests.models.test_cyclegan import tiny

    net = tiny(n_blocks=2, directions=["AtoB", "BtoA"])
    path = tmp_path / "cyc.safetensors"
    save_model_file(path, net.state_dict(), {"family": "cyclegan", "config": net.config.to_dict()})
    photo = np.random.RandomState(0).randint(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    out = tmp_path / "out"
    assert (
        main(
            [
                "translate",
                "--model",
                str(path),
                "--direction",
                "BtoA",
                "--out",
                str(out),
                "-q",
                str(tmp_path / "photo.png"),
            ]
        )
        == 0
    )
    with pytest.raises(RecipeError, match=r"photo\.png"):
        load_recipe(out / "photo.png")  # a translation recipe names its input; it does not embed it
    recipe = load_recipe(out / "photo.png", image=photo)
    assert recipe.image.file == "photo.png" and recipe.request.direction == "BtoA"
    again = Engine(load_model(recipe.model.path), recipe.backend).render(recipe.request)
    assert again.ok and np.array_equal(again.image, _pixels(out / "photo.png"))


def test_recipe_json_file_and_errors(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    out = tmp_path / "out"
    assert main(["render", "--model", str(m.path), "--seeds", "3", "--out", str(out), "-q"]) == 0
    recipe = load_recipe(out / "seed0003.png")
    assert recipe.model.sha256 == m.sha256 and recipe.request == RenderRequest(seeds=(3,))
    save_recipe_json(tmp_path / "r.json", recipe)
    assert load_recipe(tmp_path / "r.json") == recipe
    assert np.array_equal(_rerender(tmp_path, tmp_path / "r.json"), _pixels(out / "seed0003.png"))

    data = json.loads((tmp_path / "r.json").read_text())
    for change, message in [
        ({"version": 99}, "version 99"),
        ({"format": "other"}, "not a bigart recipe"),
        ({"request": {"seeds": [1], "z": [[0.0]]}}, "exactly one"),
        ({"request": {"seeds": [1], "directions": [{"vector": ["x"], "strength": 1}]}}, "damaged"),
    ]:
        (tmp_path / "bad.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(RecipeError, match=message):
            load_recipe(tmp_path / "bad.json")
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    with pytest.raises(RecipeError, match=r"plain\.png: this image carries no bigart recipe"):
        load_recipe(tmp_path / "plain.png")
    with pytest.raises(RecipeError, match="one image"):
        Recipe(recipe.model, RenderRequest(seeds=(1, 2)))

    # another model under the recipe's name is refused, not rendered
    other = tiny_sg2("skip", seed=9)
    write_nvidia_pickle(tmp_path / "other.pkl", other, sg2_kwargs(other))
    code = main(
        [
            "render",
            "--recipe",
            str(tmp_path / "r.json"),
            "--model",
            str(tmp_path / "other.pkl"),
            "--out",
            str(tmp_path / "x"),
            "-q",
        ]
    )
    assert code == 1 and not (tmp_path / "x" / "r.png").exists()


def test_direction_and_mix_arguments_are_checked(tmp_path, tiny_sg2, capsys):
    m = _sg2_file(tmp_path, tiny_sg2)
    Directions(np.eye(3, m.generator.w_dim), names=("smile", "age", "light")).save(tmp_path / "d.npz")
    Directions(np.eye(2, 5), space="z").save(tmp_path / "z.npz")
    base = ["render", "--model", str(m.path), "--seeds", "0", "--out", str(tmp_path / "o"), "-q"]
    assert main([*base, "--direction", f"{tmp_path}/d.npz:age=2,light=-1"]) == 0
    recipe = load_recipe(tmp_path / "o" / "seed0000.png")
    vectors = [(v.numpy().argmax(), s) for v, s in recipe.request.directions]
    assert vectors == [(1, 2.0), (2, -1.0)]
    assert recipe.state["directions"] == [{"name": "age", "value": 2.0}, {"name": "light", "value": -1.0}]
    from bigart.explore import ExploreState

    assert [s.name for s in ExploreState.from_recipe(recipe).directions] == ["age", "light"]
    for bad, message in [
        (["--direction", "d.npz"], "FILE.npz:IDX=AMOUNT"),
        (["--direction", f"{tmp_path}/d.npz:beard=1"], "beard"),
        (["--direction", f"{tmp_path}/d.npz:7=1"], "out of range"),
        (["--direction", f"{tmp_path}/z.npz:0=1"], "directions in z"),
        (["--mix", "9"], "SEED@LAYERS"),
        (["--mix", "9@0-40"], "does not exist"),
    ]:
        assert main([*base, *bad]) == 1
        assert message in capsys.readouterr().err


def test_directions_command_sefa_and_pca(tmp_path, tiny_sg2):
    m = _sg2_file(tmp_path, tiny_sg2)
    assert (
        main(
            [
                "directions",
                "--model",
                str(m.path),
                "--num",
                "5",
                "--layers",
                "0-3",
                "--out",
                str(tmp_path / "s.npz"),
                "-q",
            ]
        )
        == 0
    )
    s = Directions.load(tmp_path / "s.npz")
    assert (s.k, s.kind, s.layers, s.model_sha256) == (5, "sefa", range(0, 4), m.sha256)
    np.testing.assert_allclose(np.linalg.norm(s.vectors, axis=1), 1, atol=1e-5)
    assert (
        main(
            [
                "directions",
                "--model",
                str(m.path),
                "--method",
                "pca",
                "--num",
                "3",
                "--samples",
                "2000",
                "--out",
                str(tmp_path / "p.npz"),
                "-q",
            ]
        )
        == 0
    )
    p = Directions.load(tmp_path / "p.npz")
    assert p.kind == "pca" and p.k == 3 and np.all(np.diff(p.scales) <= 1e-6)  # sorted by spread
    # a layered direction moves only its layers
    v = s.layered(0, m.generator.num_ws)
    assert v.shape == (m.generator.num_ws, m.generator.w_dim) and not v[4:].any() and v[:4].any()


def test_layered_recipe_request_is_hashable_and_equal(tmp_path):
    v = FrozenArray.of(np.ones((2, 3)))
    a = RenderRequest(seeds=(1,), directions=((v, 1.0),))
    b = RenderRequest(seeds=(1,), directions=((FrozenArray.of(np.ones((2, 3))), 1.0),))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
