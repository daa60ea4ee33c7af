"""Batch export: every kind makes the files it should (counted, measured, decoded), every image's recipe re-renders
its pixels, re-runs skip, a process killed with SIGKILL resumes to a complete set, and two torchrun processes share
a seed range."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigart.cli import main
from bigart.engine.engine import Engine
from bigart.engine.images import read_recipe, to_uint8
from bigart.engine.recipe import load_recipe
from bigart.errors import BigartError
from bigart.jobs.export import ExportSpec, ExportSpecError, run
from bigart.jobs.manifest import NAME, sha256_path
from bigart.jobs.media import label_height, sheet_size, write_mp4
from bigart.jobs.progress import Aborted, Progress
from bigart.latent import Directions, style_mixing_grid, z_from_seeds
from bigart.latent.files import Latents
from bigart.models import load_model, save_model_file
from bigart.models.directions import sefa_directions
from tests.engine.test_engine import _model_file, _sg2_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    """The engine takes the physical cores; on a shared test machine one thread is faster for 16-px nets."""
    monkeypatch.setenv("BIGART_THREADS", "1")


@pytest.fixture
def sg2(tmp_path, tiny_sg2):
    return _sg2_file(tmp_path, tiny_sg2, "skip")


def _spec(model, out, **kw) -> ExportSpec:
    return ExportSpec.from_json({"model": str(model.path), "out": str(out), **kw})


def _px(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _rerender(tmp_path, png) -> np.ndarray:
    """The image ``bigart render --recipe`` makes from ``png``'s recipe."""
    out = tmp_path / "again"
    assert main(["render", "--recipe", str(png), "--out", str(out), "-q"]) == 0
    return _px(out / f"{png.stem}.png")


def _manifest(out) -> dict:
    return json.loads((Path(out) / NAME).read_text())


def _check_manifest(out, expected_files: set[str]) -> dict:
    """The manifest lists exactly ``expected_files``, once each, with the sha256 of the bytes on disk."""
    m = _manifest(out)
    files = [e["file"] for e in m["files"]]
    assert len(files) == len(set(files)) and set(files) == expected_files
    for e in m["files"]:
        assert sha256_path(Path(out) / e["file"]) == e["sha256"]
    assert m["complete"] and m["count"] == len(expected_files)
    return m


def _leftovers(out) -> list[str]:
    return sorted(str(p) for p in Path(out).rglob(".*")) + sorted(str(p) for p in Path(out).glob("manifest.rank*"))


def _mtimes(out) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in Path(out).rglob("*") if p.is_file() and p.name != NAME}


