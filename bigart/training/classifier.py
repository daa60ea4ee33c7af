"""An emoji-category classifier that we train ourselves on real emoji; its penultimate layer is our feature space.

Evaluation needs a feature space in which generated and real images can be compared (the role Inception plays in
FID), and a judge that says which class a generated image shows. A small CNN trained on the emoji categories gives
both, with no downloaded weights: stages of 3x3 convolution, batch norm, ReLU and 2x2 max pooling down to 4x4, one
more convolution to ``feature_dim`` channels, global average pooling (the features), dropout and a linear layer.

It trains on the emoji that the data set's manifest does not hold out and reports its accuracy on the held-out emoji
(both styles of an emoji are on the same side). The file is ``.safetensors`` with a JSON header: classes, resolution,
architecture, held-out accuracy and the data manifest's hash.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from bigart.atomic import atomic_write
from bigart.errors import BigartError
from bigart.training.emoji import EmojiImages, ProgressLike, SilentProgress, load_emoji

HEADER_KEY = "bigart_classifier"
FORMAT_VERSION = 1
DEFAULT_RESOLUTION = 32


@dataclass(frozen=True)
class ClassifierConfig:
    num_classes: int
    resolution: int = DEFAULT_RESOLUTION
    num_styles: int = 0  # a second head that tells the styles apart (0: none)
    width: int = 32
    feature_dim: int = 128

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {self.num_classes}")
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ValueError(f"the classifier resolution must be a power of two >= 8, got {self.resolution}")


class EmojiClassifier(nn.Module):
    """Images ``[N, 3, R, R]`` in [-1, 1] -> class logits; :meth:`features` gives the ``feature_dim`` vector."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        stages, c_in = [], 3
        for i in range(int(math.log2(cfg.resolution // 4))):
            c = cfg.width * min(2**i, 4)
            stages += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True), nn.MaxPool2d(2)]
            c_in = c
        stages += [
            nn.Conv2d(c_in, cfg.feature_dim, 3, padding=1, bias=False),
            nn.BatchNorm2d(cfg.feature_dim),
            nn.ReLU(True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        ]
        self.body = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(cfg.feature_dim, cfg.num_classes))
        self.style_head = nn.Linear(cfg.feature_dim, cfg.num_styles) if cfg.num_styles > 1 else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (3, self.cfg.resolution, self.cfg.resolution):
            raise ValueError(f"expected [N, 3, {self.cfg.resolution}, {self.cfg.resolution}], got {list(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Class logits and style logits (None without a style head)."""
        f = self.features(x)
        return self.head(f), (None if self.style_head is None else self.style_head(f))


def to_input(images: np.ndarray, resolution: int) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` (or ``[N, H, W, 4]``, alpha dropped) -> float ``[N, 3, R, R]`` in [-1, 1], resized with
    antialiasing where the size differs."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected uint8 images [N, H, W, 3], got {list(images.shape)}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    x = torch.from_numpy(np.ascontiguousarray(images[..., :3])).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[-2:] != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return x


@dataclass
class Classifier:
    """A trained classifier with its header (classes, accuracy, data hash)."""

    net: EmojiClassifier
    header: dict[str, Any]

    @property
    def classes(self) -> list[str]:
        return list(self.header["classes"])

    @property
    def resolution(self) -> int:
        return self.net.cfg.resolution

    @torch.no_grad()
    def _run(self, images: np.ndarray, fn, batch: int) -> np.ndarray:
        self.net.eval()
        out = [fn(to_input(images[i : i + batch], self.resolution)).numpy() for i in range(0, len(images), batch)]
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def features(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """Penultimate features ``[N, feature_dim]`` (float64) of uint8 images ``[N, H, W, 3]``."""
        return self._run(images, self.net.features, batch).astype(np.float64)

    def logits(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        return self._run(images, self.net, batch)

    def predict(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """Class indices ``[N]`` into :attr:`classes`."""
        return self.logits(images, batch).argmax(1)

    @property
    def styles(self) -> list[str]:
        return list(self.header.get("styles") or [])

    def predict_style(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """Style indices ``[N]`` into :attr:`styles` (a classifier trained on two or more styles)."""
        if self.net.style_head is None:
            raise ValueError("this classifier was trained on one style: it has no style head")
        return self._run(images, lambda x: self.net.style_head(self.net.features(x)), batch).argmax(1)


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 1/16 of the size, filled with the white background."""
    flip = torch.rand(len(x), generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    r = x.shape[-1]
    p = max(1, r // 16)
    x = F.pad(x, (p, p, p, p), value=1.0)
    dx, dy = torch.randint(0, 2 * p + 1, (2,), generator=g).tolist()
    return x[..., dy : dy + r, dx : dx + r]


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> tuple[float, dict[int, float]]:
    """Overall accuracy and accuracy per class (classes with images only)."""
    if len(labels) == 0:
        return float("nan"), {}
    pred = classifier.predict(images)
    per = {int(k): float((pred[labels == k] == k).mean()) for k in np.unique(labels)}
    return float((pred == labels).mean()), per


def train_classifier(
    train: EmojiImages,
    held_out: EmojiImages | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    epochs: int = 30,
    seed: int = 0,
    progress: ProgressLike | None = None,
    batch_size: int = 64,
    lr: float = 3e-3,
) -> Classifier:
    """Train on ``train`` (AdamW, one-cycle schedule, label smoothing 0.1, flips and shifts), seeded; measure on
    ``held_out``. The header records what :func:`save_classifier` writes.

    With two or more styles a second head learns to tell them apart (its loss is added), so that the features, and
    the Fréchet distances measured in them, see the style as well as the category.
    """
    progress = progress or SilentProgress()
    torch.manual_seed(seed)
    styles = sorted(set(train.styles))
    net = EmojiClassifier(ClassifierConfig(len(train.classes), resolution, len(styles) if len(styles) > 1 else 0))
    x, y = to_input(train.images, resolution), torch.from_numpy(train.labels)
    y_style = torch.tensor([styles.index(s) for s in train.styles])
    steps_per_epoch = math.ceil(len(x) / batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(1, epochs * steps_per_epoch))
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    progress.start(epochs * len(x), "classifier")
    try:
        for _ in range(epochs):
            net.train()
            perm = torch.randperm(len(x), generator=g)
            for i in range(0, len(x), batch_size):
                progress.check_aborted()
                idx = perm[i : i + batch_size]
                if len(idx) < 2:  # batch norm needs two
                    continue
                logits, style_logits = net.both(_augment(x[idx], g))
                loss = F.cross_entropy(logits, y[idx], label_smoothing=0.1)
                if style_logits is not None:
                    loss = loss + F.cross_entropy(style_logits, y_style[idx], label_smoothing=0.1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                progress.advance(len(idx))
    finally:
        progress.close()
    net.eval().requires_grad_(False)
    clf = Classifier(net, {})
    train_acc, _ = accuracy(clf, train.images, train.labels)
    header: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "config": asdict(net.cfg),
        "classes": list(train.classes),
        "class_names": [c.get("category", c["folder"]) for c in train.manifest.get("classes", [])] or None,
        "styles": styles,
        "chance": 1.0 / len(train.classes),
        "train_images": len(train),
        "train_accuracy": train_acc,
        "held_out_images": 0,
        "held_out_accuracy": None,
        "epochs": epochs,
        "seed": seed,
        "seconds": time.perf_counter() - start,
        "data": {
            "manifest_sha256": train.manifest_sha256,
            "files_sha256": train.manifest.get("files_sha256"),
            "size": train.manifest.get("size"),
            "styles": styles,
        },
        "torch": torch.__version__,
    }
    if held_out is not None and len(held_out):
        acc, per = accuracy(clf, held_out.images, held_out.labels)
        header.update(
            held_out_images=len(held_out),
            held_out_accuracy=acc,
            held_out_per_class={train.classes[k]: v for k, v in per.items()},
        )
        if net.style_head is not None:
            truth = np.array([styles.index(s) if s in styles else -1 for s in held_out.styles])
            header["held_out_style_accuracy"] = float((clf.predict_style(held_out.images) == truth).mean())
    clf.header = header
    return clf


def save_classifier(path: str | os.PathLike, clf: Classifier) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in clf.net.state_dict().items()}
    meta = {HEADER_KEY: json.dumps(clf.header, sort_keys=True)}
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_classifier(path: str | os.PathLike) -> Classifier:
    """A classifier file written by :func:`save_classifier`; never executes anything from the file."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except Exception as e:
        raise BigartError(f"{path}: not a readable .safetensors file ({e})") from e
    if HEADER_KEY not in meta:
        raise BigartError(f"{path}: not a bigart classifier (no '{HEADER_KEY}' header)")
    try:
        header = json.loads(meta[HEADER_KEY])
        if header.get("format_version", 0) > FORMAT_VERSION:
            raise BigartError(f"{path}: classifier format {header['format_version']} is newer than this bigart")
        net = EmojiClassifier(ClassifierConfig(**header["config"]))
        net.load_state_dict(tensors, strict=True)
    except BigartError:
        raise
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise BigartError(f"{path}: damaged classifier file ({type(e).__name__}: {e})") from e
    return Classifier(net.eval().requires_grad_(False), header)


def train_classifier_on_folder(
    data: str | os.PathLike,
    out: str | os.PathLike,
    resolution: int | None = None,
    epochs: int = 30,
    seed: int = 0,
    progress: ProgressLike | None = None,
) -> dict[str, Any]:
    """Train on a prepared emoji folder (every style, held-out emoji excluded), save to ``out``, return the header."""
    if Path(out).suffix != ".safetensors":
        raise BigartError(f"{out}: the classifier file must end in .safetensors")
    if epochs < 1:
        raise BigartError(f"--epochs must be at least 1, got {epochs}")
    images = load_emoji(data)
    size = images.images.shape[1]
    resolution = resolution or min(DEFAULT_RESOLUTION, 1 << (size.bit_length() - 1))
    held = images.held_out_mask
    if not held.any():
        raise BigartError(f"{data}: the manifest holds out no emoji, so no honest accuracy can be measured")
    try:
        clf = train_classifier(images.subset(~held), images.subset(held), resolution, epochs, seed, progress)
    except ValueError as e:
        raise BigartError(str(e)) from e
    save_classifier(out, clf)
    return clf.header
