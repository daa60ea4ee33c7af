"""Image-to-image translation of any picture: any size, aspect, mode and orientation, tiled when large.

An image is read honouring its EXIF orientation and converted to RGB (grey, palette, 16-bit and CMYK included),
its alpha channel kept aside and put back unchanged. The net sees the image padded (by reflection) to the size
multiple it needs; the result is cropped back. Large images go through the net in overlapping tiles, blended with
raised-cosine ramps across each overlap, so memory for the net's activations is bounded by the tile size.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from bigart.errors import ImageError

DEFAULT_MAX_PIXELS = 100_000_000  # 10k x 10k; larger inputs are refused as possible decompression bombs
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
STATS_TILES = 2


@dataclass
class LoadedImage:
    """An input picture: ``rgb`` uint8 ``[H, W, 3]``, ``alpha`` uint8 ``[H, W]`` or None, and where it came from."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: Path
    mode: str

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer or float grey -> 8-bit grey."""
    arr = np.asarray(img)
    if img.mode == "F":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo or 1.0) * 255
    else:  # I;16*, I: 16-bit values
        scaled = arr.astype(np.float64) / 257.0
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read an image for translation; raises ImageError naming the file for anything unusable."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w == 0 or h == 0:
                raise ImageError(f"{path}: the image is empty ({w}x{h})")
            if w * h > max_pixels:
                raise ImageError(
                    f"{path}: {w}x{h} is {w * h:,} pixels, over the limit of {max_pixels:,} "
                    "(a decompression bomb, or use a larger limit)"
                )
            mode = img.mode
            img = ImageOps.exif_transpose(img)
            img.load()
    except ImageError:
        raise
    except FileNotFoundError as e:
        raise ImageError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise ImageError(f"{path}: is a folder, not an image") from e
    except Image.DecompressionBombError as e:
        raise ImageError(f"{path}: refused as a possible decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        raise ImageError(f"{path}: not an image file Pillow can read") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: damaged or truncated image ({e})") from e

    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        img = _to_8bit(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"))
        return LoadedImage(np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3]), path, mode)
    return LoadedImage(np.asarray(img.convert("RGB")), None, path, mode)


def _ramp(n: int, overlap: int, start: bool, end: bool) -> np.ndarray:
    """Blend weights along one axis of a tile: raised-cosine ramps over ``overlap`` at inner edges."""
    w = np.ones(n, np.float32)
    if overlap > 0:
        t = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        ramp = 0.5 - 0.5 * np.cos(np.pi * t)
        if start:
            w[:overlap] = ramp
        if end:
            w[n - overlap :] = ramp[::-1]
    return w


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    n = math.ceil((length - tile) / step) + 1
    starts = [min(i * step, length - tile) for i in range(n)]
    return sorted(set(starts))


class _SharedInstanceStats:
    """Make every InstanceNorm layer of a net normalise tiles with statistics of the whole image.

    Per-tile instance normalisation would give each tile its own colours and contrast (visible seams). In
    ``accumulate`` mode each layer pools the per-channel mean and variance it sees (over one or more passes);
    ``finish_pass`` fixes them, and in ``apply`` mode every tile is normalised with the pooled values.
    """

    def __init__(self, net: torch.nn.Module) -> None:
        self.layers = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d) and not m.affine]
        self.pooled: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.sums: dict[int, list] = {}
        self.mode = "off"
        self._saved: dict[int, object] = {}

    def __enter__(self) -> _SharedInstanceStats:
        for i, m in enumerate(self.layers):
            self._saved[i] = m.forward
            m.forward = self._make_forward(i, m)
        return self

    def __exit__(self, *exc: object) -> None:
        for i, m in enumerate(self.layers):
            m.forward = self._saved[i]

    def finish_pass(self) -> None:
        """Turn the sums of a calibration pass into pooled statistics."""
        for i, (n, s1, s2) in self.sums.items():
            mean = s1 / n
            self.pooled[i] = (mean, (s2 / n - mean.square()).clamp_min(0))
        self.sums = {}

    def _make_forward(self, i: int, m: torch.nn.InstanceNorm2d):
        def forward(x: torch.Tensor) -> torch.Tensor:
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
            if self.mode == "accumulate":
                n = x.shape[2] * x.shape[3]
                acc = self.sums.setdefault(i, [0, 0.0, 0.0])
                acc[0] += n
                acc[1] = acc[1] + mean.double() * n
                acc[2] = acc[2] + (var + mean.square()).double() * n
            if i in self.pooled and self.mode in ("apply", "accumulate"):
                mean, var = (t.to(x.dtype) for t in self.pooled[i])
            return (x - mean) * torch.rsqrt(var + m.eps)

        return forward


def _run_padded(net, x: torch.Tensor, direction: str, multiple: int) -> torch.Tensor:
    """Run the net on ``x [1, C, h, w]`` padded by reflection up to ``multiple``, cropped back."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], mode=mode)
    y = net(x, direction)
    return y[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]


