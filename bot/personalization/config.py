"""The personalization rules' knobs, from environment variables (`TANDEM_RECS_*`), with safe defaults.

CX teams tune these without code: how long "not interested" lasts, how often the bot may suggest something
nobody asked for, and which strategies share the traffic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import env_number


def _strategies(text: str) -> dict[str, float]:
    """ "hybrid=80,popularity=20" -> {"hybrid": 80.0, "popularity": 20.0}."""
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition("=")
        try:
            value = float(share) if share else 1.0
        except ValueError as exc:
            raise ValueError(f"TANDEM_RECS_STRATEGIES: not a share in {part!r}") from exc
        if value < 0:
            raise ValueError(f"TANDEM_RECS_STRATEGIES: negative share in {part!r}")
        shares[name.strip()] = value
    if not shares or sum(shares.values()) <= 0:
        raise ValueError("TANDEM_RECS_STRATEGIES names no strategy with a positive share")
    return shares


@dataclass(frozen=True)
class PersonalizationConfig:
    exclusion_days: float = 30.0  # "not interested" in an item
    category_exclusion_days: float = 90.0  # "stop suggesting cases"
    unsolicited_cap: int = 2  # suggestions the customer did not ask for...
    unsolicited_window_hours: float = 24.0  # ...per this many hours
    history_days: float = 365.0  # behaviour older than this does not shape a request
    recent_device_days: float = 60.0  # "no second laptop a week after the first"
    strategies: Mapping[str, float] = None  # type: ignore[assignment]  # strategy -> traffic share
    experiment_salt: str = "recs-2026-11"  # change to reshuffle the buckets for a new experiment
    conversion_days: float = 14.0  # a purchase this soon after an impression counts as its conversion

    def __post_init__(self) -> None:
        if self.strategies is None:
            object.__setattr__(self, "strategies", {"hybrid": 80.0, "popularity": 20.0})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PersonalizationConfig:
        env = os.environ if env is None else env
        defaults = cls()

        def number(name: str, default: float) -> float:
            return env_number(env, name, default)

        return cls(
            exclusion_days=number("TANDEM_RECS_EXCLUSION_DAYS", defaults.exclusion_days),
            category_exclusion_days=number("TANDEM_RECS_CATEGORY_EXCLUSION_DAYS", defaults.category_exclusion_days),
            unsolicited_cap=int(number("TANDEM_RECS_UNSOLICITED_CAP", defaults.unsolicited_cap)),
            unsolicited_window_hours=number("TANDEM_RECS_UNSOLICITED_WINDOW_HOURS", defaults.unsolicited_window_hours),
            history_days=number("TANDEM_RECS_HISTORY_DAYS", defaults.history_days),
            recent_device_days=number("TANDEM_RECS_RECENT_DEVICE_DAYS", defaults.recent_device_days),
            strategies=_strategies(env["TANDEM_RECS_STRATEGIES"])
            if env.get("TANDEM_RECS_STRATEGIES")
            else defaults.strategies,
            experiment_salt=env.get("TANDEM_RECS_EXPERIMENT_SALT") or defaults.experiment_salt,
            conversion_days=number("TANDEM_RECS_CONVERSION_DAYS", defaults.conversion_days),
        )
