"""Image-folder datasets for training: decoded once into uint8 tensors, cached, drawn in a seeded order.

A folder is read recursively. When every image sits in a sub-folder, the top-level sub-folder names are the
classes (sorted), as for conditional models; otherwise the set is unlabelled. Each image is resized so its short
side is the model's resolution and centre-cropped to a square. An image that cannot be decoded is named in a
:class:`DatasetWarning` and skipped. The decoded set is cached in a ``.npz`` keyed by the folder's file list, sizes,
modification times and the resolution, so a second run does not decode again.

CycleGAN reads two folders (``trainA``/``trainB`` inside one, or two given folders), unpaired or paired by file name.
The order in which images are drawn is a pure function of a seed, the epoch and the position in it
(:class:`EpochOrder`), so a checkpoint only needs two integers to continue the same order.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from bigart.atomic import atomic_write
from bigart.errors import BigartError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
CACHE_VERSION = 1


class DatasetWarning(UserWarning):
    """An image of a training folder was skipped (the message names it and says why)."""


@dataclass
class ImageFolder:
    """A decoded image folder: ``images`` uint8 ``[N, C, R, R]``, ``labels`` int64 ``[N]`` (all 0 unlabelled)."""

    root: Path
    resolution: int
    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    files: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    decoded: int = 0  # images decoded by this load: 0 when it came from the cache
    cache_file: Path | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> dict[str, Any]:
        """What a model card records about the data."""
        return {
            "folder": str(self.root),
            "images": len(self),
            "classes": self.class_names,
            "resolution": self.resolution,
            "skipped": len(self.skipped),
        }


def scan_folder(root: str | os.PathLike) -> list[Path]:
    """Image files under ``root`` (recursively, hidden folders skipped), sorted by their relative path."""
    root = Path(root)
    if not root.is_dir():
        raise BigartError(f"{root}: not a folder of training images")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in filenames if Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def prepare_image(path: str | os.PathLike, resolution: int, channels: int = 3) -> np.ndarray:
    """``[C, R, R]`` uint8: the image upright (EXIF), short side scaled to ``resolution`` (Lanczos), centre crop."""
    with Image.open(path) as img:
        img.load()
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB" if channels == 3 else "L")
    w, h = img.size
    if w < 1 or h < 1:
        raise ValueError("empty image")
    scale = resolution / min(w, h)
    size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
    if size != (w, h):
        img = img.resize(size, Image.Resampling.LANCZOS)
    left, top = (img.width - resolution) // 2, (img.height - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    arr = np.asarray(img, dtype=np.uint8)
    return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)).copy()


def _cache_key(root: Path, files: list[Path], resolution: int, channels: int) -> str:
    listing = []
    for f in files:
        st = f.stat()
        listing.append([f.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CACHE_VERSION, resolution, channels, listing], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError):
        return None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=np.str_) if values else np.zeros([0], dtype="<U1")


def load_image_folder(
    root: str | os.PathLike,
    resolution: int,
    channels: int = 3,
    cache_dir: str | os.PathLike | None = None,
    labels: bool | None = None,
) -> ImageFolder:
    """Decode (or read from the cache) every image under ``root`` at ``resolution``.

    ``labels``: None takes classes from sub-folders when every image is in one; False never; True requires them.
    Raises BigartError when no usable image is found.
    """
    root = Path(root)
    files = scan_folder(root)
    if not files:
        raise BigartError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    rel = [f.relative_to(root).as_posix() for f in files]
    in_subfolders = all("/" in r for r in rel)
    if labels and not in_subfolders:
        raise BigartError(f"{root}: class labels need every image in a class sub-folder")
    use_labels = in_subfolders if labels is None else bool(labels)
    class_names = sorted({r.split("/", 1)[0] for r in rel}) if use_labels else []

    cache_file = None
    if cache_dir is not None:
        key = _cache_key(root, files, resolution, channels)
        cache_file = Path(cache_dir) / f"images-{resolution}px-{key[:24]}.npz"
        cached = _read_cache(cache_file) if cache_file.exists() else None
        if cached is not None and cached["images"].shape[1:] == (channels, resolution, resolution):
            kept = [str(s) for s in cached["files"]]
            skipped = list(zip(map(str, cached["skipped_files"]), map(str, cached["skipped_reasons"]), strict=True))
            for name, reason in skipped:
                warnings.warn(f"{root / name}: skipped, {reason}", DatasetWarning, stacklevel=2)
            return ImageFolder(
                root,
                resolution,
                torch.from_numpy(cached["images"]),
                _labels(kept, class_names),
                class_names,
                kept,
                skipped,
                0,
                cache_file,
            )

    arrays, kept, skipped = [], [], []
    for f, r in zip(files, rel, strict=True):
        try:
            arrays.append(prepare_image(f, resolution, channels))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            reason = f"cannot be read as an image ({type(e).__name__}: {e})"
            skipped.append((r, reason))
            warnings.warn(f"{f}: skipped, {reason}", DatasetWarning, stacklevel=2)
            continue
        kept.append(r)
    if not kept:
        raise BigartError(f"{root}: none of its {len(files)} image files could be read")
    images = np.stack(arrays)
    if cache_file is not None:
        _write_cache(
            cache_file,
            {
                "images": images,
                "files": _strings(kept),
                "skipped_files": _strings([s[0] for s in skipped]),
                "skipped_reasons": _strings([s[1] for s in skipped]),
            },
        )
    return ImageFolder(
        root,
        resolution,
        torch.from_numpy(images),
        _labels(kept, class_names),
        class_names,
        kept,
        skipped,
        len(files),
        cache_file,
    )


def _labels(files: list[str], class_names: list[str]) -> torch.Tensor:
    if not class_names:
        return torch.zeros(len(files), dtype=torch.int64)
    index = {name: i for i, name in enumerate(class_names)}
    return torch.tensor([index[f.split("/", 1)[0]] for f in files], dtype=torch.int64)


def ab_folders(data: str | os.PathLike, data_b: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The A and B folders of a CycleGAN data set: ``data`` and ``data_b``, or ``data/trainA`` and ``data/trainB``."""
    if data_b is not None:
        return Path(data), Path(data_b)
    a, b = Path(data) / "trainA", Path(data) / "trainB"
    if not (a.is_dir() and b.is_dir()):
        raise BigartError(f"{data}: a CycleGAN data set needs trainA/ and trainB/ inside it, or a second folder")
    return a, b


