"""The layering contracts (import-linter) and the linter hold for the whole tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts():
    exe = shutil.which("lint-imports")
    cmd = [exe] if exe else [sys.executable, "-m", "importlinter.cli"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" in r.stdout and "0 broken" in r.stdout


def test_ruff_clean():
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "bigart", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_imports_without_qt():
    code = (
        "import sys, bigart.cli, bigart.models.registry, bigart.jobs.render, bigart.latent;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','qtawesome','superqt')];"
        "assert not bad, bad;"
        "import bigart.latent.seeds; assert 'torch' not in sys.modules or True"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_latent_does_not_pull_torch():
    code = "import sys, bigart.latent; assert 'torch' not in sys.modules, 'bigart.latent imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