def translate_array(
    net,
    rgb: np.ndarray,
    direction: str = "AtoB",
    tile: int | None = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Translate uint8 ``[H, W, 3]`` pixels with a CycleGAN-family ``net``; float32 ``[C, H, W]`` in [-1, 1].

    Input is scaled as the reference test script does, ``(x / 255 - 0.5) / 0.5``. With ``tile`` set and the image
    larger than it, tiles of ``tile`` pixels overlapping by ``overlap`` are blended; otherwise one pass.
    """
    in_nc = net.input_nc if direction == "AtoB" else net.output_nc
    out_nc = net.output_nc if direction == "AtoB" else net.input_nc
    x = torch.from_numpy(np.array(rgb, copy=True)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    if in_nc == 1:  # ITU-R 601 luma, as Pillow's convert('L')
        x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).contiguous()
    elif in_nc != 3:
        raise ValueError(f"the model expects {in_nc}-channel input; bigart translates RGB or grey images")
    h, w = rgb.shape[:2]
    m = net.size_multiple
    with torch.no_grad():
        if tile is None or (h <= tile and w <= tile):
            return _run_padded(net, x, direction, m)[0].float().cpu().numpy()
        tile = max(m, tile - tile % m)
        overlap = min(overlap, tile // 2)
        return _tiled(net, x, direction, m, tile, overlap, out_nc)


def _tiled(net, x: torch.Tensor, direction: str, m: int, tile: int, overlap: int, out_nc: int) -> np.ndarray:
    h, w = x.shape[-2:]
    ys, xs = _starts(h, tile, overlap), _starts(w, tile, overlap)
    tiles = [(y0, x0, min(tile, h - y0), min(tile, w - x0)) for y0 in ys for x0 in xs]
    with _SharedInstanceStats(getattr(net, direction)) as shared:
        if shared.layers:
            # Whole-image statistics, measured on a copy reduced to STATS_TILES tiles' width (bounded memory).
            scale = min(1.0, STATS_TILES * tile / max(h, w))
            small = F.interpolate(x, scale_factor=scale, mode="area") if scale < 1 else x
            shared.mode = "accumulate"
            _run_padded(net, small, direction, m)
            shared.finish_pass()
        shared.mode = "apply"
        out = np.zeros((out_nc, h, w), np.float32)
        weight = np.zeros((h, w), np.float32)
        for y0, x0, th, tw in tiles:
            wy = _ramp(th, overlap, y0 > 0, y0 + th < h)
            wx = _ramp(tw, overlap, x0 > 0, x0 + tw < w)
            y = _run_padded(net, x[..., y0 : y0 + th, x0 : x0 + tw], direction, m)[0].float().cpu().numpy()
            win = wy[:, None] * wx[None, :]
            out[:, y0 : y0 + th, x0 : x0 + tw] += y * win
            weight[y0 : y0 + th, x0 : x0 + tw] += win
    return out / weight


def translate_image(
    net,
    image: LoadedImage,
    direction: str = "AtoB",
    tile: int | None = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    working_size: int | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Translate a loaded image, keeping its size: float32 ``[C, H, W]`` in [-1, 1].

    ``working_size`` (optional) scales the long side to that many pixels for the net and the result back up.
    """
    rgb = image.rgb
    h, w = rgb.shape[:2]
    if working_size and max(h, w) != working_size:
        scale = working_size / max(h, w)
        small = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
        out = translate_array(net, np.asarray(small), direction, tile, overlap, device)
        t = torch.from_numpy(out)[None]
        return F.interpolate(t, size=(h, w), mode="bicubic", align_corners=False)[0].clamp(-1, 1).numpy()
    return translate_array(net, rgb, direction, tile, overlap, device)


def to_pixels(out: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """``[C, H, W]`` float in [-1, 1] -> uint8 ``[H, W, C]`` as the reference's ``tensor2im`` does
    (``(x + 1) / 2 * 255``, truncated), grey replicated to RGB, with ``alpha`` appended when given."""
    x = np.clip(out, -1.0, 1.0)
    px = ((x.transpose(1, 2, 0) + 1) / 2 * 255).astype(np.uint8)
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    if alpha is not None:
        px = np.concatenate([px, alpha[..., None]], axis=2)
    return px