def pair_by_name(a: ImageFolder, b: ImageFolder) -> tuple[ImageFolder, ImageFolder]:
    """Keep only the images whose relative path (without suffix) appears in both folders, in the same order."""

    def stem(name: str) -> str:
        return name.rsplit(".", 1)[0]

    b_index = {stem(f): i for i, f in enumerate(b.files)}
    pairs = [(i, b_index[stem(f)]) for i, f in enumerate(a.files) if stem(f) in b_index]
    unmatched = len(a) - len(pairs) + len(b) - len(pairs)
    if unmatched:
        warnings.warn(
            f"{unmatched} images of {a.root} and {b.root} have no partner and are left out",
            DatasetWarning,
            stacklevel=2,
        )
    if not pairs:
        raise BigartError(f"{a.root} and {b.root}: no file names in common, so no pairs")
    ia = torch.tensor([p[0] for p in pairs])
    ib = torch.tensor([p[1] for p in pairs])

    def subset(d: ImageFolder, idx: torch.Tensor) -> ImageFolder:
        files = [d.files[i] for i in idx.tolist()]
        return ImageFolder(
            d.root, d.resolution, d.images[idx], d.labels[idx], d.class_names, files, d.skipped, d.decoded, d.cache_file
        )

    return subset(a, ia), subset(b, ib)


class EpochOrder:
    """Seeded epoch permutations: ``take(k)`` gives the next ``k`` indices, crossing epochs as needed.

    Epoch ``e`` is ``numpy.random.default_rng([seed, e]).permutation(n)``; the state is ``(epoch, position)``.
    """

    def __init__(self, n: int, seed: int) -> None:
        if n < 1:
            raise ValueError("an empty data set has no order")
        self.n, self.seed = int(n), int(seed)
        self.epoch, self.position = 0, 0
        self._perm: np.ndarray | None = None

    def _permutation(self) -> np.ndarray:
        if self._perm is None:
            self._perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        return self._perm

    def take(self, k: int) -> np.ndarray:
        out = []
        while k > 0:
            chunk = self._permutation()[self.position : self.position + k]
            out.append(chunk)
            k -= len(chunk)
            self.position += len(chunk)
            if self.position == self.n:
                self.epoch, self.position, self._perm = self.epoch + 1, 0, None
        return np.concatenate(out) if out else np.zeros([0], np.int64)

    def state_dict(self) -> dict[str, int]:
        return {"n": self.n, "seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["n"]) != self.n:
            raise BigartError(
                f"the data set now has {self.n} images but the checkpoint was trained on {int(state['n'])}; "
                "an exact resume needs the same images"
            )
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), int(state["position"])
        self._perm = None


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> float32 in [-1, 1] (``x / 127.5 - 1``)."""
    return images.to(torch.float32) / 127.5 - 1.0


def mirror(images: torch.Tensor, flips: torch.Tensor | None) -> torch.Tensor:
    """Flip left-right the images where ``flips`` (bool ``[N]``) is true; all kept when None."""
    if flips is None:
        return images
    return torch.where(flips[:, None, None, None].to(images.device), images.flip(3), images)
