"""The emoji data set: the same emoji drawn in two styles, Noto Emoji (Google) and Twemoji (Twitter), by category.

``bigart data emoji`` fetches the published npm packages with ``npm pack`` (the only download bigart ever makes, and
only on this explicit command), extracts them without trusting their paths, composites every emoji on white and
writes ``OUT/<style>/<Category>/<unified>.png``: the same file name in both styles, so the styles pair up for
CycleGAN. Up to 64 px the 64 px PNGs of ``emoji-datasource-google`` / ``-twitter`` are used; above that the SVGs of
``@iconify-json/noto`` / ``twemoji`` are rendered with ``resvg-py`` (``pip install bigart[data]``). Categories come
from ``emoji.json`` (emoji-data, MIT); "Component" (skin-tone swatches) is no class. ``OUT/NOTICE`` carries the
licenses and attribution, ``OUT/manifest.json`` the counts, source versions, the held-out split and a hash of every
file written. ``OUT/train/<style>/...`` repeats the layout without the held-out emoji (hard links): train on
``OUT/train/noto`` (and ``OUT/train/twemoji``) and evaluate on ``OUT``, whose held-out emoji no model has seen.
Apple and Facebook images are never used: they are not licensed for this.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import numpy as np
from PIL import Image

from bigart.atomic import atomic_write
from bigart.errors import BigartError

STYLES = ("noto", "twemoji")
PNG_SIZE = 64  # the emoji-datasource images used for sizes up to this
# npm package specs, pinned so that the same command gives the same data.
PNG_PACKAGES = {"noto": "emoji-datasource-google@16.0.0", "twemoji": "emoji-datasource-twitter@16.0.0"}
PNG_FOLDERS = {"noto": "google", "twemoji": "twitter"}  # package/img/<folder>/64/<image>
SVG_PACKAGES = {"noto": "@iconify-json/noto@1.2.9", "twemoji": "@iconify-json/twemoji@1.2.5"}
CATEGORY_PACKAGE = "emoji-datasource@16.0.0"  # emoji.json without images, for the SVG route
# The Unicode emoji categories in Unicode's order; "Component" holds skin-tone and hair swatches, not emoji.
CATEGORIES = (
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)
SKIPPED_CATEGORIES = ("Component",)
HELD_OUT_FRACTION = 0.1
SPLIT_SEED = 0
MAX_MEMBER_BYTES = 256 << 20  # a package file larger than this is refused (decompression bombs)
MANIFEST_FORMAT = "bigart-emoji"
TRAIN_VIEW = "train"  # OUT/train/<style>/<Category>/: the emoji that are not held out
CLASS_VIEW = "train-classes"  # OUT/train-classes/<Category>/<style>/: the same files, class folders first

LICENSES = {
    "noto": {
        "name": "Noto Emoji",
        "copyright": "Copyright Google Inc. and the Noto Emoji authors",
        "license": "Apache-2.0",
        "url": "https://github.com/googlefonts/noto-emoji",
        "license_url": "https://www.apache.org/licenses/LICENSE-2.0",
    },
    "twemoji": {
        "name": "Twemoji",
        "copyright": "Copyright Twitter, Inc. and other contributors (graphics, maintained at jdecked/twemoji)",
        "license": "CC-BY-4.0",
        "url": "https://github.com/jdecked/twemoji",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
    },
}


class ProgressLike(Protocol):
    """What long work here reports to: ``bigart.jobs.progress.Progress`` (a layer above, so not imported)."""

    def start(self, total: int, description: str = "") -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def check_aborted(self) -> None: ...
    def close(self) -> None: ...


class SilentProgress:
    """Progress that reports nothing."""

    def start(self, total: int, description: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def check_aborted(self) -> None:
        pass

    def close(self) -> None:
        pass


def class_folder(category: str) -> str:
    """A file-system-safe folder name for a category: ``"Smileys & Emotion"`` -> ``"Smileys_and_Emotion"``."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", category.replace("&", " and ")).strip("_")
    if not name:
        raise ValueError(f"category {category!r} has no usable folder name")
    return name


