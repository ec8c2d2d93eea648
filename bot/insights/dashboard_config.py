"""The dashboard's thresholds from config/dashboard.yml, so CX teams tune numbers, not code."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DASHBOARD_FILE = Path(__file__).resolve().parents[2] / "config" / "dashboard.yml"


class DashboardConfigError(ValueError):
    """config/dashboard.yml cannot be used; the message names the key."""


@dataclass(frozen=True)
class DashboardConfig:
    low_confidence_below: float = 0.6
    max_texts: int = 300
    same_meaning: float = 0.55
    clusters: int = 12
    examples: int = 3
    top_intents: int = 10
    rising_min_count: int = 5
    rising_factor: float = 1.5
    min_impressions: int = 100
    significance: float = 0.05
    repeat_purchase_days: float = 30.0

    def __post_init__(self) -> None:
        for name, low, high in (
            ("low_confidence_below", 0.0, 1.0),
            ("same_meaning", 0.0, 1.0),
            ("significance", 0.0, 0.5),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise DashboardConfigError(f"{name} must lie between {low} and {high}, not {value}")
        for name in ("max_texts", "clusters", "examples", "top_intents", "rising_min_count", "min_impressions"):
            if getattr(self, name) < 1:
                raise DashboardConfigError(f"{name} must be at least 1")
        if self.rising_factor <= 1.0 or self.repeat_purchase_days <= 0:
            raise DashboardConfigError("rising_factor must be above 1 and repeat_purchase_days above 0")


# The file's sections and keys -> DashboardConfig's fields.
_KEYS = {
    ("unknown_questions", "low_confidence_below"): "low_confidence_below",
    ("unknown_questions", "max_texts"): "max_texts",
    ("unknown_questions", "same_meaning"): "same_meaning",
    ("unknown_questions", "clusters"): "clusters",
    ("unknown_questions", "examples"): "examples",
    ("intents", "top"): "top_intents",
    ("intents", "rising_min_count"): "rising_min_count",
    ("intents", "rising_factor"): "rising_factor",
    ("recommendations", "min_impressions"): "min_impressions",
    ("recommendations", "significance"): "significance",
    ("engagement", "repeat_purchase_days"): "repeat_purchase_days",
}


def parse_config(raw: Any) -> DashboardConfig:
    if raw is None:
        return DashboardConfig()
    if not isinstance(raw, dict):
        raise DashboardConfigError("config/dashboard.yml must be a mapping of sections")
    types = {f.name: f.type for f in fields(DashboardConfig)}
    values: dict[str, Any] = {}
    known_sections = {section for section, _ in _KEYS}
    for section, body in raw.items():
        if section not in known_sections:
            raise DashboardConfigError(f"unknown section {section!r}; the sections are {sorted(known_sections)}")
        if not isinstance(body, dict):
            raise DashboardConfigError(f"{section} must be a mapping")
        for key, value in body.items():
            name = _KEYS.get((section, key))
            if name is None:
                raise DashboardConfigError(f"unknown key {section}.{key}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DashboardConfigError(f"{section}.{key} must be a number")
            values[name] = int(value) if types[name] in (int, "int") else float(value)
    return DashboardConfig(**values)


@cache
def dashboard_config(path: Path = DASHBOARD_FILE) -> DashboardConfig:
    """The configuration in `path`; the defaults when the file is missing."""
    if not path.exists():
        return DashboardConfig()
    with open(path, encoding="utf-8") as file:
        return parse_config(yaml.safe_load(file))
