"""How many models are kept, what the check compares and how strictly, from config/models.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT, ConfigError

MODELS_FILE = PROJECT_ROOT / "config" / "models.yml"
METRICS = ("f1", "recall")


class ReleaseConfigError(ConfigError):
    """config/models.yml cannot be used; the message names the key."""


@dataclass(frozen=True)
class ReleaseConfig:
    keep_published: int = 5
    keep_unpublished: int = 3
    held_out: Path = PROJECT_ROOT / "bench" / "data" / "shop_paraphrases.yml"
    metric: str = "f1"
    tolerance: float = 0.05
    validate_timeout: float = 600.0
    conversations_timeout: float = 1800.0
    evaluate_timeout: float = 1800.0
    load_timeout: float = 600.0

    def __post_init__(self) -> None:
        if self.keep_published < 2:
            raise ReleaseConfigError(
                "registry.keep_published must be at least 2 (the serving model and one to go back to)"
            )
        if self.keep_unpublished < 1:
            raise ReleaseConfigError("registry.keep_unpublished must be at least 1 (the candidate being checked)")
        if self.metric not in METRICS:
            raise ReleaseConfigError(f"check.metric must be one of {METRICS}, not {self.metric!r}")
        if not 0.0 <= self.tolerance < 1.0:
            raise ReleaseConfigError(f"check.tolerance must lie in [0, 1), not {self.tolerance}")


_SECTIONS: dict[str, dict[str, str]] = {  # section -> key -> field
    "registry": {"keep_published": "keep_published", "keep_unpublished": "keep_unpublished"},
    "check": {
        "held_out": "held_out",
        "metric": "metric",
        "tolerance": "tolerance",
        "validate_timeout": "validate_timeout",
        "conversations_timeout": "conversations_timeout",
        "evaluate_timeout": "evaluate_timeout",
    },
    "publish": {"load_timeout": "load_timeout"},
}


def parse_config(raw: Any, root: Path = PROJECT_ROOT) -> ReleaseConfig:
    """`raw` as config/models.yml holds it; a relative `held_out` is relative to `root`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ReleaseConfigError("config/models.yml must be a mapping")
    values: dict[str, Any] = {}
    for section, body in raw.items():
        if section not in _SECTIONS:
            raise ReleaseConfigError(f"unknown section {section!r}; the sections are {sorted(_SECTIONS)}")
        if not isinstance(body, dict):
            raise ReleaseConfigError(f"{section} must be a mapping")
        for key, value in body.items():
            if key not in _SECTIONS[section]:
                raise ReleaseConfigError(f"unknown key {section}.{key}; the keys are {sorted(_SECTIONS[section])}")
            field = _SECTIONS[section][key]
            default = getattr(ReleaseConfig, field)
            if isinstance(default, Path):
                if not isinstance(value, str) or not value:
                    raise ReleaseConfigError(f"{section}.{key} must be a path")
                values[field] = root / value
            elif isinstance(default, str):
                values[field] = str(value)
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ReleaseConfigError(f"{section}.{key} must be a number")
            else:
                values[field] = type(default)(value)
    return ReleaseConfig(**values)


def load_config(path: Path = MODELS_FILE) -> ReleaseConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReleaseConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ReleaseConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_config(raw, path.parent.parent)
