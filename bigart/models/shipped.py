"""The models bigart ships in ``models/``: one per family, trained by bigart on open emoji art (see their cards).

They are found in ``$BIGART_MODELS`` when it is set, else in the ``models/`` folder of the source tree this package
runs from (a clone, or an editable install of one). Nothing here downloads anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bigart.errors import BigartError

ENV = "BIGART_MODELS"

# family -> (file name, what the model panel calls it), in the order the app lists them
SHIPPED: dict[str, tuple[str, str]] = {
    "stylegan2": ("stylegan2-emoji.safetensors", "Emoji StyleGAN2"),
    "biggan": ("biggan-emoji.safetensors", "Emoji BigGAN (9 categories)"),
    "cyclegan": ("cyclegan-emoji.safetensors", "Emoji styles CycleGAN (Noto ↔ Twemoji)"),
}
DEFAULT_FAMILY = "stylegan2"


@dataclass(frozen=True)
class ShippedModel:
    family: str
    title: str
    path: Path

    @property
    def card(self) -> Path:
        """The model's card, ``models/<name>.md``."""
        return self.path.with_suffix(".md")


def models_dir() -> Path:
    """Where the shipped models are looked for (the folder need not exist)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "models"


def shipped_models() -> list[ShippedModel]:
    """The shipped models present in :func:`models_dir`, in the order of :data:`SHIPPED`."""
    root = models_dir()
    found = []
    for family, (name, title) in SHIPPED.items():
        path = root / name
        if path.is_file():
            found.append(ShippedModel(family, title, path))
    return found


def default_model() -> Path:
    """The shipped StyleGAN2 file: what ``bigart render`` and ``bigart gui`` open when no model is named."""
    name = SHIPPED[DEFAULT_FAMILY][0]
    path = models_dir() / name
    if not path.is_file():
        raise BigartError(
            f"no model named and the shipped default {name} is not in {models_dir()}: give --model FILE "
            f"(or set {ENV} to the folder holding bigart's models)"
        )
    return path
