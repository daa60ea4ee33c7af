"""What every family's configuration dataclass shares: a JSON-safe dict form read back with checked keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar


class ConfigDict:
    """Mixin for config dataclasses: ``to_dict()`` and ``from_dict()`` that names unknown or missing keys."""

    label: ClassVar[str] = "model"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        unknown = sorted(set(d) - {f.name for f in fields})
        if unknown:
            raise ValueError(f"unknown {cls.label} config keys: {', '.join(unknown)}")
        missing = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in d
        ]
        if missing:
            raise ValueError(f"{cls.label} config lacks {', '.join(missing)}")
        return cls(**d)
