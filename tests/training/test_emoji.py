"""The emoji data set: the committed fixture, preparation from real npm-layout tarballs built here, hostile
tarballs, npm missing or failing, the shared held-out split."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigart.cli import main
from bigart.errors import BigartError
from bigart.training.emoji import (
    CATEGORY_PACKAGE,
    PNG_PACKAGES,
    SVG_PACKAGES,
    class_folder,
    load_emoji,
    npm_pack,
    prepare_emoji,
    safe_extract,
    split_held_out,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "emoji"
CLASSES = [
    "Smileys_and_Emotion",
    "People_and_Body",
    "Animals_and_Nature",
    "Food_and_Drink",
    "Travel_and_Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
]


# --- the committed fixture (built by 'bigart data emoji --size 32 --fixture-per-class 3') ---------------------------


def test_fixture_layout_counts_and_pairing():
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    assert [c["folder"] for c in manifest["classes"]] == CLASSES
    assert manifest["size"] == 32 and manifest["per_class"] == 3 and manifest["pairs"] == 27
    assert manifest["counts"] == {s: dict.fromkeys(CLASSES, 3) for s in ("noto", "twemoji")}
    assert manifest["packages"]["noto"] == {"package": "emoji-datasource-google", "version": "16.0.0"}
    assert manifest["packages"]["twemoji"] == {"package": "emoji-datasource-twitter", "version": "16.0.0"}
    for cls in CLASSES:
        noto = sorted(p.name for p in (FIXTURE / "noto" / cls).iterdir())
        assert noto == sorted(p.name for p in (FIXTURE / "twemoji" / cls).iterdir())  # same names: pairs
        assert len(noto) == 3
    files = sorted(FIXTURE.glob("*/*/*.png"))
    assert len(files) == 54
    for p in files:
        with Image.open(p) as img:
            assert img.mode == "RGB" and img.size == (32, 32)
    # the manifest's hash covers every image
    h = hashlib.sha256()
    for p in sorted(files, key=lambda p: str(p.relative_to(FIXTURE))):
        h.update(str(p.relative_to(FIXTURE)).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    assert h.hexdigest() == manifest["files_sha256"]
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < 300_000
    # one held-out emoji per class (3 per class), present in both styles
    held = manifest["split"]["held_out"]
    assert len(held) == 9
    assert all(
        (FIXTURE / s / cls / f"{u}.png").exists()
        for u in held
        for s in ("noto", "twemoji")
        for cls in [next(c for c in CLASSES if (FIXTURE / "noto" / c / f"{u}.png").exists())]
    )


def test_fixture_notice_names_both_licenses_and_authors():
    notice = (FIXTURE / "NOTICE").read_text()
    for text in (
        "Noto Emoji",
        "Apache-2.0",
        "Apache License",
        "Version 2.0, January 2004",
        "Twemoji",
        "CC-BY-4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "Copyright Twitter, Inc. and other contributors",
        "emoji-datasource-google 16.0.0",
        "Copyright (c) 2013 Cal Henderson",
    ):
        assert text in notice, text


def test_fixture_loads_as_arrays():
    data = load_emoji(FIXTURE)
    assert data.images.shape == (54, 32, 32, 3) and data.images.dtype == np.uint8
    assert data.classes == CLASSES
    assert np.bincount(data.labels).tolist() == [6] * 9
    assert data.held_out_mask.sum() == 18  # both styles of 9 emoji
    noto = load_emoji(FIXTURE, ["noto"])
    assert len(noto) == 27 and set(noto.styles) == {"noto"}


# --- preparing from npm tarballs in the published layout ----------------------------------------------------------


def _png(rgba) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (64, 64), rgba).save(buf, format="PNG")
    return buf.getvalue()


def _tarball(path: Path, files: dict[str, bytes], extra=()) -> Path:
    """A real .tgz with an npm ``package/`` layout; ``extra`` adds raw TarInfo entries (links, hostile names)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


