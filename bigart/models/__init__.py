"""Our own generator architectures, safe loaders for the published formats, and bigart's model file.

The loaders are imported on first use, so importing one architecture module stays light.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "FAMILIES": "bigart.models.registry",
    "LoadedModel": "bigart.models.registry",
    "detect": "bigart.models.registry",
    "file_sha256": "bigart.models.registry",
    "load_model": "bigart.models.registry",
    "read_model_file": "bigart.models.modelfile",
    "save_model_file": "bigart.models.modelfile",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bigart.models' has no attribute {name!r}")
