"""The command line end to end: real files in, real PNGs out."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from bigart.cli import main
from bigart.engine.images import read_recipe
from bigart.models import load_model
from tests.models.nvidia_pickle import write_nvidia_pickle


@pytest.fixture
def model_file(tmp_path, tiny_sg2):
    g = tiny_sg2("skip", c_dim=0)
    path = tmp_path / "tiny.pkl"
    kw = {
        "z_dim": 32,
        "c_dim": 0,
        "w_dim": 24,
        "img_resolution": 16,
        "img_channels": 3,
        "mapping_kwargs": {"num_layers": 2},
        "synthesis_kwargs": {"channel_base": 256, "channel_max": 32},
    }
    write_nvidia_pickle(path, g, kw)
    return path, g


def test_render_seeds_writes_pngs_with_recipes(tmp_path, model_file):
    path, g = model_file
    out = tmp_path / "out"
    assert (
        main(
            [
                "render",
                "--model",
                str(path),
                "--seeds",
                "0-2,7",
                "--psi",
                "0.7",
                "--cutoff",
                "4",
                "--npy",
                "-q",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"seed{s:04d}.{ext}" for s in (0, 1, 2, 7) for ext in ("npy", "png")]
    z = torch.from_numpy(np.random.RandomState(7).randn(1, 32)).float()
    with torch.no_grad():
        ref = g(z, psi=0.7, cutoff=4)[0]
    arr = np.load(out / "seed0007.npy")
    assert arr.dtype == np.float32 and arr.shape == (3, 16, 16)
    np.testing.assert_allclose(arr, ref.numpy(), atol=1e-5)
    png = np.asarray(Image.open(out / "seed0007.png"))
    expected = np.clip(arr.transpose(1, 2, 0) * 127.5 + 128, 0, 255).astype(np.uint8)
    assert png.shape == (16, 16, 3) and np.array_equal(png, expected)
    recipe = read_recipe(out / "seed0007.png")
    req = recipe["request"]
    assert req["seeds"] == [7] and req["psi"] == 0.7 and req["cutoff"] == 4 and "class_weights" not in req
    assert req["noise_mode"] == "const" and recipe["backend"] == "torch"
    assert recipe["model"]["sha256"] == load_model(path).sha256
    assert recipe["format"] == "bigart.recipe" and recipe["version"] == 1


def test_render_latents(tmp_path, model_file):
    path, g = model_file
    rng = np.random.RandomState(3)
    z = rng.randn(2, 32).astype(np.float32)
    np.savez(tmp_path / "z.npz", z=z)
    with torch.no_grad():
        ws = g.mapping(torch.from_numpy(z)).numpy()
    np.savez(tmp_path / "w.npz", w=ws[:, 0])
    np.savez(tmp_path / "ws.npz", ws=ws)
    outs = {}
    for name in ("z", "w", "ws"):
        out = tmp_path / f"out_{name}"
        assert (
            main(
                [
                    "render",
                    "--model",
                    str(path),
                    "--latents",
                    str(tmp_path / f"{name}.npz"),
                    "--npy",
                    "-q",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert sorted(p.name for p in out.glob("*.png")) == ["latent0000.png", "latent0001.png"]
        outs[name] = np.load(out / "latent0001.npy")
    np.testing.assert_allclose(outs["z"], outs["w"], atol=1e-5)
    np.testing.assert_allclose(outs["z"], outs["ws"], atol=1e-5)
    assert len(read_recipe(tmp_path / "out_ws" / "latent0000.png")["request"]["ws"][0]) == g.num_ws


def test_inspect_json_and_text(model_file, capsys):
    path, g = model_file
    assert main(["inspect", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "stylegan2"
    assert (
        info["resolution"],
        info["z_dim"],
        info["w_dim"],
        info["c_dim"],
        info["num_ws"],
        info["mapping_layers"],
    ) == (
        16,
        32,
        24,
        0,
        6,
        2,
    )
    assert info["params"] == sum(p.numel() for p in g.parameters())
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "stylegan2" in text and "num_ws" in text


def test_convert_then_render_same_pixels(tmp_path, model_file):
    path, _ = model_file
    st = tmp_path / "tiny.safetensors"
    assert main(["convert", str(path), str(st), "--license", "CC-BY-4.0"]) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    for src, out in ((path, a), (st, b)):
        assert main(["render", "--model", str(src), "--seeds", "5", "--psi", "0.5", "-q", "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(a / "seed0005.png")), np.asarray(Image.open(b / "seed0005.png")))
    assert load_model(st).meta["license"] == "CC-BY-4.0"


def test_conditional_model_needs_class(tmp_path, tiny_sg2, capsys):
    g = tiny_sg2(c_dim=4)
    path = tmp_path / "cond.pkl"
    write_nvidia_pickle(
        path,
        g,
        {
            "z_dim": 32,
            "c_dim": 4,
            "w_dim": 24,
            "img_resolution": 16,
            "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2},
            "synthesis_kwargs": {"channel_base": 256, "channel_max": 32},
        },
    )
    assert main(["render", "--model", str(path), "--seeds", "0", "-q", "--out", str(tmp_path / "o")]) == 1
    assert "class-conditional" in capsys.readouterr().err
    assert (
        main(
            [
                "render",
                "--model",
                str(path),
                "--seeds",
                "0",
                "--class",
                "9",
                "-q",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "out of range" in capsys.readouterr().err
    assert (
        main(
            [
                "render",
                "--model",
                str(path),
                "--seeds",
                "0",
                "--class",
                "2",
                "-q",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    recipe = read_recipe(tmp_path / "o" / "seed0000.png")
    assert recipe["request"]["class_weights"] == [[2, 1.0]]


def test_expected_errors_exit_nonzero_without_traceback(tmp_path):
    bad = tmp_path / "model.pkl"
    bad.write_text("just some text\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "bigart",
            "render",
            "--model",
            str(bad),
            "--seeds",
            "0",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert "model.pkl" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "bigart", "--debug", "inspect", str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_bad_seed_syntax(tmp_path, model_file, capsys):
    path, _ = model_file
    assert main(["render", "--model", str(path), "--seeds", "9-3", "--out", str(tmp_path / "o")]) == 1
    assert "--seeds" in capsys.readouterr().err


def test_outputs_are_written_atomically_with_normal_permissions(tmp_path, model_file):
    import os

    path, _ = model_file
    out = tmp_path / "o"
    assert main(["render", "--model", str(path), "--seeds", "0", "-q", "--out", str(out)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert [p.name for p in out.iterdir()] == ["seed0000.png"]  # no temporary file left behind
    assert (out / "seed0000.png").stat().st_mode & 0o777 == 0o666 & ~mask


def test_render_biggan_seeds_classes_and_latents(tmp_path):
    from bigart.latent.biggan import truncated_z
    from tests.models.test_biggan import _write_hf, randomized, tiny_config

    g = randomized(tiny_config(num_classes=1000))
    folder = _write_hf(tmp_path / "biggan-tiny", g)
    out = tmp_path / "o"
    args = ["render", "--model", str(folder), "--seeds", "3", "--psi", "0.4", "--npy", "-q", "--out", str(out)]
    assert main([*args, "--class", "golden retriever:0.7,tabby:0.3"]) == 0
    c = torch.zeros(1, 1000)
    c[0, 207], c[0, 281] = 0.7, 0.3  # ImageNet indices of golden retriever and tabby cat
    with torch.no_grad():
        ref = g(torch.from_numpy(truncated_z(3, 8, 0.4)), c, 0.4)[0]
    np.testing.assert_allclose(np.load(out / "seed0003.npy"), ref.numpy(), atol=1e-5)
    recipe = read_recipe(out / "seed0003.png")
    assert dict(recipe["request"]["class_weights"]) == pytest.approx({207: 0.7, 281: 0.3})
    assert recipe["model"]["family"] == "biggan"
    # the same image from a latents file with a dense class vector
    np.savez(tmp_path / "lat.npz", z=truncated_z(3, 8, 0.4), c=c.numpy())
    assert (
        main(
            [
                "render",
                "--model",
                str(folder),
                "--latents",
                str(tmp_path / "lat.npz"),
                "--psi",
                "0.4",
                "--npy",
                "-q",
                "--out",
                str(tmp_path / "l"),
            ]
        )
        == 0
    )
    np.testing.assert_allclose(np.load(tmp_path / "l" / "latent0000.npy"), ref.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "class-conditional"),
        (["--class", "retriever"], "matches 5 classes"),
        (["--class", "tabby", "--psi", "1.5"], r"\(0, 1\]"),
        (["--class", "tabby", "--cutoff", "2"], "cutoff"),
    ],
)
def test_biggan_render_errors(tmp_path, capsys, extra, message):
    import re

    from tests.models.test_biggan import _write_hf, randomized, tiny_config

    folder = _write_hf(tmp_path / "b", randomized(tiny_config(num_classes=1000)))
    assert main(["render", "--model", str(folder), "--seeds", "0", "-q", "--out", str(tmp_path / "o"), *extra]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_render_onnx_backend_matches_torch(tmp_path, model_file):
    path, _ = model_file
    for backend in ("torch", "onnx"):
        assert (
            main(
                [
                    "render",
                    "--model",
                    str(path),
                    "--seeds",
                    "0-4",
                    "--psi",
                    "0.6",
                    "--backend",
                    backend,
                    "-q",
                    "--out",
                    str(tmp_path / backend),
                ]
            )
            == 0
        )
    for s in range(5):
        a = np.asarray(Image.open(tmp_path / "torch" / f"seed{s:04d}.png")).astype(int)
        b = np.asarray(Image.open(tmp_path / "onnx" / f"seed{s:04d}.png")).astype(int)
        assert np.abs(a - b).max() <= 1
    recipe = read_recipe(tmp_path / "onnx" / "seed0000.png")
    assert recipe["backend"] == "onnx" and recipe["provider"] == "CPUExecutionProvider"


def test_inspect_engine_and_export_onnx(tmp_path, model_file, capsys):
    path, _ = model_file
    assert main(["inspect", "--engine", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "CPUExecutionProvider" in report["onnx_providers_available"] and report["threads"] >= 1
    assert main(["export-onnx", "--model", str(path), "--out", str(tmp_path / "x")]) == 0
    names = sorted(p.name for p in (tmp_path / "x").glob("*.onnx"))
    assert names == ["mapping.onnx", "synthesis-const.onnx", "synthesis-none.onnx"]
    info = json.loads((tmp_path / "x" / "mapping.json").read_text())
    assert info["max_abs_diff"] <= 1e-3