EMOJI_JSON = [
    # unified, category, has google / twitter image
    ("1F600", "Smileys & Emotion"),
    ("1F603", "Smileys & Emotion"),
    ("1F44B", "People & Body"),
    ("1F436", "Animals & Nature"),
    ("1F1EB-1F1F7", "Flags"),
    ("1F3FB", "Component"),  # a skin-tone swatch: no class
    ("1F9CC", "People & Body"),  # only in the google package below
]


def _emoji_json() -> bytes:
    rows = [
        {"unified": u, "category": c, "short_name": f"e{i}", "sort_order": i, "image": u.lower() + ".png"}
        for i, (u, c) in enumerate(EMOJI_JSON)
    ]
    return json.dumps(rows).encode()


def _png_package(tmp_path: Path, style_folder: str, name: str, colour, skip=()) -> Path:
    files = {
        "package/package.json": json.dumps({"name": name, "version": "16.0.0", "license": "MIT"}).encode(),
        "package/emoji.json": _emoji_json(),
        "package/LICENSE": b"The MIT License (MIT)\n\nCopyright (c) 2013 Cal Henderson\n",
        "package/README.md": b"readme",
    }
    for u, _ in EMOJI_JSON:
        if u not in skip:
            files[f"package/img/{style_folder}/64/{u.lower()}.png"] = _png(colour)
    files[f"package/img/{style_folder}/sheets-256/64.png"] = b"not extracted"
    return _tarball(tmp_path / f"{name}-16.0.0.tgz", files)


@pytest.fixture
def png_tarballs(tmp_path):
    return {
        PNG_PACKAGES["noto"]: _png_package(tmp_path, "google", "emoji-datasource-google", (255, 0, 0, 128)),
        PNG_PACKAGES["twemoji"]: _png_package(
            tmp_path, "twitter", "emoji-datasource-twitter", (0, 0, 255, 255), skip={"1F9CC"}
        ),
    }


def test_prepare_from_png_packages(tmp_path, png_tarballs):
    out = tmp_path / "out"
    manifest = prepare_emoji(out, 64, tarballs=png_tarballs)
    assert [c["folder"] for c in manifest["classes"]] == [
        "Smileys_and_Emotion",
        "People_and_Body",
        "Animals_and_Nature",
        "Flags",
    ]
    assert manifest["counts"]["noto"] == {
        "Smileys_and_Emotion": 2,
        "People_and_Body": 1,
        "Animals_and_Nature": 1,
        "Flags": 1,
    }
    assert manifest["counts"]["twemoji"] == manifest["counts"]["noto"]
    assert manifest["skipped"]["only_noto"]["People_and_Body"] == 1  # 1F9CC has no Twemoji image here
    assert sum(manifest["skipped"]["only_twemoji"].values()) == 0
    assert manifest["pairs"] == 5 and manifest["images"] == 10
    assert manifest["packages"]["twemoji"] == {"package": "emoji-datasource-twitter", "version": "16.0.0"}
    assert not list(out.rglob("1F3FB.png")) and not list(out.rglob("1F9CC.png"))
    # half-transparent red on white -> (255, 127, 127); opaque blue stays blue
    red = np.asarray(Image.open(out / "noto" / "Smileys_and_Emotion" / "1F600.png"))
    blue = np.asarray(Image.open(out / "twemoji" / "Flags" / "1F1EB-1F1F7.png"))
    assert red.shape == (64, 64, 3) and np.all(np.abs(red.astype(int) - [255, 127, 127]) <= 1)
    assert np.all(blue == [0, 0, 255])
    notice = (out / "NOTICE").read_text()
    assert "Cal Henderson" in notice and "Apache License" in notice and "CC-BY-4.0" in notice
    assert json.loads((out / "manifest.json").read_text()) == manifest
    held = manifest["split"]["held_out"]
    assert set(held) <= {u for u, _ in EMOJI_JSON} and len(held) == 1  # one of the two smileys
    # OUT/train/: the same layout without the held-out emoji, as hard links
    train = sorted(p.relative_to(out / "train") for p in (out / "train").rglob("*.png"))
    every = sorted(p.relative_to(out) for p in out.glob("*/*/*.png"))
    assert train == [p for p in every if p.stem not in held] and len(train) == 8
    assert (out / "train" / train[0]).stat().st_ino == (out / train[0]).stat().st_ino
    # OUT/train-classes/: the same files with the class folder first (labels for a conditional run on both styles)
    by_class = sorted(p.relative_to(out / "train-classes") for p in (out / "train-classes").rglob("*.png"))
    assert sorted(Path(p.parts[1], p.parts[0], p.parts[2]) for p in by_class) == train
    first = by_class[0]
    assert (out / "train-classes" / first).stat().st_ino == (
        out / first.parts[1] / first.parts[0] / first.name
    ).stat().st_ino
    # a second run gives the same bytes; a smaller size is resized from the 64 px images
    again = prepare_emoji(out, 64, tarballs=png_tarballs)  # over its own earlier run
    assert again["files_sha256"] == manifest["files_sha256"]
    with pytest.raises(BigartError, match="holds an emoji set of 64 px"):
        prepare_emoji(out, 16, tarballs=png_tarballs)  # never two sets in one folder
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(BigartError, match="not empty and holds no emoji manifest"):
        prepare_emoji(tmp_path / "other", 64, tarballs=png_tarballs)
    small = prepare_emoji(tmp_path / "small", 16, per_class=1, tarballs=png_tarballs)
    assert small["counts"]["noto"]["Smileys_and_Emotion"] == 1 and small["pairs"] == 4
    with Image.open(next((tmp_path / "small" / "noto").rglob("*.png"))) as img:
        assert img.size == (16, 16)


