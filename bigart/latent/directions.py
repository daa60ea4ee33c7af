"""Meaningful directions in latent space, and the files that hold them.

SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", 2021): a layer turns a latent
change ``n`` into a change ``A n`` of what it reads (StyleGAN: the styles), so the directions that change the chosen
layers most are the top eigenvectors of ``A^T A``, ``A`` the weights of those layers stacked row-wise. We
normalise as the official code does (genforce/sefa ``factorize_weight``): there the transposed weights are
concatenated to ``[w_dim, sum of outputs]`` and every column, i.e. one output unit's weights over w, is divided by
its L2 norm before the eigen-decomposition of ``W W^T``. In our ``[outputs, w_dim]`` convention: every row of ``A``
is scaled to unit length, and the directions are the eigenvectors of ``A^T A``, largest eigenvalue first. Row
normalisation makes the result independent of per-layer gains (equalised learning rate, ToRGB style gains) and
of how strongly each channel is modulated; ``normalize=False`` gives the plain eigenvectors of ``A^T A``.

GANSpace (Härkönen et al., "Discovering Interpretable GAN Controls", 2020): principal components of sampled w (or
of an intermediate feature, regressed back to the latent that produced it, as GANSpace does for BigGAN's z).

A :class:`Directions` value holds named directions with where they came from; ``save``/``load`` use ``.npz``
without pickles, so a file can be shared and opened safely.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bigart.atomic import atomic_write
from bigart.errors import BigartError

KINDS = ("sefa", "pca", "user")
SPACES = ("w", "z")
FILE_FORMAT = "bigart-directions"
FILE_VERSION = 1

_EXACT_PCA_MAX_DIM = 4096  # above this many features, PCA uses a randomised range finder instead of eigh


class DirectionsFileError(BigartError):
    """A directions file could not be read: missing, damaged or not a bigart directions file."""


def _canonical_signs(rows: np.ndarray) -> np.ndarray:
    """Flip each row so that its largest-magnitude entry is positive (eigenvectors have no sign of their own)."""
    if rows.size == 0:
        return rows
    pick = np.abs(rows).argmax(axis=1)
    signs = np.sign(rows[np.arange(len(rows)), pick])
    signs[signs == 0] = 1
    return rows * signs[:, None]


def _check_k(k: int | None, limit: int, what: str) -> int:
    if k is None:
        return limit
    if not 1 <= int(k) <= limit:
        raise ValueError(f"k must be between 1 and {limit} ({what}), got {k}")
    return int(k)


def sefa(weights: Sequence[np.ndarray], k: int | None = None, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """SeFa directions from weight matrices ``[out_i, D]`` that all read the same latent of ``D`` features.

    Returns ``(directions [k, D], eigenvalues [k])`` in float64, largest eigenvalue first, unit rows with their
    largest-magnitude entry positive. ``normalize`` scales each row of each matrix to unit length first (the
    official SeFa normalisation, see the module docstring); all-zero rows stay zero. ``k=None`` keeps all ``D``.
    Costs one ``[D, D]`` product and eigen-decomposition: well under a second for the 18 style layers of a
    1024-px StyleGAN2 (D = 512).
    """
    if len(weights) == 0:
        raise ValueError("SeFa needs at least one weight matrix")
    rows = []
    for i, w in enumerate(weights):
        a = np.asarray(w, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"weight {i} must be [out, D], got shape {a.shape}")
        if rows and a.shape[1] != rows[0].shape[1]:
            raise ValueError(
                f"weight {i} reads {a.shape[1]} features, the first reads {rows[0].shape[1]}: they must read one latent"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(f"weight {i} has NaN or infinite entries")
        if normalize:
            norms = np.linalg.norm(a, axis=1, keepdims=True)
            a = a / np.where(norms > 0, norms, 1.0)
        rows.append(a)
    a = np.concatenate(rows)
    dim = a.shape[1]
    gram = a.T @ a
    k = _check_k(k, dim, f"the latent has {dim} features")
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:k]
    return _canonical_signs(vectors[:, order].T), values[order]


_CHUNK = 65536  # rows per step when streaming over samples: float64 temporaries stay small for millions of rows


def _centred_chunks(x: np.ndarray, mean: np.ndarray) -> Iterable[np.ndarray]:
    for start in range(0, len(x), _CHUNK):
        yield x[start : start + _CHUNK].astype(np.float64) - mean


def _top_components(x: np.ndarray, mean: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k principal axes ``[k, D]`` and variances ``[k]`` of the rows of ``x [N, D]`` around ``mean``."""
    n, d = x.shape
    if d <= _EXACT_PCA_MAX_DIM:
        cov = np.zeros((d, d))
        for chunk in _centred_chunks(x, mean):
            cov += chunk.T @ chunk
        values, vectors = np.linalg.eigh(cov / (n - 1))
        order = np.argsort(values)[::-1][:k]
        return vectors[:, order].T, np.maximum(values[order], 0.0)
    # Wide features (few samples of many features): a randomised range finder with power iterations (Halko,
    # Martinsson & Tropp 2011), seeded, so the result is deterministic.
    xc = x.astype(np.float64) - mean
    rng = np.random.RandomState(seed)
    q = np.linalg.qr(xc @ rng.standard_normal((d, min(k + 10, d))))[0]
    for _ in range(4):
        q = np.linalg.qr(xc.T @ q)[0]
        q = np.linalg.qr(xc @ q)[0]
    _, s, vt = np.linalg.svd(q.T @ xc, full_matrices=False)
    return vt[:k], s[:k] ** 2 / (n - 1)


