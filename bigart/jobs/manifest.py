"""What an export has made, kept so that a run that was stopped (or killed) resumes where it stopped.

Each process appends one JSON line per finished file to its journal ``.manifest.rank{r}.jsonl`` (a line cut short
by a kill is ignored when read back); when its share of the work is done it writes ``manifest.rank{r}.json``.
Process 0 merges the old ``manifest.json``, every part and every journal into a new ``manifest.json`` and removes
the parts. An entry names the file (relative to the output folder), what it is, the sha256 of the file and a
``key``: a hash of everything that decides its pixels, so a changed spec never passes for a finished one.

A file counts as finished when the manifest lists it with the same key and its bytes still hash to the recorded
sha256, or, written before its entry could be recorded, when it decodes and carries the expected recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bigart.atomic import atomic_write
from bigart.engine.images import read_recipe
from bigart.jobs.media import read_rgb, sha256_path, sidecar

FORMAT = "bigart.export-manifest"
VERSION = 1
NAME = "manifest.json"


def key_of(data: Any) -> str:
    """A stable hash of JSON-able ``data``."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def part_name(rank: int) -> str:
    return f"manifest.rank{rank}.json"


def journal_name(rank: int) -> str:
    return f".manifest.rank{rank}.jsonl"


def stale_temps(folder: Path, targets: set[str]) -> list[Path]:
    """Temporary files ``atomic_write`` left in ``folder`` for the file names in ``targets`` (a killed writer's)."""
    found = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith(".") and name.endswith(".tmp"):
            target = name[1:-4].rpartition(".")[0]  # ".{target}.{random}.tmp"
            if target in targets:
                found.append(folder / name)
    return found


def remove_stale_temps(out: Path, files: Iterable[str]) -> int:
    """Delete the leftover temporary files of the outputs ``files`` (relative to ``out``); returns how many."""
    by_folder: dict[Path, set[str]] = {}
    for f in files:
        p = out / f
        by_folder.setdefault(p.parent, set()).add(p.name)
    n = 0
    for folder, names in by_folder.items():
        for tmp in stale_temps(folder, names):
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_journal(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the last line of a killed process may be cut short
        if isinstance(entry, dict):
            out.append(entry)
    return out


def read_entries(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every entry recorded in ``out`` (manifest, parts, journals; later ones win) and the failures by input."""
    entries: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    sources: list[list[dict[str, Any]]] = []
    for path in [out / NAME, *sorted(out.glob("manifest.rank*.json"))]:
        data = _read_json(path)
        if isinstance(data, dict) and data.get("format") == FORMAT:
            sources.append(list(data.get("files") or []) + [{"failed": k, "error": v} for k, v in _failed(data)])
    for path in sorted(out.glob(".manifest.rank*.jsonl")):
        sources.append(_read_journal(path))
    for source in sources:
        for e in source:
            if not isinstance(e, dict):
                continue
            if isinstance(e.get("file"), str):
                entries[e["file"]] = e
                failed.pop(str(e.get("input", "")), None)
            elif isinstance(e.get("failed"), str):
                failed[e["failed"]] = str(e.get("error", ""))
    return entries, failed


def _failed(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(f.get("input")), str(f.get("error", ""))) for f in data.get("failed") or [] if isinstance(f, dict)]


def is_done(out: Path, file: str, key: str, entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The entry proving ``out/file`` finished with ``key``, or None when it must be made (again)."""
    path = out / file
    if not path.is_file():
        return None
    lossy = path.suffix.lower() in (".jpg", ".webp")
    if lossy and not sidecar(path).is_file():
        return None
    if entry is not None and entry.get("key") == key:
        return entry if sha256_path(path) == entry.get("sha256") else None
    return None


def matches_recipe(path: Path, expected: dict[str, Any]) -> bool:
    """Whether the image at ``path`` decodes and its recipe names the expected model, request and backend."""
    try:
        read_rgb(path)
        recipe = _read_json(sidecar(path)) if path.suffix.lower() != ".png" else read_recipe(path)
    except Exception:
        return False
    if not isinstance(recipe, dict):
        return False
    got = {
        "model": (recipe.get("model") or {}).get("sha256"),
        "request": recipe.get("request"),
        "backend": recipe.get("backend"),
    }
    keys = [k for k in got if expected.get(k) is not None]  # a translation's backend is what really ran
    return key_of({k: got[k] for k in keys}) == key_of({k: expected[k] for k in keys})


class Journal:
    """One process's record of the files it finished, appended line by line."""

    def __init__(self, out: Path, rank: int) -> None:
        self.out, self.rank = out, rank
        self.entries: list[dict[str, Any]] = []
        self.failed: list[tuple[str, str]] = []
        self._file = open(out / journal_name(rank), "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self._write(entry)

    def fail(self, source: str, message: str) -> None:
        self.failed.append((source, message))
        self._write({"failed": source, "error": message})

    def _write(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def write_part(self, header: dict[str, Any]) -> Path:
        """Write ``manifest.rank{r}.json`` with this process's entries, then drop the journal."""
        self.close()
        path = self.out / part_name(self.rank)
        data = {**header, "files": self.entries, "failed": [{"input": s, "error": m} for s, m in self.failed]}
        write_json(path, data)
        (self.out / journal_name(self.rank)).unlink(missing_ok=True)
        return path


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=1, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def merge(
    out: Path, header: dict[str, Any], order: list[str], inputs: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Merge everything recorded in ``out`` into ``manifest.json``: the planned files (``order``) that exist, in
    plan order, and the planned ``inputs`` that failed; removes the parts and journals. Returns ``(files, failed)``."""
    entries, failed = read_entries(out)
    files = [entries[f] for f in order if f in entries and (out / f).is_file()]
    done = {str(e.get("input")) for e in files if e.get("input")}
    fails = [{"input": s, "error": m} for s, m in failed.items() if s not in done and s in inputs]
    write_manifest(out, header, files, fails, complete=len(files) == len(order))
    for path in [*out.glob("manifest.rank*.json"), *out.glob(".manifest.rank*.jsonl")]:
        path.unlink(missing_ok=True)
    return files, fails


def write_manifest(
    out: Path, header: dict[str, Any], files: list[dict[str, Any]], failed: list[dict[str, str]], complete: bool
) -> Path:
    data = {**header, "complete": complete, "count": len(files), "files": files, "failed": failed}
    write_json(out / NAME, data)
    return out / NAME