def test_prepare_from_svg_packages(tmp_path):
    pytest.importorskip("resvg_py")

    def iconify(name, width, colour, chars):
        icons = {
            "prefix": name,
            "width": width,
            "height": width,
            "icons": {
                "face": {"body": f'<rect x="0" y="0" width="{width}" height="{width // 2}" fill="{colour}"/>'},
            },
            "aliases": {"face-alias": {"parent": "face"}},
        }
        files = {
            "package/package.json": json.dumps({"name": f"@iconify-json/{name}", "version": "1.2.0"}).encode(),
            "package/icons.json": json.dumps(icons).encode(),
            "package/chars.json": json.dumps(chars).encode(),
        }
        return _tarball(tmp_path / f"{name}.tgz", files)

    cat = {
        "package/package.json": json.dumps({"name": "emoji-datasource", "version": "16.0.0"}).encode(),
        "package/emoji.json": _emoji_json(),
        "package/LICENSE": b"MIT, Copyright (c) 2013 Cal Henderson",
    }
    tarballs = {
        SVG_PACKAGES["noto"]: iconify("noto", 128, "#ff0000", {"1f600": "face", "1f436": "face-alias"}),
        SVG_PACKAGES["twemoji"]: iconify("twemoji", 36, "#00ff00", {"1f600": "face", "1f1eb-1f1f7": "face"}),
        CATEGORY_PACKAGE: _tarball(tmp_path / "cat.tgz", cat),
    }
    m = prepare_emoji(tmp_path / "out", 128, tarballs=tarballs)
    assert m["pairs"] == 1 and m["source"].startswith("svg")
    assert m["skipped"]["only_noto"]["Animals_and_Nature"] == 1 and m["skipped"]["only_twemoji"]["Flags"] == 1
    for style, colour in (("noto", [255, 0, 0]), ("twemoji", [0, 255, 0])):
        px = np.asarray(Image.open(tmp_path / "out" / style / "Smileys_and_Emotion" / "1F600.png"))
        assert px.shape == (128, 128, 3)
        assert np.all(px[:60] == colour) and np.all(px[68:] == 255)  # top half drawn, bottom white


# --- hostile and broken packages ----------------------------------------------------------------------------------


def _hostile(tmp_path, info, data=b"x"):
    ok = {"package/package.json": b"{}", "package/emoji.json": b"[]"}
    if data is not None:
        info.size = len(data)
    return _tarball(tmp_path / "evil.tgz", ok, [(info, data)])