# --- seeds, formats, resume ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_seed_range_recipes_rerender_and_rerun_skips(tmp_path, sg2, backend):
    dirs = sefa_directions(sg2, 3)
    dirs.save(tmp_path / "dirs.npz")
    out = tmp_path / "out"
    spec = _spec(
        sg2,
        out,
        kind="seeds",
        seeds="0-6",
        psi=0.7,
        cutoff=3,
        mix=["11@0-1"],
        directions=[f"{tmp_path}/dirs.npz:1=1.5"],
        batch_size=3,
        backend=backend,
    )
    result = run(spec)
    names = {f"seed{s:04d}.png" for s in range(7)}
    assert {p.name for p in result.written} == names and result.skipped == 0
    assert {p.name for p in out.iterdir()} == names | {NAME}
    m = _check_manifest(out, names)
    assert [e["seed"] for e in m["files"]] == list(range(7)) and m["spec"] == spec.to_json()
    for seed, batch in ((0, 3), (6, 1)):  # seed 6 was the last batch, alone
        png = out / f"seed{seed:04d}.png"
        recipe = read_recipe(png)
        assert _px(png).shape == (16, 16, 3) and recipe.get("batch_size", 1) == batch and recipe["backend"] == backend
        req = recipe["request"]
        assert req["seeds"] == [seed] and req["psi"] == 0.7 and req["mix_seeds"] == [11] and len(req["directions"]) == 1
        assert np.array_equal(_rerender(tmp_path, png), _px(png))
    before = _mtimes(out)
    again = run(spec)
    assert again.written == [] and again.skipped == 7 and _mtimes(out) == before
    _check_manifest(out, names)
    # without a manifest a finished file is recognised by its recipe; a damaged one is made again
    (out / NAME).unlink()
    old = _px(out / "seed0002.png").astype(int)
    whole = (out / "seed0002.png").read_bytes()
    (out / "seed0002.png").write_bytes(whole[: len(whole) // 2])
    again = run(spec)
    assert [p.name for p in again.written] == ["seed0002.png"] and again.skipped == 6
    assert "batch_size" not in read_recipe(out / "seed0002.png")  # made alone this time: a level apart at most
    assert np.abs(_px(out / "seed0002.png") - old).max() <= 1 and _mtimes(out).keys() == before.keys()
    _check_manifest(out, names)


def test_jpeg_and_webp_carry_a_json_recipe_and_quality_counts(tmp_path, sg2):
    sizes = {}
    for fmt, quality in (("jpg", 30), ("jpg", 95), ("webp", 80)):
        out = tmp_path / f"{fmt}{quality}"
        run(_spec(sg2, out, kind="seeds", seeds="3-4", format=fmt, quality=quality))
        img = out / f"seed0003.{fmt}"
        assert Image.open(img).format == {"jpg": "JPEG", "webp": "WEBP"}[fmt] and Image.open(img).size == (16, 16)
        assert load_recipe(out / "seed0003.json").request.seeds == (3,)
        sizes[fmt, quality] = img.stat().st_size
        _check_manifest(out, {"seed0003." + fmt, "seed0004." + fmt})
    assert sizes["jpg", 30] < sizes["jpg", 95]
    # the JSON recipe beside a JPEG re-renders the lossless image
    png = tmp_path / "png"
    run(_spec(sg2, png, kind="seeds", seeds="3-4"))
    assert (
        main(["render", "--recipe", str(tmp_path / "jpg95" / "seed0003.json"), "--out", str(tmp_path / "r"), "-q"]) == 0
    )
    assert np.array_equal(_px(tmp_path / "r" / "seed0003.png"), _px(png / "seed0003.png"))


def test_a_changed_spec_is_rendered_again_and_cancel_stops_within_a_batch(tmp_path, sg2):
    out = tmp_path / "out"
    run(_spec(sg2, out, kind="seeds", seeds="0-3"))
    first = _px(out / "seed0002.png")
    result = run(_spec(sg2, out, kind="seeds", seeds="0-3", psi=0.5))  # other pixels: nothing is skipped
    assert len(result.written) == 4 and result.skipped == 0 and not np.array_equal(first, _px(out / "seed0002.png"))

    class CancelAtFirst(Progress):
        def advance(self, n: int = 1) -> None:
            super().advance(n)
            self.abort()

    out2 = tmp_path / "cancel"
    with pytest.raises(Aborted):
        run(_spec(sg2, out2, kind="seeds", seeds="0-19", batch_size=4, writers=0), CancelAtFirst())
    assert len(list(out2.glob("*.png"))) == 4  # the batch under way is finished, no other is started
    with pytest.raises(Aborted):
        run(_spec(sg2, tmp_path / "cancel2", kind="seeds", seeds="0-19", batch_size=4, writers=2), CancelAtFirst())
    assert len(list((tmp_path / "cancel2").glob("*.png"))) <= 12
    resumed = run(_spec(sg2, out2, kind="seeds", seeds="0-19", batch_size=4))
    assert resumed.skipped == 4 and len(resumed.written) == 16
    _check_manifest(out2, {f"seed{s:04d}.png" for s in range(20)})


# --- sheets ---------------------------------------------------------------------------------------------------


def test_grid_contact_sheet_with_labels_and_padding(tmp_path, sg2):
    out = tmp_path / "grid"
    run(_spec(sg2, out, kind="grid", seeds="5-14", grid="3x4", padding=3, labels=True, batch_size=4))
    cells = {f"cells/seed{s:04d}.png" for s in range(5, 15)}
    m = _check_manifest(out, cells | {"grid.png"})
    sheet = _px(out / "grid.png")
    assert (
        (sheet.shape[1], sheet.shape[0])
        == sheet_size(3, 4, (16, 16), 3, True)
        == (4 * 16 + 5 * 3, 3 * (16 + label_height()) + 4 * 3)
    )
    strip = label_height()
    for i, seed in enumerate(range(5, 15)):
        r, c = divmod(i, 4)
        y, x = 3 + r * (16 + strip + 3), 3 + c * (16 + 3)
        assert np.array_equal(sheet[y : y + 16, x : x + 16], _px(out / f"cells/seed{seed:04d}.png"))
        assert sheet[y + 16 : y + 16 + strip, x : x + 16].max() > 200  # the label is drawn (anti-aliased)
    assert sheet[3 + 2 * (16 + strip + 3) :, 3 + 2 * 19 :].max() == 0  # the two empty cells stay background
    recipe = read_recipe(out / "grid.png")
    state = recipe["state"]["sheet"]
    assert [c["request"]["seeds"] for c in state["cells"]] == [[s] for s in range(5, 15)]
    assert (state["rows"], state["cols"]) == (3, 4) and (state["cells"][5]["row"], state["cells"][5]["col"]) == (1, 1)
    assert [e["kind"] for e in m["files"]][-1] == "sheet"
    # no labels, no padding: the sheet is exactly the cells side by side
    run(_spec(sg2, tmp_path / "plain", kind="grid", seeds="0-3", grid="2x2", padding=0))
    plain = _px(tmp_path / "plain" / "grid.png")
    top = np.concatenate([_px(tmp_path / "plain" / "cells" / f"seed000{s}.png") for s in (0, 1)], axis=1)
    assert plain.shape == (32, 32, 3) and np.array_equal(plain[:16], top)


def test_style_mixing_figure(tmp_path, sg2):
    out = tmp_path / "mix"
    rows, cols = [1, 2], [3, 4, 5]
    run(_spec(sg2, out, kind="mixing", row_seeds="1-2", col_seeds="3-5", layers="0-2", psi=0.8, batch_size=2))
    sheet = _px(out / "mixing.png")
    assert (sheet.shape[1], sheet.shape[0]) == sheet_size(3, 4, (16, 16), 2, False)

    def cell(r, c):
        y, x = 2 + r * 18, 2 + c * 18
        return sheet[y : y + 16, x : x + 16]

    assert cell(0, 0).max() == 0  # the corner is empty, as in the StyleGAN paper figure
    for j, col in enumerate(cols):
        assert np.array_equal(cell(0, j + 1), _px(out / f"cells/seed{col:04d}.png"))
    for i, row in enumerate(rows):
        assert np.array_equal(cell(i + 1, 0), _px(out / f"cells/seed{row:04d}.png"))
    # the cells are style_mixing_grid's: row latents with layers 0-2 from the column latents
    e = Engine(sg2, "torch", threads=1)
    grid = style_mixing_grid(e.map(z_from_seeds(rows, 32), psi=0.8), e.map(z_from_seeds(cols, 32), psi=0.8), "0-2")
    for i, row in enumerate(rows):
        images = to_uint8(e.synthesize(grid[i]))  # batch sizes differ from the export's: a level at most
        for j, col in enumerate(cols):
            got = _px(out / f"cells/seed{row:04d}_mix{col:04d}.png")
            assert np.abs(got.astype(int) - images[j]).max() <= 1 and np.array_equal(cell(i + 1, j + 1), got)
    png = out / "cells/seed0002_mix0005.png"
    assert read_recipe(png)["request"]["mixing"] == [1, 1, 1, 0, 0, 0]
    assert np.array_equal(_rerender(tmp_path, png), _px(png))


# --- series and animations ------------------------------------------------------------------------------------


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])


