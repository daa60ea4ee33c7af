"""Files an export writes: single images (PNG with the recipe chunk, or JPEG/WebP with a ``.json`` recipe beside),
contact sheets with optional labels, looping GIFs and H.264 MP4s. Every file goes to its final name atomically.

A PNG carries its recipe in the ``bigart`` text chunk (:func:`bigart.engine.images.save_png`); JPEG and WebP have
no such chunk that every tool keeps, so their recipe is written first as ``NAME.json`` and the image second: an
image under its final name always has its recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bigart.atomic import atomic_write
from bigart.engine.images import save_png

FORMATS = ("png", "jpg", "webp")
SUFFIX = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
VIDEO_SUFFIXES = (".mp4", ".gif")
_PIL_FORMAT = {"jpg": "JPEG", "webp": "WEBP"}


def sha256_path(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sidecar(path: Path) -> Path:
    """Where a JPEG or WebP keeps its recipe: ``NAME.json`` beside ``NAME.jpg``."""
    return path.with_suffix(".json")


def write_image(path: Path, pixels: np.ndarray, recipe: dict[str, Any] | None, fmt: str, quality: int) -> str:
    """Write ``[H, W, C]`` uint8 pixels as ``fmt`` with ``recipe``; returns the sha256 of the image file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        save_png(path, pixels, recipe)
    else:
        if recipe is not None:
            text = json.dumps(recipe, indent=1, sort_keys=True) + "\n"
            atomic_write(sidecar(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        img = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        if fmt == "jpg" and img.mode == "RGBA":
            img = img.convert("RGB")
        atomic_write(path, lambda tmp: img.save(tmp, format=_PIL_FORMAT[fmt], quality=int(quality)))
    return sha256_path(path)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as uint8 ``[H, W, 3]``, fully decoded (raises on a damaged file)."""
    with Image.open(path) as img:
        img.load()
        return np.asarray(img.convert("RGB"))


# --- contact sheets ----------------------------------------------------------------------------------------------


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def label_height() -> int:
    """Height in pixels of the label strip under each row of a labelled sheet (Pillow's default font)."""
    bottom = _font().getbbox("0123456789 seedg")[3]
    return int(bottom) + 4


def sheet_size(rows: int, cols: int, cell: tuple[int, int], padding: int, labels: bool) -> tuple[int, int]:
    """``(width, height)`` of a sheet of ``rows x cols`` cells of ``cell = (width, height)``."""
    w, h = cell
    strip = label_height() if labels else 0
    return cols * w + (cols + 1) * padding, rows * (h + strip) + (rows + 1) * padding


def compose_sheet(
    cells: Sequence[Sequence[np.ndarray | None]],
    padding: int = 2,
    labels: Sequence[Sequence[str]] | None = None,
    background: int = 0,
) -> np.ndarray:
    """Lay ``cells[row][col]`` (uint8 ``[H, W, 3]`` all of one size, or None for an empty cell) out on a sheet with
    ``padding`` pixels around every cell; with ``labels``, a strip of text under each cell (Pillow's default font)."""
    first = next(c for row in cells for c in row if c is not None)
    h, w = first.shape[:2]
    rows, cols = len(cells), max(len(r) for r in cells)
    width, height = sheet_size(rows, cols, (w, h), padding, labels is not None)
    strip = label_height() if labels is not None else 0
    sheet = np.full((height, width, 3), background, np.uint8)
    for r, row in enumerate(cells):
        for c, px in enumerate(row):
            if px is None:
                continue
            if px.shape[:2] != (h, w):
                raise ValueError(f"sheet cells must share one size: {px.shape[1]}x{px.shape[0]} is not {w}x{h}")
            y, x = padding + r * (h + strip + padding), padding + c * (w + padding)
            sheet[y : y + h, x : x + w] = px[..., :3]
    if labels is None:
        return sheet
    font, fill = _font(), (255 - background,) * 3
    for r, row in enumerate(labels):
        for c, text in enumerate(row):
            if not text:
                continue
            if font.getlength(text) > w - 2:
                text = text.split()[-1]  # "seed 1234" -> "1234" under a small cell
            label = Image.new("RGB", (w, strip), (background,) * 3)  # drawn per cell: clipped to its width
            ImageDraw.Draw(label).text((1, 1), text, fill=fill, font=font)
            y, x = padding + r * (h + strip + padding) + h, padding + c * (w + padding)
            sheet[y : y + strip, x : x + w] = np.asarray(label)
    return sheet


# --- animations --------------------------------------------------------------------------------------------------


def even(pixels: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` padded by repeating the last row / column to even dimensions (what yuv420p needs)."""
    h, w = pixels.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return pixels
    return np.pad(pixels, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float, crf: int) -> int:
    """Encode uint8 ``[H, W, 3]`` frames as H.264 (yuv420p, even dimensions) at ``fps`` with constant quality
    ``crf`` (0 lossless .. 51 worst) through imageio-ffmpeg's bundled ffmpeg; returns the number of frames."""
    import imageio_ffmpeg

    count = 0

    def write(tmp: str) -> None:
        nonlocal count
        writer = None
        try:
            for frame in frames:
                px = even(np.ascontiguousarray(frame[..., :3], np.uint8))
                if writer is None:
                    size = (px.shape[1], px.shape[0])
                    writer = imageio_ffmpeg.write_frames(
                        tmp,
                        size,
                        fps=fps,
                        codec="libx264",
                        quality=None,
                        pix_fmt_out="yuv420p",
                        macro_block_size=1,
                        ffmpeg_log_level="error",
                        output_params=["-crf", str(int(crf)), "-movflags", "+faststart", "-f", "mp4"],
                    )
                    writer.send(None)
                writer.send(px)
                count += 1
        finally:
            if writer is not None:
                writer.close()
        if count == 0:
            raise ValueError(f"{path.name}: no frames to encode")

    atomic_write(path, write)
    return count


def write_gif(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """A GIF that loops forever (``loop=0``), one frame per ``1 / fps`` seconds; returns the number of frames."""
    images = [Image.fromarray(np.ascontiguousarray(f[..., :3], np.uint8)) for f in frames]
    if not images:
        raise ValueError(f"{path.name}: no frames to encode")
    duration = max(20, round(1000 / fps))  # browsers slow down anything faster than 20 ms per frame
    atomic_write(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        ),
    )
    return len(images)