@pytest.mark.parametrize(
    "name", ["package/../../escaped.png", "../escaped.png", "/tmp/escaped.png", "package/..\\..\\escaped.png"]
)
def test_path_traversal_refuses_the_package(tmp_path, name):
    dest = tmp_path / "deep" / "dest"
    tgz = _hostile(tmp_path, tarfile.TarInfo(name))
    with pytest.raises(BigartError, match="refusing the package"):
        safe_extract(tgz, dest, keep=lambda n: True)
    assert not list(tmp_path.rglob("escaped.png")) and not Path("/tmp/escaped.png").exists()


def test_links_among_kept_files_are_refused(tmp_path):
    link = tarfile.TarInfo("package/img/google/64/1f600.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    tgz = _hostile(tmp_path, link, None)
    with pytest.raises(BigartError, match="is a link"):
        safe_extract(tgz, tmp_path / "dest", keep=lambda n: n.endswith(".png"))
    # a link the caller does not extract is harmless
    assert [p.name for p in safe_extract(tgz, tmp_path / "d2", keep=lambda n: n.endswith(".json"))] == [
        "package.json",
        "emoji.json",
    ]


def test_prepare_refuses_a_hostile_package(tmp_path, png_tarballs):
    evil = tmp_path / "evil"
    evil.mkdir()
    files = {}
    with tarfile.open(png_tarballs[PNG_PACKAGES["twemoji"]]) as tf:
        for m in tf.getmembers():
            files[m.name] = tf.extractfile(m).read()
    info = tarfile.TarInfo("package/../../../pwned.txt")
    bad = _tarball(evil / "bad.tgz", files, [(info, None)])
    with pytest.raises(BigartError, match=r"bad\.tgz: refusing the package: entry 'package/\.\./\.\./\.\./pwned"):
        prepare_emoji(tmp_path / "out", 64, tarballs={**png_tarballs, PNG_PACKAGES["twemoji"]: bad})
    assert not list(tmp_path.parent.rglob("pwned.txt"))


def test_not_a_tarball(tmp_path):
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(BigartError, match=r"junk\.tgz: not a readable npm tarball"):
        safe_extract(junk, tmp_path / "d", keep=lambda n: True)


# --- npm ----------------------------------------------------------------------------------------------------------


def test_npm_missing_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on this PATH
    with pytest.raises(BigartError, match=r"npm, which is not installed: install Node\.js with npm"):
        prepare_emoji(tmp_path / "out", 64)
    assert main(["data", "emoji", "--out", str(tmp_path / "out"), "-q"]) == 1
    assert "install Node.js with npm" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_npm_failure_names_the_package(tmp_path, monkeypatch):
    import shutil

    if shutil.which("npm") is None:
        pytest.skip("npm is not installed here")
    # an unreachable registry, no retries, an empty cache: npm fails at once, as it does offline
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_offline", "false")
    with pytest.raises(BigartError, match=r"npm could not fetch the package emoji-datasource-google@16\.0\.0"):
        npm_pack("emoji-datasource-google@16.0.0", tmp_path / "npm", timeout=60)


# --- names and the split ------------------------------------------------------------------------------------------


def test_class_folders_are_filesystem_safe():
    assert class_folder("Smileys & Emotion") == "Smileys_and_Emotion"
    assert class_folder("Travel & Places") == "Travel_and_Places"
    assert class_folder("Flags") == "Flags"
    assert class_folder("a/b: c?") == "a_b_c"


def test_split_is_per_class_and_stable_under_subsets():
    emoji = [(f"{i:04X}", "A" if i % 3 else "B") for i in range(200)]
    held = split_held_out(emoji, 0.1)
    n_a = sum(c == "A" for _, c in emoji)
    assert sum(u in held for u, c in emoji if c == "A") == round(0.1 * n_a)
    assert sum(u in held for u, c in emoji if c == "B") == round(0.1 * (200 - n_a))
    assert split_held_out(list(reversed(emoji)), 0.1) == held  # order does not matter
    assert split_held_out(emoji, 0.1, seed=1) != held
    # every class of two or more keeps one emoji on each side
    assert split_held_out([("1", "X"), ("2", "X")], 0.1) in (["1"], ["2"])
    assert split_held_out([("1", "X")], 0.5) == []