def _read_mp4(path) -> tuple[tuple[int, int], list[np.ndarray]]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return (w, h), [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


def test_sweep_frames_gifs_per_seed_and_exact_recipes(tmp_path, sg2):
    sefa_directions(sg2, 4).save(tmp_path / "dirs.npz")
    out = tmp_path / "sweep"
    spec = _spec(
        sg2, out, kind="sweep", seeds="1,2", sweep=f"{tmp_path}/dirs.npz:2", amount=2.0, steps=5, video=["s.gif"]
    )
    run(spec)
    frames = {f"frames/seed{s:04d}_{k:03d}.png" for s in (1, 2) for k in range(5)}
    m = _check_manifest(out, frames | {"s_seed0001.gif", "s_seed0002.gif"})
    assert [e["strength"] for e in m["files"][:5]] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    gif = Image.open(out / "s_seed0002.gif")
    assert gif.n_frames == 5 and gif.info["loop"] == 0 and gif.size == (16, 16)
    png = out / "frames/seed0001_004.png"  # rendered in a batch with other strengths, re-rendered alone
    d = read_recipe(png)["request"]["directions"]
    assert len(d) == 1 and d[0]["strength"] == 2.0 and read_recipe(png)["batch_size"] == 8
    vector = np.asarray(d[0]["vector"], np.float32).reshape(-1, sg2.generator.w_dim)
    assert np.array_equal(vector[0], Directions.load(tmp_path / "dirs.npz").vectors[2])
    assert np.array_equal(_rerender(tmp_path, png), _px(png))
    a, b = _px(out / "frames/seed0001_000.png"), _px(out / "frames/seed0001_004.png")
    assert np.abs(a.astype(int) - b).mean() > 5  # the direction does something


def test_walk_through_seed_latents_and_recipe_keyframes_looping_mp4_and_gif(tmp_path, sg2):
    g = sg2.generator
    z = np.random.RandomState(5).randn(1, g.z_dim).astype(np.float32)
    Latents(z=z).save(tmp_path / "k.npz")
    run(_spec(sg2, tmp_path / "k", kind="seeds", seeds="9"))
    keys = ["4", str(tmp_path / "k.npz"), str(tmp_path / "k" / "seed0009.png")]
    out = tmp_path / "walk"
    spec = _spec(
        sg2, out, kind="walk", keyframes=keys, frames=12, loop=True, interp="cubic", video=["w.mp4", "w.gif"], fps=12
    )
    run(spec)
    frames = {f"frames/frame{i:04d}.png" for i in range(12)}
    _check_manifest(out, frames | {"w.mp4", "w.gif"})
    # keyframe k sits at frame 4k, exactly; the loop closes: frame 12 would be frame 0
    for k, want in enumerate([z_from_seeds([4], 32), z, z_from_seeds([9], 32)]):
        got = np.asarray(read_recipe(out / f"frames/frame{4 * k:04d}.png")["request"]["z"], np.float32)
        assert np.array_equal(got, want)
    size, decoded = _read_mp4(out / "w.mp4")
    assert size == (16, 16) and len(decoded) == 12
    # H.264 at crf 18 keeps the brightness (chroma is subsampled), each frame in its place
    ref = [_luma(_px(out / f)) for f in sorted(frames)]
    errors = np.array([[np.abs(_luma(d) - r).mean() for r in ref] for d in decoded])
    assert errors.diagonal().max() < 9 and list(errors.argmin(axis=1)) == list(range(12))
    gif = Image.open(out / "w.gif")
    assert gif.n_frames == 12 and gif.info["loop"] == 0 and gif.info["duration"] in (80, 83, 90)
    png = out / "frames/frame0007.png"
    assert np.array_equal(_rerender(tmp_path, png), _px(png))
    # in w space: frames hold w, the keyframes' truncated w exactly
    w_out = tmp_path / "walkw"
    run(_spec(sg2, w_out, kind="walk", keyframes=[1, 2], frames=5, space="w", psi=0.6, interp="linear"))
    e = Engine(sg2, "torch", threads=1)
    w1 = e.map(z_from_seeds([1], 32), psi=0.6)[0, 0]
    stored = np.asarray(read_recipe(w_out / "frames/frame0000.png")["request"]["ws"], np.float32)
    assert stored.shape == (1, g.w_dim) and np.array_equal(stored[0], w1)
    assert np.array_equal(_rerender(tmp_path, w_out / "frames/frame0002.png"), _px(w_out / "frames/frame0002.png"))


def test_mp4_has_even_dimensions_and_decodes(tmp_path):
    rng = np.random.RandomState(0)
    frames = [rng.randint(0, 256, (9, 15, 3), dtype=np.uint8) for _ in range(7)]
    assert write_mp4(tmp_path / "odd.mp4", iter(frames), fps=10, crf=0) == 7
    size, decoded = _read_mp4(tmp_path / "odd.mp4")
    assert size == (16, 10) and len(decoded) == 7
    for got, want in zip(decoded, frames, strict=True):  # crf 0: the brightness kept (yuv420p halves the colour)
        assert np.abs(_luma(got[:9, :15]) - _luma(want)).mean() < 2.5
    assert not list(tmp_path.glob(".*"))


def test_biggan_class_blend(tmp_path):
    from tests.models.test_biggan import randomized, tiny_config

    big = _model_file(tmp_path, randomized(tiny_config()), "biggan")
    out = tmp_path / "classes"
    run(_spec(big, out, kind="classes", seeds="3,8", class_a="0", class_b="2", steps=4, psi=0.6, batch_size=3))
    frames = {f"frames/seed{s:04d}_{k:03d}.png" for s in (3, 8) for k in range(4)}
    _check_manifest(out, frames)
    weights = [read_recipe(out / f"frames/seed0003_{k:03d}.png")["request"]["class_weights"] for k in range(4)]
    assert weights[0] == [[0, 1.0]] and weights[3] == [[2, 1.0]]
    assert weights[1] == [[0, 1 - 1 / 3], [2, 1 / 3]]
    for name in ("frames/seed0003_001.png", "frames/seed0008_003.png"):  # in mixed batches of 3
        assert np.array_equal(_rerender(tmp_path, out / name), _px(out / name))
    ends = [_px(out / f"frames/seed0003_{k:03d}.png").astype(int) for k in (0, 3)]
    assert np.abs(ends[0] - ends[1]).mean() > 1


def test_translate_folder_keeps_names_and_subfolders_and_skips_a_bad_image(tmp_path):
    from tests.models.test_cyclegan import tiny

    net = tiny(n_blocks=2)
    path = tmp_path / "cyc.safetensors"
    save_model_file(path, net.state_dict(), {"family": "cyclegan", "config": net.config.to_dict()})
    src = tmp_path / "photos"
    (src / "sub" / "deeper").mkdir(parents=True)
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 256, (20, 28, 3), dtype=np.uint8)).save(src / "a.png")
    Image.fromarray(rng.randint(0, 256, (24, 16, 3), dtype=np.uint8)).save(src / "sub" / "b.jpg")
    Image.fromarray(rng.randint(0, 256, (12, 12, 4), dtype=np.uint8)).save(src / "sub" / "deeper" / "c.png")
    (src / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    args = ["export", "--model", str(path), "--inputs", str(src), "--out", str(out), "-q"]
    assert main(args) == 1  # a bad input makes the exit status 1; the others still come out
    made = {"a.png", "sub/b.png", "sub/deeper/c.png"}
    m = _manifest(out)
    assert [e["file"] for e in m["files"]] == ["a.png", "sub/b.png", "sub/deeper/c.png"] and not m["complete"]
    assert all(sha256_path(out / e["file"]) == e["sha256"] for e in m["files"]) and m["count"] == len(made)
    assert [f["input"] for f in m["failed"]] == ["sub/broken.png"] and "broken.png" in m["failed"][0]["error"]
    assert _px(out / "a.png").shape == (20, 28, 3) and _px(out / "sub/b.png").shape == (24, 16, 3)
    c = _px(out / "sub/deeper/c.png")
    assert c.shape == (12, 12, 4) and np.array_equal(c[..., 3], _px(src / "sub/deeper/c.png")[..., 3])
    recipe = load_recipe(out / "a.png", image=_px(src / "a.png"))
    assert recipe.image.file == "a.png" and recipe.request.direction == "AtoB"
    again = Engine(load_model(path), recipe.backend).render(recipe.request)
    assert again.ok and np.array_equal(again.image, _px(out / "a.png"))
    before = _mtimes(out)
    assert main(args) == 1 and _mtimes(out) == before  # re-run: nothing re-made, the bad image named again
    assert not _leftovers(out)


# --- bad specs, CLI flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "movie"}, "'kind' must be one of"),
        ({"sedes": "0-3"}, "unknown key 'sedes' (did you mean 'seeds'?)"),
        ({"seeds": "3-1"}, "end 1 is below start 3"),
        ({"seeds": None}, "kind 'seeds' needs 'seeds'"),
        ({"out": None}, "needs 'out'"),
        ({"psi": "high"}, "'psi' must be a finite number"),
        ({"batch_size": 0}, "'batch_size' must be at least 1"),
        ({"format": "tiff"}, "'format' must be one of png, jpg, webp"),
        ({"video": ["walk.avi"]}, "must end in .mp4 or .gif"),
        ({"video": ["../walk.mp4"]}, "give a name inside 'out'"),
        ({"grid": "4x4"}, "'grid' does not apply to kind 'seeds' (it is for: grid)"),
        ({"kind": "grid", "grid": "2x2", "seeds": "0-9"}, "2x2 holds 4 images, but 'seeds' gives 10"),
        ({"kind": "grid", "grid": "four"}, "'grid' must be ROWSxCOLS"),
        ({"kind": "grid", "video": ["a.mp4"]}, "'video' does not apply to kind 'grid'"),
        ({"kind": "sweep", "sweep": "dirs.npz:0=2"}, "'sweep' must be FILE.npz:IDX"),
        ({"kind": "walk", "seeds": None, "keyframes": [1, 2], "frames": 1}, "'frames' must be at least 2"),
        ({"kind": "walk", "seeds": None, "keyframes": [1, 2], "interp": "spline"}, "'interp' must be one of"),
        ({"kind": "translate", "seeds": None}, "kind 'translate' needs 'inputs'"),
        ({"crf": 60}, "'crf' must be in 0..51"),
        ({"version": 2}, "spec version 2"),
    ],
)
def test_bad_specs_are_refused_with_the_key_named(change, message):
    data = {"kind": "seeds", "model": "m.pkl", "out": "o", "seeds": "0-3", **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ExportSpecError) as e:
        ExportSpec.from_json(data)
    assert message in str(e.value)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "seeds", "seeds": [1, 2, 5], "class": 3, "video": "a.mp4", "format": "webp", "quality": 80},
        {"kind": "grid", "grid": "2x3", "labels": True, "padding": 0, "mix": ["4@fine"]},
        {"kind": "sweep", "seeds": "1-2", "sweep": "d.npz:age", "amount": 1.5, "steps": 3, "directions": ["d.npz:0=1"]},
        {"kind": "mixing", "row_seeds": "1-3", "col_seeds": "7", "layers": "0-3", "cutoff": 4},
        {
            "kind": "walk",
            "keyframes": "1,a.png,b.npz",
            "frames": 9,
            "space": "w",
            "easing": "ease-in-out",
            "loop": True,
        },
        {"kind": "classes", "seeds": "0", "class_a": 207, "class_b": "tabby", "steps": 5, "psi": 0.4},
        {"kind": "translate", "inputs": "photos", "direction": "BtoA", "tile": None, "working_size": 512},
    ],
)
def test_specs_round_trip_through_json(tmp_path, data):
    spec = ExportSpec.from_json({"model": "m.pkl", "out": "o", **data})
    spec.save(tmp_path / "s.json")
    assert ExportSpec.load(tmp_path / "s.json") == spec and ExportSpec.from_json(spec.to_json()) == spec