def pca_directions(
    samples: np.ndarray, k: int, latents: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GANSpace-style PCA: ``(components [k, D] unit rows, standard deviations [k], mean [D])`` (float64).

    ``samples [N, D]`` are e.g. w of N random z (``bigart.models.directions.sample_w``). Components are sorted by
    variance, largest first; the standard deviation of the samples along each is its natural step. Samples are
    read in chunks (a million float32 w of 512 features need no float64 copy). Up to 4096 features the covariance
    is decomposed exactly; above, a seeded randomised solver finds the top components.

    With ``latents [N, L]`` (the latent each sample came from, e.g. BigGAN z under a feature of its first layer),
    the components are transferred to latent space as GANSpace does: the samples' coordinates ``X [N, k]`` on the
    components are regressed onto the centred latents by least squares (``latents - mean ~ X U``), each row of
    ``U`` normalised to a unit direction in latent space; then the standard deviations and the mean are those of
    the latents along those directions.
    """
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"PCA needs samples shaped [N >= 2, D], got {x.shape}")
    k = _check_k(k, min(x.shape), f"{x.shape[0]} samples of {x.shape[1]} features")
    total = np.zeros(x.shape[1])
    for start in range(0, len(x), _CHUNK):
        total += x[start : start + _CHUNK].sum(axis=0, dtype=np.float64)
    if not np.all(np.isfinite(total)):
        raise ValueError("PCA samples have NaN or infinite entries")
    mean = total / len(x)
    components, variances = _top_components(x, mean, k, seed)
    components = _canonical_signs(components)
    if latents is None:
        return components, np.sqrt(variances), mean
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] != x.shape[0]:
        raise ValueError(f"latents must be [N={x.shape[0]}, L], got {z.shape}")
    z_mean = z.mean(axis=0)
    zc = z - z_mean
    coords = np.concatenate([chunk @ components.T for chunk in _centred_chunks(x, mean)])  # [N, k]
    u = np.linalg.lstsq(coords, zc, rcond=None)[0]  # [k, L]
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("a component does not depend on the latents at all: nothing to transfer to latent space")
    u = u / norms
    stds = (zc @ u.T).std(axis=0, ddof=1)
    return u, stds, z_mean


def _as_layer_range(layers: range | Sequence[int] | None) -> range | None:
    """A contiguous layer range ``range(start, stop)`` or None."""
    if layers is None:
        return None
    if isinstance(layers, range):
        if layers.step != 1 or len(layers) == 0:
            raise ValueError(f"a layer range must be contiguous and non-empty, got {layers}")
        return layers
    values = sorted({int(i) for i in layers})
    if not values or values != list(range(values[0], values[-1] + 1)) or values[0] < 0:
        raise ValueError(f"layers must be a contiguous non-empty range of indices >= 0, got {list(layers)}")
    return range(values[0], values[-1] + 1)


@dataclass(frozen=True, eq=False)
class Directions:
    """Named directions in a latent space, with where they came from.

    ``vectors [k, D]`` (float32, one direction per row); ``names`` one per direction (default ``"<kind> <i>"``);
    ``kind`` is ``'sefa'``, ``'pca'`` or ``'user'``; ``space`` ``'w'`` or ``'z'``; ``layers`` the w+ layers the
    directions were found for and act on by default (a contiguous range, None = all; always None in z);
    ``model_sha256`` ties them to one checkpoint (None = any model with this latent size); ``scales [k]`` a natural
    step per direction (PCA: the samples' standard deviation along it; otherwise 1) that a slider can use as its
    unit; ``meta`` JSON-safe extras (SeFa eigenvalues, how it was computed).
    """

    vectors: np.ndarray
    names: tuple[str, ...] = ()
    kind: str = "user"
    space: str = "w"
    layers: range | None = None
    model_sha256: str | None = None
    scales: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vectors = np.array(self.vectors, dtype=np.float32)  # a private copy, read-only below
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise ValueError(f"directions must be [k, D] with D >= 1, got shape {vectors.shape}")
        if not np.all(np.isfinite(vectors)):
            raise ValueError("directions have NaN or infinite entries")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {self.space!r}")
        layers = _as_layer_range(self.layers)
        if layers is not None and self.space == "z":
            raise ValueError("directions in z have no layers: z is one vector for the whole image")
        k = vectors.shape[0]
        names = tuple(str(n) for n in self.names) or tuple(f"{self.kind} {i}" for i in range(k))
        if len(names) != k:
            raise ValueError(f"{len(names)} names for {k} directions")
        scales = np.ones(k, np.float32) if self.scales is None else np.array(self.scales, dtype=np.float32)
        if scales.shape != (k,) or not np.all(np.isfinite(scales)):
            raise ValueError(f"scales must be {k} finite numbers, got shape {scales.shape}")
        if self.model_sha256 is not None and not isinstance(self.model_sha256, str):
            raise ValueError(f"model_sha256 must be a hex string or None, got {self.model_sha256!r}")
        meta = dict(self.meta)
        try:
            json.dumps(meta, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"meta must be JSON-safe: {e}") from e
        vectors.flags.writeable = False
        scales.flags.writeable = False
        for name, value in (("vectors", vectors), ("names", names), ("layers", layers), ("scales", scales)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "meta", meta)

    # -- construction ------------------------------------------------------------------------------------------

    @classmethod
    def from_sefa(
        cls,
        weights: Sequence[np.ndarray],
        k: int | None = None,
        *,
        layers: range | Sequence[int] | None = None,
        space: str = "w",
        model_sha256: str | None = None,
        normalize: bool = True,
    ) -> Directions:
        """:func:`sefa` of ``weights`` (those of ``layers``), named ``"SeFa 0"``, ``"SeFa 1"``, ...; the eigenvalues
        go to ``meta``."""
        vectors, values = sefa(weights, k, normalize=normalize)
        return cls(
            vectors,
            tuple(f"SeFa {i}" for i in range(len(vectors))),
            kind="sefa",
            space=space,
            layers=_as_layer_range(layers),
            model_sha256=model_sha256,
            meta={"eigenvalues": [float(v) for v in values], "normalize": bool(normalize)},
        )

    @classmethod
    def from_pca(
        cls,
        samples: np.ndarray,
        k: int,
        *,
        latents: np.ndarray | None = None,
        space: str = "w",
        layers: range | Sequence[int] | None = None,
        model_sha256: str | None = None,
    ) -> Directions:
        """:func:`pca_directions`, named ``"PC 0"``, ``"PC 1"``, ...; scales are the standard deviations and the
        mean goes to ``meta``."""
        vectors, stds, mean = pca_directions(samples, k, latents=latents)
        return cls(
            vectors,
            tuple(f"PC {i}" for i in range(len(vectors))),
            kind="pca",
            space=space,
            layers=_as_layer_range(layers),
            model_sha256=model_sha256,
            scales=stds,
            meta={"mean": [float(v) for v in mean], "samples": int(np.shape(samples)[0])},
        )

    @classmethod
    def between(
        cls,
        start: np.ndarray,
        end: np.ndarray,
        name: str,
        *,
        space: str = "w",
        layers: range | Sequence[int] | None = None,
        model_sha256: str | None = None,
    ) -> Directions:
        """A user direction from latent ``start`` towards ``end`` (both ``[D]``): the unit vector along
        ``end - start``, with its length as the scale (one scale step goes from ``start`` to ``end``)."""
        delta = np.asarray(end, np.float64) - np.asarray(start, np.float64)
        if delta.ndim != 1:
            raise ValueError(f"start and end must be single latents [D], got shape {delta.shape}")
        length = float(np.linalg.norm(delta))
        if not length > 0:
            raise ValueError("start and end are the same latent: there is no direction between them")
        return cls(
            (delta / length)[None],
            (name,),
            kind="user",
            space=space,
            layers=_as_layer_range(layers),
            model_sha256=model_sha256,
            scales=np.array([length]),
        )

    # -- properties and edits ----------------------------------------------------------------------------------

    @property
    def k(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def renamed(self, index: int | str, name: str) -> Directions:
        """A copy with direction ``index`` (position or current name) called ``name``."""
        i = self.index(index)
        names = list(self.names)
        names[i] = str(name)
        return replace(self, names=tuple(names))

    def select(self, indices: Iterable[int | str]) -> Directions:
        """A copy with only the chosen directions (positions or names), in the given order."""
        idx = [self.index(i) for i in indices]
        meta = dict(self.meta)
        if "eigenvalues" in meta:
            meta["eigenvalues"] = [meta["eigenvalues"][i] for i in idx]
        return replace(
            self,
            vectors=self.vectors[idx],
            names=tuple(self.names[i] for i in idx),
            scales=self.scales[idx],
            meta=meta,
        )

    def index(self, key: int | str) -> int:
        """The position of direction ``key`` (a position, negative allowed, or a name)."""
        if isinstance(key, str):
            if key not in self.names:
                raise KeyError(f"no direction named {key!r}; there are: {', '.join(self.names)}")
            return self.names.index(key)
        i = int(key)
        if not -self.k <= i < self.k:
            raise IndexError(f"direction {key} out of range: there are {self.k}")
        return i % self.k

    # -- use -----------------------------------------------------------------------------------------------------

    def offset(self, coeffs: Sequence[float] | np.ndarray | Mapping[int | str, float]) -> np.ndarray:
        """``sum_i coeffs_i * vectors_i`` as float64 ``[D]``. ``coeffs`` is a sequence for the first directions
        (shorter than ``k`` is fine) or a mapping from position or name to coefficient."""
        c = np.zeros(self.k)
        if isinstance(coeffs, Mapping):
            for key, value in coeffs.items():
                c[self.index(key)] += float(value)
        else:
            given = np.asarray(coeffs, dtype=np.float64).reshape(-1)
            if given.size > self.k:
                raise ValueError(f"{given.size} coefficients for {self.k} directions")
            c[: given.size] = given
        if not np.all(np.isfinite(c)):
            raise ValueError("direction coefficients must be finite")
        return c @ self.vectors.astype(np.float64)

    def apply(
        self,
        w: np.ndarray,
        coeffs: Sequence[float] | np.ndarray | Mapping[int | str, float],
        layers: range | Sequence[int] | str | None = None,
    ) -> np.ndarray:
        """``w + sum_i coeffs_i * vectors_i`` on the chosen layers; a new array of ``w``'s shape and float dtype.

        ``layers=None`` uses the directions' own ``layers`` (all layers when they have none); ``'all'`` forces all
        layers; a range or a list of indices picks layers of axis -2 of ``w [..., num_ws, D]``. Adding to all
        layers works for any ``w [..., D]`` (a single w, a batch of z, w+).
        """
        w = np.asarray(w)
        dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.dtype(np.float32)
        if w.ndim == 0 or w.shape[-1] != self.dim:
            raise ValueError(f"these directions have {self.dim} features, the latent has shape {w.shape}")
        delta = self.offset(coeffs)
        if isinstance(layers, str):
            if layers != "all":
                raise ValueError(f"layers must be 'all', a range or a list of layer indices, got {layers!r}")
            chosen = None
        else:
            chosen = self.layers if layers is None else layers
        if chosen is None:
            return (w.astype(np.float64) + delta).astype(dtype)
        idx = sorted({int(i) for i in chosen})
        if w.ndim < 2:
            raise ValueError(f"layers were chosen, so w must be [..., num_ws, {self.dim}], got shape {w.shape}")
        if idx and not 0 <= idx[0] <= idx[-1] < w.shape[-2]:
            raise ValueError(f"layers {idx[0]}..{idx[-1]} do not exist in w with {w.shape[-2]} layers")
        out = w.astype(dtype, copy=True)
        out[..., idx, :] = (out[..., idx, :].astype(np.float64) + delta).astype(dtype)
        return out

    def layered(self, key: int | str, num_ws: int | None = None) -> np.ndarray:
        """Direction ``key`` as the offset it applies: float32 ``[D]`` when it acts on every layer (or in z), else
        ``[num_ws, D]`` with zeros outside its ``layers``."""
        v = self.vectors[self.index(key)]
        if self.layers is None:
            return v.copy()
        if num_ws is None or self.layers.stop > num_ws:
            raise ValueError(
                f"these directions act on layers {self.layers.start}..{self.layers.stop - 1}: "
                f"give num_ws (the generator has {num_ws})"
            )
        out = np.zeros((num_ws, self.dim), np.float32)
        out[self.layers.start : self.layers.stop] = v
        return out

    # -- files ---------------------------------------------------------------------------------------------------

    def header(self) -> dict[str, Any]:
        """Everything but the arrays, as JSON-safe values (what a file stores as its ``header``)."""
        return {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "names": list(self.names),
            "kind": self.kind,
            "space": self.space,
            "layers": None if self.layers is None else [self.layers.start, self.layers.stop],
            "model_sha256": self.model_sha256,
            "meta": self.meta,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (no pickles): ``vectors`` float32 ``[k, D]``, ``scales`` float32 ``[k]`` and ``header``,
        a JSON text (:meth:`header`). Written atomically; the name is used as given."""
        header = np.array(json.dumps(self.header(), ensure_ascii=False, allow_nan=False))

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, vectors=self.vectors, scales=self.scales, header=header)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Directions:
        """Read a file written by :meth:`save`; anything else raises :class:`DirectionsFileError` naming the file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = {"vectors", "scales", "header"} - set(f.files)
                if missing:
                    raise DirectionsFileError(
                        f"{path.name}: not a bigart directions file (no {', '.join(sorted(missing))})"
                    )
                vectors, scales, header_text = f["vectors"], f["scales"], f["header"]
        except DirectionsFileError:
            raise
        except FileNotFoundError as e:
            raise DirectionsFileError(f"{path}: no such directions file") from e
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:  # not a zip, damaged, or pickles
            raise DirectionsFileError(f"{path.name}: not a readable directions file ({e})") from e
        try:
            header = json.loads(str(header_text.item()) if header_text.ndim == 0 else "")
            if not isinstance(header, dict) or header.get("format") != FILE_FORMAT:
                raise ValueError("the header does not name the bigart-directions format")
            if header.get("version") != FILE_VERSION:
                raise ValueError(f"version {header.get('version')} is not one this bigart reads ({FILE_VERSION})")
            layers = header.get("layers")
            return cls(
                vectors,
                tuple(header.get("names") or ()),
                kind=header.get("kind", "user"),
                space=header.get("space", "w"),
                layers=None if layers is None else range(int(layers[0]), int(layers[1])),
                model_sha256=header.get("model_sha256"),
                scales=scales,
                meta=header.get("meta") or {},
            )
        except (ValueError, TypeError, KeyError, IndexError) as e:
            raise DirectionsFileError(f"{path.name}: damaged directions file: {e}") from e

    def __repr__(self) -> str:
        layers = "all" if self.layers is None else f"{self.layers.start}-{self.layers.stop - 1}"
        return (
            f"Directions({self.k} x {self.dim}, kind={self.kind!r}, space={self.space!r}, layers={layers}, "
            f"names={list(self.names)[:4]}{'...' if self.k > 4 else ''})"
        )
