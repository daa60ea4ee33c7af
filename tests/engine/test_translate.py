"""Translating real image files of any size, mode and orientation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from bigart.cli import main
from bigart.engine.images import read_recipe
from bigart.engine.translate import load_image, to_pixels, translate_array, translate_image
from bigart.errors import ImageError
from tests.models.test_cyclegan import _bare, tiny


@pytest.fixture(scope="module")
def net():
    return tiny(n_blocks=2)


def _photo(h, w, seed=0):
    rng = np.random.RandomState(seed)
    f = np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2
    f[0, 0] = 1
    img = np.stack([np.real(np.fft.ifft2(np.fft.fft2(rng.randn(h, w)) / f**0.9)) for _ in range(3)], -1)
    return np.clip((img - img.mean()) / img.std() * 50 + 128, 0, 255).astype(np.uint8)


def test_odd_sizes_keep_size_and_match_the_net(net):
    rgb = _photo(23, 37)
    out = translate_array(net, rgb, tile=None)
    assert out.shape == (3, 23, 37) and np.isfinite(out).all()
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
    # an image already at a multiple of 4 goes through the net unchanged
    full = translate_array(net, rgb[:20, :36], tile=None)
    with torch.no_grad():
        ref = net(x[..., :20, :36])[0].numpy()
    np.testing.assert_allclose(full, ref, atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "make"),
    [
        ("RGB", lambda a: Image.fromarray(a)),
        (
            "RGBA",
            lambda a: Image.fromarray(
                np.dstack([a, np.arange(a.size // 3).reshape(a.shape[:2]) % 256]).astype(np.uint8)
            ),
        ),
        ("L", lambda a: Image.fromarray(a[..., 0])),
        ("LA", lambda a: Image.fromarray(np.dstack([a[..., 0], a[..., 1]]), "LA")),
        ("P", lambda a: Image.fromarray(a).convert("P")),
        ("I;16", lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257)),
        ("CMYK", lambda a: Image.fromarray(a).convert("CMYK")),
    ],
)
def test_every_mode_translates_and_alpha_is_kept(tmp_path, net, mode, make):
    img = make(_photo(24, 32))
    path = tmp_path / ("in.tif" if mode in ("CMYK", "I;16") else "in.png")
    img.save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (24, 32, 3) and loaded.rgb.dtype == np.uint8
    out = to_pixels(translate_image(net, loaded), loaded.alpha)
    if mode in ("RGBA", "LA"):
        assert out.shape == (24, 32, 4)
        assert np.array_equal(out[..., 3], np.asarray(img.convert("RGBA"))[..., 3])
    else:
        assert out.shape == (24, 32, 3)


def test_palette_transparency_and_exif_orientation(tmp_path, net):
    p = Image.fromarray(_photo(16, 24)).convert("P")
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    assert load_image(tmp_path / "p.png").alpha is not None
    # a 24x16 JPEG whose EXIF says "rotate 90": it must come out as 16 wide, 24 high
    img = Image.fromarray(_photo(16, 24))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "rot.jpg", exif=exif)
    loaded = load_image(tmp_path / "rot.jpg")
    assert loaded.size == (16, 24)


def test_tiled_matches_untiled_away_from_borders(net):
    rgb = _photo(192, 256, seed=1)
    whole = translate_array(net, rgb, tile=None)
    tiled = translate_array(net, rgb, tile=96, overlap=32)
    d = np.abs(whole - tiled)[:, 16:-16, 16:-16]
    # each tile normalised on its own statistics instead (what plain tiling does): much further off
    naive = np.zeros_like(whole)
    for y0 in range(0, 192, 96):
        for x0 in range(0, 256, 128):
            naive[:, y0 : y0 + 96, x0 : x0 + 128] = translate_array(net, rgb[y0 : y0 + 96, x0 : x0 + 128], tile=None)
    naive_d = np.abs(whole - naive)[:, 16:-16, 16:-16]
    assert d.mean() < 0.1 and d.mean() < 0.5 * naive_d.mean(), (d.mean(), naive_d.mean())


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("notes.png", b"just text, no image", "not an image"),
        ("cut.png", None, "truncated"),
    ],
)
def test_bad_images(tmp_path, name, content, expect):
    p = tmp_path / name
    if content is None:
        Image.fromarray(_photo(64, 64)).save(p)
        p.write_bytes(p.read_bytes()[:300])
    else:
        p.write_bytes(content)
    with pytest.raises(ImageError) as e:
        load_image(p)
    assert name in str(e.value) and expect in str(e.value)


def test_empty_and_bomb(tmp_path):
    png = tmp_path / "zero.png"
    # a PNG header that claims 0x0 pixels
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    with pytest.raises(ImageError, match=r"zero\.png"):
        load_image(png)
    Image.fromarray(_photo(40, 50)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match=r"big\.png.*2,000 pixels.*limit of 1,000"):
        load_image(tmp_path / "big.png", max_pixels=1000)


def test_translate_cli_batch_skips_bad_inputs(tmp_path, capsys):
    m = tiny(n_blocks=2, directions=["AtoB", "BtoA"])
    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(_bare(m, "AtoB"), folder / "latest_net_G_A.pth")
    torch.save(_bare(m, "BtoA"), folder / "latest_net_G_B.pth")
    good = tmp_path / "photo.png"
    Image.fromarray(np.dstack([_photo(30, 41), np.full((30, 41), 200, np.uint8)])).save(good)
    bad = tmp_path / "broken.png"
    bad.write_text("nope")
    out = tmp_path / "out"
    rc = main(
        [
            "translate",
            "--model",
            str(folder),
            "--direction",
            "BtoA",
            "--npy",
            "-q",
            "--out",
            str(out),
            str(bad),
            str(good),
        ]
    )
    assert rc == 1
    assert "broken.png" in capsys.readouterr().err
    result = np.asarray(Image.open(out / "photo.png"))
    assert result.shape == (30, 41, 4) and (result[..., 3] == 200).all()
    arr = np.load(out / "photo.npy")
    # quantised as tensor2im: (x + 1) / 2 * 255, truncated
    assert np.array_equal(result[..., :3], ((np.clip(arr, -1, 1).transpose(1, 2, 0) + 1) / 2 * 255).astype(np.uint8))
    recipe = read_recipe(out / "photo.png")
    assert recipe["request"]["direction"] == "BtoA" and recipe["request"]["image"]["file"] == "photo.png"
    assert not (out / "broken.png").exists()


def test_convert_cyclegan_folder_then_translate(tmp_path):
    m = tiny(n_blocks=2, directions=["AtoB", "BtoA"])
    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(_bare(m, "AtoB"), folder / "latest_net_G_A.pth")
    torch.save(_bare(m, "BtoA"), folder / "latest_net_G_B.pth")
    assert main(["convert", str(folder), str(tmp_path / "pair.safetensors")]) == 0
    Image.fromarray(_photo(20, 24)).save(tmp_path / "x.png")
    for model, out in ((folder, "a"), (tmp_path / "pair.safetensors", "b")):
        assert (
            main(["translate", "--model", str(model), "-q", "--out", str(tmp_path / out), str(tmp_path / "x.png")]) == 0
        )
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "a" / "x.png")), np.asarray(Image.open(tmp_path / "b" / "x.png"))
    )


def test_translate_onnx_backend(tmp_path):
    m = tiny(n_blocks=2)
    torch.save(_bare(m), tmp_path / "latest_net_G.pth")
    Image.fromarray(_photo(30, 41)).save(tmp_path / "p.png")
    for backend in ("torch", "onnx"):
        args = ["translate", "--model", str(tmp_path / "latest_net_G.pth"), "--backend", backend, "--npy", "-q"]
        assert main([*args, "--out", str(tmp_path / backend), str(tmp_path / "p.png")]) == 0
    a, b = np.load(tmp_path / "torch" / "p.npy"), np.load(tmp_path / "onnx" / "p.npy")
    assert np.abs(a - b).max() <= 1e-3
    assert read_recipe(tmp_path / "onnx" / "p.png")["backend"] == "onnx"