def test_bad_specs_that_need_the_model_and_the_cli_messages(tmp_path, sg2, capsys):
    spec = tmp_path / "s.json"
    for data, message in [
        ({"kind": "mixing", "row_seeds": "1", "col_seeds": "2", "layers": "0-40"}, "'layers': layer 40 does not exist"),
        ({"kind": "classes", "seeds": "1", "class_a": "0", "class_b": "1"}, "needs a class-conditional model"),
        ({"kind": "walk", "keyframes": [1]}, "at least 2 keyframes"),
        ({"kind": "walk", "keyframes": [1, "x.avi"]}, "keyframe 'x.avi': expected a seed"),
        ({"kind": "translate", "inputs": str(tmp_path)}, "kind 'translate' needs a CycleGAN model"),
        ({"kind": "sweep", "seeds": "1", "sweep": f"{tmp_path}/none.npz:0"}, "none.npz"),
    ]:
        spec.write_text(json.dumps({"model": str(sg2.path), "out": str(tmp_path / "o"), **data}))
        assert main(["export", str(spec)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("bigart: error: ") and message in err, err
    spec.write_text("{not json")
    assert main(["export", str(spec)]) == 1 and "s.json" in capsys.readouterr().err
    with pytest.raises(BigartError, match=r"s\.json: 'steps' must be at least 2"):
        spec.write_text(
            json.dumps({"kind": "sweep", "model": "m", "out": "o", "seeds": "1", "sweep": "d:0", "steps": 1})
        )
        ExportSpec.load(spec)


def test_flags_make_the_spec_and_write_spec_saves_it(tmp_path, sg2):
    out = tmp_path / "walk"
    spec_file = tmp_path / "walk.json"
    flags = ["--model", str(sg2.path), "--out", str(out), "--video", "walk.mp4", "--keyframes", "1,5,9"]
    flags += ["--frames", "9", "--loop", "--batch", "4", "--psi", "0.7", "--format", "png", "--backend", "torch"]
    assert main(["export", *flags, "--write-spec", str(spec_file), "-q"]) == 0
    data = json.loads(spec_file.read_text())
    assert data["kind"] == "walk" and data["keyframes"] == ["1", "5", "9"] and data["loop"] is True
    assert data["frames"] == 9 and data["video"] == ["walk.mp4"] and data["batch_size"] == 4 and data["psi"] == 0.7
    assert not out.exists()  # --write-spec writes the spec and stops
    assert ExportSpec.from_json(data) == ExportSpec.load(spec_file)
    assert main(["export", str(spec_file), "--frames", "6", "-q"]) == 0  # a flag overrides the file
    assert len(list((out / "frames").glob("*.png"))) == 6 and len(_read_mp4(out / "walk.mp4")[1]) == 6
    grid = tmp_path / "grid"
    assert main(["export", "--model", str(sg2.path), "--seeds", "0-3", "--grid", "2x2", "--out", str(grid), "-q"]) == 0
    assert _px(grid / "grid.png").shape == (38, 38, 3)


# --- killed, resumed; several processes -------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "BIGART_THREADS": "1"}


def test_killed_with_sigkill_then_resumed(tmp_path, sg2):
    out = tmp_path / "out"
    n = 400
    spec = _spec(sg2, out, kind="seeds", seeds=f"0-{n - 1}", batch_size=2, writers=1)
    spec.save(tmp_path / "spec.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bigart", "export", str(tmp_path / "spec.json"), "-q"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 16 and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    survivors = sorted(out.glob("*.png"))
    assert 16 <= len(survivors) < n and not (out / NAME).exists()
    for png in survivors:  # whatever has its final name is whole
        assert read_recipe(png)["request"]["seeds"] == [int(png.stem[4:])] and _px(png).shape == (16, 16, 3)
    kept = {str(p): p.stat().st_mtime_ns for p in survivors}
    (out / f".seed{n - 1:04d}.png.k1ll3d__.tmp").write_bytes(b"half a png")  # as a writer killed mid-file leaves
    (out / ".keep").write_text("not ours")
    result = run(spec)
    assert result.skipped == len(survivors) and len(result.written) == n - len(survivors)
    assert {str(p): p.stat().st_mtime_ns for p in survivors} == kept  # nothing finished was made again
    _check_manifest(out, {f"seed{s:04d}.png" for s in range(n)})
    assert _leftovers(out) == [str(out / ".keep")]  # temporary files gone, nothing else touched


def test_torchrun_two_processes_share_a_seed_range(tmp_path, sg2):
    out = tmp_path / "out"
    spec = _spec(sg2, out, kind="seeds", seeds="0-23", batch_size=4, video=["all.gif"])
    spec.save(tmp_path / "spec.json")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    r = subprocess.run(
        [*cmd, "-m", "bigart", "export", str(tmp_path / "spec.json"), "-q"],
        cwd=ROOT,
        env={**_env(), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    names = {f"seed{s:04d}.png" for s in range(24)}
    m = _check_manifest(out, names | {"all.gif"})
    ranks = {e["file"]: e["rank"] for e in m["files"] if "seed" in e}
    assert all(ranks[f"seed{s:04d}.png"] == s % 2 for s in range(24))  # rank r took seeds r, r + 2, ...
    assert Image.open(out / "all.gif").n_frames == 24 and not _leftovers(out)
    assert {p.name for p in out.iterdir()} == names | {"all.gif", NAME}
    result = run(spec)  # one process resumes what two made
    assert result.skipped == 24 and result.written == [] and result.products == []