# --------------------------------------------------------------------------------------------------------------
# Fetching and unpacking npm packages


def npm_pack(spec: str, dest: Path, timeout: float = 900) -> Path:
    """Download the npm package ``spec`` (e.g. ``emoji-datasource-google@16.0.0``) as a tarball into ``dest``."""
    npm = shutil.which("npm")
    if npm is None:
        raise BigartError(
            "'bigart data emoji' downloads the emoji packages with npm, which is not installed: "
            "install Node.js with npm (e.g. 'apt install npm', or from https://nodejs.org) and run it again"
        )
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.glob("*.tgz"))
    try:
        r = subprocess.run(
            [npm, "pack", spec, "--json", "--ignore-scripts"],
            cwd=dest,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        raise BigartError(f"npm pack {spec} did not finish in {timeout:.0f} s (a slow or missing connection?)") from e
    if r.returncode != 0:
        raise BigartError(
            f"npm could not fetch the package {spec} (offline, or the registry unreachable?): {_npm_error(r)}"
        )
    try:
        name = json.loads(r.stdout)[0]["filename"]
        # npm names scoped packages "scope-name-version.tgz" (older npm kept the "@")
        candidates = [dest / name, dest / name.lstrip("@").replace("/", "-")]
        path = next(p for p in candidates if p.is_file())
    except (ValueError, LookupError, StopIteration):
        new = sorted(set(dest.glob("*.tgz")) - before)
        if len(new) != 1:
            raise BigartError(f"npm pack {spec} wrote no tarball that bigart could find in {dest}") from None
        path = new[0]
    return path


def _npm_error(r: subprocess.CompletedProcess) -> str:
    """The one line that says what went wrong: npm's JSON error summary, else its first error lines."""
    try:
        error = json.loads(r.stdout)["error"]
        return f"{error.get('code', '')} {error.get('summary', '')}".strip()
    except (ValueError, KeyError, TypeError):
        pass
    lines = [
        ln.removeprefix("npm error").strip() for ln in r.stderr.splitlines() if ln.startswith(("npm error", "npm ERR"))
    ]
    return "; ".join(ln for ln in lines[:2] if ln) or f"exit status {r.returncode}"


def _unsafe(name: str) -> str | None:
    """Why a member name cannot be extracted, or None if it stays inside the destination."""
    if not name or "\\" in name or "\0" in name:
        return "an odd name"
    p = PurePosixPath(name)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in p.parts:
        return "a path leading out of the package"
    return None


def safe_extract(tarball: str | os.PathLike, dest: str | os.PathLike, keep: Callable[[str], bool]) -> list[Path]:
    """Extract the regular files of an npm tarball for which ``keep(name)`` holds into ``dest``.

    Every member is checked, kept or not: an absolute path, a ``..`` component, or a link or device among the kept
    files refuses the whole package (a package that carries one was tampered with). Names keep their ``package/``
    prefix. Nothing outside ``dest`` is ever written.
    """
    tarball, dest = Path(tarball), Path(dest).resolve()
    written: list[Path] = []
    try:
        with tarfile.open(tarball, "r:*") as tf:
            for member in tf:
                reason = _unsafe(member.name)
                if reason is None and member.size > MAX_MEMBER_BYTES:
                    reason = f"a file of {member.size >> 20} MiB"
                if reason is None and not (member.isfile() or member.isdir()) and keep(member.name):
                    reason = "a link" if member.issym() or member.islnk() else "a device or special file"
                if reason is not None:
                    raise BigartError(f"{tarball.name}: refusing the package: entry {member.name!r} is {reason}")
                if not member.isfile() or not keep(member.name):
                    continue
                target = (dest / member.name).resolve()
                if dest not in target.parents:
                    raise BigartError(f"{tarball.name}: refusing the package: {member.name!r} leaves the folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(member)
                if src is None:
                    continue
                with src, open(target, "wb") as f:
                    shutil.copyfileobj(src, f)
                written.append(target)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BigartError(f"{tarball.name}: not a readable npm tarball ({e})") from e
    return written


def _package_json(root: Path) -> dict[str, Any]:
    try:
        return json.loads((root / "package" / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BigartError(f"{root.name}: the package has no readable package.json ({e})") from e


# --------------------------------------------------------------------------------------------------------------
# What the packages hold


@dataclass(frozen=True)
class Emoji:
    """One base emoji of ``emoji.json``: its code points (``unified``, e.g. ``1F600``), category and image name."""

    unified: str
    category: str
    short_name: str
    sort_order: int
    image: str

    @property
    def folder(self) -> str:
        return class_folder(self.category)


def read_emoji_table(emoji_json: str | os.PathLike) -> list[Emoji]:
    """The base emoji of an ``emoji.json`` (emoji-data), skin-tone variants and "Component" left out."""
    try:
        rows = json.loads(Path(emoji_json).read_text(encoding="utf-8"))
        table = [
            Emoji(
                str(r["unified"]).upper(),
                str(r["category"]),
                str(r.get("short_name") or ""),
                int(r.get("sort_order", 0)),
                str(r.get("image") or r["unified"].lower() + ".png"),
            )
            for r in rows
            if r.get("category") not in SKIPPED_CATEGORIES
        ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BigartError(f"{emoji_json}: not a readable emoji.json ({e})") from e
    for e in table:
        if not re.fullmatch(r"[0-9A-F]{1,6}(-[0-9A-F]{1,6})*", e.unified):
            raise BigartError(f"{emoji_json}: emoji {e.unified!r} is not a code-point sequence")
    return sorted(table, key=lambda e: (e.sort_order, e.unified))


def category_order(categories: Iterable[str]) -> list[str]:
    """Categories in Unicode's order; any unknown ones after, alphabetically."""
    known = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(set(categories), key=lambda c: (known.get(c, len(known)), c))


class _PngSource:
    """The 64 px PNGs of an emoji-datasource package."""

    def __init__(self, root: Path, folder: str) -> None:
        self.dir = root / "package" / "img" / folder / str(PNG_SIZE)

    def has(self, e: Emoji) -> bool:
        return (self.dir / e.image).is_file()

    def render(self, e: Emoji, size: int) -> Image.Image:
        with Image.open(self.dir / e.image) as img:
            img.load()
            rgb = on_white(img)
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
        return rgb


class _SvgSource:
    """The SVG icons of an Iconify JSON package (``icons.json`` + ``chars.json``), rendered with resvg-py."""

    def __init__(self, root: Path) -> None:
        pkg = root / "package"
        try:
            self.icons = json.loads((pkg / "icons.json").read_text(encoding="utf-8"))
            self.chars = json.loads((pkg / "chars.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BigartError(f"{root.name}: not an Iconify JSON package ({e})") from e

    def _icon(self, e: Emoji) -> dict[str, Any] | None:
        code = e.unified.lower()
        name = self.chars.get(code) or self.chars.get(code.replace("-fe0f", ""))
        for _ in range(8):  # aliases may chain
            if name is None:
                return None
            if name in self.icons["icons"]:
                return self.icons["icons"][name]
            alias = self.icons.get("aliases", {}).get(name)
            if alias is None or set(alias) != {"parent"}:  # transformed aliases are not used by emoji sets
                return None
            name = alias["parent"]
        return None

    def has(self, e: Emoji) -> bool:
        return self._icon(e) is not None

    def render(self, e: Emoji, size: int) -> Image.Image:
        icon = self._icon(e)
        assert icon is not None
        box = [icon.get(k, self.icons.get(k, d)) for k, d in (("left", 0), ("top", 0), ("width", 16), ("height", 16))]
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{" ".join(map(str, box))}" width="{size}" height="{size}">{icon["body"]}</svg>'
        )
        png = _resvg().svg_to_bytes(svg_string=svg, width=size, height=size, skip_system_fonts=True)
        with Image.open(io.BytesIO(bytes(png))) as img:
            img.load()
            rgb = on_white(img)
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
        return rgb


def _resvg():
    try:
        import resvg_py
    except ImportError as e:
        raise BigartError(
            "emoji larger than 64 px are rendered from SVG with resvg-py: pip install resvg-py "
            "(or pip install 'bigart[data]')"
        ) from e
    return resvg_py


def on_white(img: Image.Image) -> Image.Image:
    """An RGB image: ``img`` composited over opaque white by its alpha (any mode in)."""
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


# --------------------------------------------------------------------------------------------------------------
# The split every consumer shares


def split_held_out(
    emoji: Sequence[tuple[str, str]], fraction: float = HELD_OUT_FRACTION, seed: int = SPLIT_SEED
) -> list[str]:
    """The held-out emoji (``unified`` codes) of ``(unified, class)`` pairs: per class, the ``round(fraction * n)``
    emoji (at least one where a class has two) that come first when ordered by ``sha256(f"{seed}:{unified}")``.

    A hash rather than a shuffle: an emoji's side does not depend on which other emoji a data set holds, so a
    64 px and a 128 px set, or a subset, agree wherever they overlap (mostly). Both styles of an emoji share a side.
    """
    by_class: dict[str, list[str]] = {}
    for unified, cls in emoji:
        by_class.setdefault(cls, []).append(unified)
    held: list[str] = []
    for names in by_class.values():
        names = sorted(set(names), key=lambda u: hashlib.sha256(f"{seed}:{u}".encode()).hexdigest())
        k = round(fraction * len(names))
        if len(names) >= 2:
            k = min(max(k, 1), len(names) - 1)
        held += names[:k]
    return sorted(held)


# --------------------------------------------------------------------------------------------------------------
# Preparing the data set


def _spread(items: list[Emoji], n: int) -> list[Emoji]:
    """``n`` items spread evenly over ``items`` (all of them when there are no more than ``n``)."""
    if n >= len(items):
        return items
    idx = np.round(np.linspace(0, len(items) - 1, n)).astype(int)
    return [items[i] for i in dict.fromkeys(idx.tolist())]


def _notice(size: int, versions: Mapping[str, Mapping[str, str]], emoji_data_license: str) -> str:
    apache = (resources.files("bigart") / "resources" / "Apache-2.0.txt").read_text(encoding="utf-8")
    lines = [
        f"bigart emoji data set ({size} x {size} px), prepared by 'bigart data emoji'.",
        "The images are the published emoji artwork, composited on white and resized; nothing else was changed.",
        "",
    ]
    for style in STYLES:
        lic, src = LICENSES[style], versions[style]
        lines += [
            f"{style}/: {lic['name']}",
            f"  {lic['copyright']}.",
            f"  Source: npm package {src['package']} {src['version']} ({lic['url']}).",
            f"  License: {lic['license']}, {lic['license_url']}",
        ]
        if lic["license"] == "CC-BY-4.0":
            lines.append("  Changes: composited on white, resized. Attribution is required wherever these are used.")
        lines.append("")
    cat = versions["categories"]
    lines += [
        f"Categories (folder names) and code points: emoji-data, npm package {cat['package']} {cat['version']},",
        "  https://github.com/iamcal/emoji-data, under the MIT License:",
        "",
        *("  " + ln if ln else "" for ln in emoji_data_license.strip().splitlines()),
        "",
        "=" * 78,
        "The Apache License 2.0, under which the Noto Emoji images are distributed:",
        "",
        apache.rstrip(),
        "",
        "=" * 78,
        "Creative Commons Attribution 4.0 International (CC BY 4.0), under which the Twemoji graphics are",
        "distributed: https://creativecommons.org/licenses/by/4.0/legalcode",
        "",
    ]
    return "\n".join(lines)


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _write_png(path: Path, img: Image.Image) -> None:
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG", optimize=True))


def fetch_packages(size: int, dest: Path) -> dict[str, Path]:
    """npm tarballs for ``size``: package spec -> tarball path."""
    specs = list(PNG_PACKAGES.values()) if size <= PNG_SIZE else [*SVG_PACKAGES.values(), CATEGORY_PACKAGE]
    return {spec: npm_pack(spec, dest) for spec in specs}


def prepare_emoji(
    out: str | os.PathLike,
    size: int = PNG_SIZE,
    per_class: int | None = None,
    progress: ProgressLike | None = None,
    tarballs: Mapping[str, str | os.PathLike] | None = None,
    train_view: bool = True,
) -> dict[str, Any]:
    """Build the emoji data set in ``out`` and return its manifest.

    ``size`` up to 64 uses the 64 px PNGs, larger sizes the SVGs. ``per_class`` keeps only that many emoji per
    category, spread evenly over it (a small fixture). ``tarballs`` maps the package specs of
    :func:`fetch_packages` to tarballs already on disk; without it they are fetched with npm. ``train_view`` also
    writes ``OUT/train/``: the same layout without the held-out emoji, for training.
    """
    progress = progress or SilentProgress()
    if not 8 <= size <= 1024:
        raise BigartError(f"--size must be between 8 and 1024 pixels, got {size}")
    if per_class is not None and per_class < 1:
        raise BigartError(f"--fixture-per-class must be at least 1, got {per_class}")
    if size > PNG_SIZE:
        _resvg()  # fail before downloading anything
    out = Path(out)
    _check_out(out, size, per_class)
    with tempfile.TemporaryDirectory(prefix="bigart-emoji-") as tmp:
        work = Path(tmp)
        if tarballs is None:
            tarballs = fetch_packages(size, work / "npm")
        table, sources, versions, mit = _open_packages(size, {k: Path(v) for k, v in tarballs.items()}, work)
        return _write_set(out, size, per_class, table, sources, versions, mit, progress, train_view)


def _check_out(out: Path, size: int, per_class: int | None) -> None:
    """Refuse a folder that holds something else: a run writes into an empty folder, or over its own earlier run
    with the same size and selection (which it then redoes), never mixes two sets."""
    if not out.exists():
        return
    if not out.is_dir():
        raise BigartError(f"{out}: exists and is not a folder")
    if not any(out.iterdir()):
        return
    try:
        old = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BigartError(f"{out}: the folder is not empty and holds no emoji manifest; choose an empty one") from None
    if old.get("format") != MANIFEST_FORMAT or old.get("size") != size or old.get("per_class") != per_class:
        raise BigartError(
            f"{out}: holds an emoji set of {old.get('size')} px (per class: {old.get('per_class')}); "
            "choose another folder or delete it"
        )


def _open_packages(size: int, tarballs: Mapping[str, Path], work: Path):
    def tarball(spec: str) -> Path:
        if spec not in tarballs:
            raise BigartError(f"the emoji data needs the npm package {spec}, which was not given")
        return tarballs[spec]

    def extract(spec: str, keep: Callable[[str], bool]) -> Path:
        root = work / re.sub(r"[^A-Za-z0-9.]+", "_", spec)
        safe_extract(tarball(spec), root, keep)
        return root

    versions: dict[str, dict[str, str]] = {}
    sources: dict[str, Any] = {}

    def record(key: str, spec: str, root: Path) -> None:
        meta = _package_json(root)
        versions[key] = {"package": str(meta.get("name", spec)), "version": str(meta.get("version", "?"))}

    base = ("package/package.json", "package/emoji.json", "package/LICENSE")
    if size <= PNG_SIZE:
        for style, spec in PNG_PACKAGES.items():
            folder = f"package/img/{PNG_FOLDERS[style]}/{PNG_SIZE}/"
            root = extract(spec, lambda n, folder=folder: n in base or (n.startswith(folder) and n.endswith(".png")))
            record(style, spec, root)
            sources[style] = _PngSource(root, PNG_FOLDERS[style])
        cat_root = work / re.sub(r"[^A-Za-z0-9.]+", "_", PNG_PACKAGES["noto"])
        versions["categories"] = dict(versions["noto"])
    else:
        for style, spec in SVG_PACKAGES.items():
            root = extract(spec, lambda n: n in ("package/package.json", "package/icons.json", "package/chars.json"))
            record(style, spec, root)
            sources[style] = _SvgSource(root)
        cat_root = extract(CATEGORY_PACKAGE, lambda n: n in base)
        record("categories", CATEGORY_PACKAGE, cat_root)
    emoji_json = cat_root / "package" / "emoji.json"
    if not emoji_json.is_file():
        raise BigartError(f"{versions['categories']['package']}: the package holds no emoji.json")
    lic = cat_root / "package" / "LICENSE"
    mit = lic.read_text(encoding="utf-8") if lic.is_file() else "MIT License, Copyright (c) 2013 Cal Henderson"
    return read_emoji_table(emoji_json), sources, versions, mit


def _write_set(out, size, per_class, table, sources, versions, mit, progress, train_view) -> dict[str, Any]:
    categories = category_order(e.category for e in table)
    folders = {c: class_folder(c) for c in categories}
    if len(set(folders.values())) != len(folders):
        raise BigartError(f"two categories share a folder name: {sorted(folders)}")
    by_cat: dict[str, list[Emoji]] = {c: [] for c in categories}
    for e in table:
        by_cat[e.category].append(e)
    counts = {s: {folders[c]: 0 for c in categories} for s in STYLES}
    only = {s: {folders[c]: 0 for c in categories} for s in STYLES}
    neither = 0
    chosen: list[tuple[Emoji, tuple[str, ...]]] = []
    for c in categories:
        present = [(e, tuple(s for s in STYLES if sources[s].has(e))) for e in by_cat[c]]
        paired = [e for e, have in present if len(have) == len(STYLES)]
        keep = set(_spread(paired, per_class)) if per_class is not None else None
        for e, have in present:
            if len(have) == len(STYLES):
                if keep is None or e in keep:
                    chosen.append((e, have))
            elif have:
                only[have[0]][folders[c]] += 1
            else:
                neither += 1
    progress.start(sum(len(h) for _, h in chosen), f"emoji {size} px")
    files: list[str] = []
    try:
        for e, have in chosen:
            progress.check_aborted()
            for style in have:
                rel = f"{style}/{e.folder}/{e.unified}.png"
                path = out / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_png(path, sources[style].render(e, size))
                counts[style][e.folder] += 1
                files.append(rel)
            progress.advance(len(have))
    finally:
        progress.close()
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256((out / rel).read_bytes()).digest())
    held = split_held_out([(e.unified, e.folder) for e, _ in chosen])
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "size": size,
        "source": f"png-{PNG_SIZE}" if size <= PNG_SIZE else "svg (resvg-py)",
        "styles": list(STYLES),
        "packages": versions,
        "licenses": {s: LICENSES[s]["license"] for s in STYLES},
        "classes": [{"folder": folders[c], "category": c} for c in categories],
        "counts": counts,
        "pairs": len(chosen),
        "images": len(files),
        "skipped": {
            "component": "Unicode category 'Component' (skin-tone and hair swatches) is no class",
            "skin_tone_variants": "only base emoji are used",
            **{f"only_{s}": only[s] for s in STYLES},
            "in_neither_style": neither,
        },
        "per_class": per_class,
        "split": {
            "rule": "per class, the round(fraction * n) emoji first by sha256(f'{seed}:{unified}')",
            "seed": SPLIT_SEED,
            "held_out_fraction": HELD_OUT_FRACTION,
            "held_out": held,
        },
        "files_sha256": digest.hexdigest(),
    }
    if train_view:
        held_set = set(held)
        _write_train_view(out, [rel for rel in files if PurePosixPath(rel).stem not in held_set])
        manifest["train_view"] = f"{TRAIN_VIEW}/<style>/<Category>/: the emoji not held out (hard links), to train on"
        manifest["class_view"] = (
            f"{CLASS_VIEW}/<Category>/<style>/: the same files with the class folder first, for class-conditional "
            "training on both styles"
        )
    _write_text(out / "NOTICE", _notice(size, versions, mit))
    _write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def _write_train_view(out: Path, files: list[str]) -> None:
    """``OUT/train/<style>/<Category>/<code>.png`` for every file not held out, and the same files as
    ``OUT/train-classes/<Category>/<style>/<code>.png`` (class folders first, so a class-conditional run on both
    styles takes its labels from them): hard links (copies where the file system has none), so that a training run
    pointed at either view never sees a held-out emoji."""
    for view in (TRAIN_VIEW, CLASS_VIEW):
        if (out / view).exists():
            shutil.rmtree(out / view)
    for rel in files:
        style, category, name = PurePosixPath(rel).parts
        for target in (out / TRAIN_VIEW / rel, out / CLASS_VIEW / category / style / name):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(out / rel, target)
            except OSError:
                shutil.copyfile(out / rel, target)


# --------------------------------------------------------------------------------------------------------------
# Reading a prepared data set


@dataclass
class EmojiImages:
    """Images of a prepared set: ``images`` uint8 ``[N, H, W, 3]``, ``labels`` class indices into ``classes``
    (folder names), and per image its ``names`` (unified code) and ``styles``."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str]
    styles: list[str]
    classes: list[str]
    manifest: dict[str, Any]
    manifest_sha256: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> EmojiImages:
        idx = np.flatnonzero(mask)
        return EmojiImages(
            self.images[idx],
            self.labels[idx],
            [self.names[i] for i in idx],
            [self.styles[i] for i in idx],
            self.classes,
            self.manifest,
            self.manifest_sha256,
        )

    @property
    def held_out_mask(self) -> np.ndarray:
        """True for the images of the held-out emoji (``manifest["split"]``)."""
        held = set(self.manifest.get("split", {}).get("held_out", []))
        return np.array([n in held for n in self.names], bool)


def read_manifest(root: str | os.PathLike) -> tuple[dict[str, Any], str]:
    """The manifest of a prepared emoji folder and the SHA-256 of its bytes."""
    path = Path(root) / "manifest.json"
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except (OSError, ValueError) as e:
        raise BigartError(f"{root}: not an emoji folder from 'bigart data emoji' (no readable manifest.json)") from e
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BigartError(f"{path}: not a bigart emoji manifest")
    return manifest, hashlib.sha256(raw).hexdigest()


def load_emoji(root: str | os.PathLike, styles: Sequence[str] | None = None) -> EmojiImages:
    """Every image of a prepared folder (or of ``styles`` only), in a fixed order: style, class, name."""
    root = Path(root)
    manifest, sha = read_manifest(root)
    classes = [c["folder"] for c in manifest["classes"]]
    styles = list(styles or manifest["styles"])
    bad = [s for s in styles if s not in manifest["styles"]]
    if bad:
        raise BigartError(f"{root}: no style {', '.join(bad)} (it has {', '.join(manifest['styles'])})")
    images, labels, names, style_of = [], [], [], []
    for style in styles:
        for k, cls in enumerate(classes):
            for path in sorted((root / style / cls).glob("*.png")):
                with Image.open(path) as img:
                    images.append(np.asarray(img.convert("RGB")))
                labels.append(k)
                names.append(path.stem)
                style_of.append(style)
    if not images:
        raise BigartError(f"{root}: no images")
    shapes = {a.shape for a in images}
    if len(shapes) != 1:
        raise BigartError(f"{root}: images of different sizes {sorted(shapes)}")
    return EmojiImages(np.stack(images), np.array(labels, np.int64), names, style_of, classes, manifest, sha)
