"""The handoff rules CX teams edit as data (`config/handoff.yml`): topic queues, priority, waits.

Loaded once per process and validated on load, so a typo fails at start-up with the file and key named,
not in the middle of a customer's handoff.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT

DEFAULT_PATH = PROJECT_ROOT / "config" / "handoff.yml"
ENV_PATH = "TANDEM_HANDOFF_CONFIG"


class HandoffConfigError(ValueError):
    """`config/handoff.yml` is malformed; the message names the key."""


@dataclass(frozen=True)
class Queue:
    key: str
    name: str
    workflows: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValueTier:
    min_spend: Decimal
    points: int


@dataclass(frozen=True)
class HandoffRules:
    queues: tuple[Queue, ...]
    default_queue: str
    reason_points: Mapping[str, int]
    default_reason_points: int = 40
    sentiment_points: int = 30
    value_tiers: tuple[ValueTier, ...] = ()
    default_handle_minutes: float = 6.0
    history_days: float = 14.0
    agent_online_seconds: float = 60.0
    follow_up_promise_hours: float = 4.0
    consecutive_fallbacks: int = 3
    source: Path | None = field(default=None, compare=False)

    @property
    def queue_keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.queues)

    def queue_name(self, key: str) -> str:
        return next((q.name for q in self.queues if q.key == key), key)

    def route(self, *, workflow: str | None = None, intents: tuple[str, ...] = ()) -> str:
        """The queue for a handoff: the open journey's workflow first, then the latest topical intent."""
        if workflow:
            for queue in self.queues:
                if workflow in queue.workflows:
                    return queue.key
        for intent in intents:
            for queue in self.queues:
                if intent in queue.intents:
                    return queue.key
        return self.default_queue

    def priority(self, *, reason: str, sentiment: float | None, spend: Decimal | None) -> int:
        """0..100: the reason's base, a worse mood and a more valuable customer come first."""
        points = self.reason_points.get(reason, self.default_reason_points)
        if sentiment is not None:
            points += round(self.sentiment_points * max(0.0, min(1.0, -float(sentiment))))
        if spend is not None:
            reached = [t.points for t in self.value_tiers if Decimal(spend) >= t.min_spend]
            points += max(reached, default=0)
        return max(0, min(100, int(points)))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise HandoffConfigError(f"{where} must be a mapping")
    return value


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise HandoffConfigError(f"{where} must be a list of names")
    return tuple(value)


def _number(section: Mapping[str, Any], key: str, default: float, where: str, *, positive: bool = False) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (positive and value == 0):
        raise HandoffConfigError(f"{where}.{key} must be a {'positive' if positive else 'non-negative'} number")
    return float(value)


def parse_rules(raw: Any, source: Path | None = None) -> HandoffRules:
    """Validate the YAML document of `config/handoff.yml`."""
    doc = _mapping(raw, "the handoff config")
    unknown = set(doc) - {"queues", "default_queue", "priority", "wait", "stuck"}
    if unknown:
        raise HandoffConfigError(f"unknown keys: {', '.join(sorted(unknown))}")
    queues = []
    for key, body in _mapping(doc.get("queues"), "queues").items():
        body = _mapping(body or {}, f"queues.{key}")
        extra = set(body) - {"name", "workflows", "intents"}
        if extra:
            raise HandoffConfigError(f"queues.{key}: unknown keys {', '.join(sorted(extra))}")
        queues.append(
            Queue(
                key=str(key),
                name=str(body.get("name") or key),
                workflows=_names(body.get("workflows"), f"queues.{key}.workflows"),
                intents=_names(body.get("intents"), f"queues.{key}.intents"),
            )
        )
    if not queues:
        raise HandoffConfigError("queues: at least one queue is needed")
    default_queue = doc.get("default_queue")
    if default_queue not in {q.key for q in queues}:
        raise HandoffConfigError(f"default_queue {default_queue!r} is not one of the queues")

    priority = _mapping(doc.get("priority") or {}, "priority")
    reasons = _mapping(priority.get("reasons") or {}, "priority.reasons")
    for reason, points in reasons.items():
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= 100:
            raise HandoffConfigError(f"priority.reasons.{reason} must be a whole number from 0 to 100")
    tiers = []
    for i, tier in enumerate(priority.get("value_tiers") or []):
        tier = _mapping(tier, f"priority.value_tiers[{i}]")
        tiers.append(
            ValueTier(
                Decimal(str(_number(tier, "min_spend", 0, f"priority.value_tiers[{i}]"))),
                int(_number(tier, "points", 0, f"priority.value_tiers[{i}]")),
            )
        )
    wait = _mapping(doc.get("wait") or {}, "wait")
    stuck = _mapping(doc.get("stuck") or {}, "stuck")
    defaults = HandoffRules(queues=(), default_queue="", reason_points={})
    return HandoffRules(
        queues=tuple(queues),
        default_queue=default_queue,
        reason_points={str(k): int(v) for k, v in reasons.items()},
        default_reason_points=int(
            _number(priority, "default_reason_points", defaults.default_reason_points, "priority")
        ),
        sentiment_points=int(_number(priority, "sentiment_points", defaults.sentiment_points, "priority")),
        value_tiers=tuple(sorted(tiers, key=lambda t: t.min_spend)),
        default_handle_minutes=_number(
            wait, "default_handle_minutes", defaults.default_handle_minutes, "wait", positive=True
        ),
        history_days=_number(wait, "history_days", defaults.history_days, "wait", positive=True),
        agent_online_seconds=_number(
            wait, "agent_online_seconds", defaults.agent_online_seconds, "wait", positive=True
        ),
        follow_up_promise_hours=_number(
            wait, "follow_up_promise_hours", defaults.follow_up_promise_hours, "wait", positive=True
        ),
        consecutive_fallbacks=max(
            1, int(_number(stuck, "consecutive_fallbacks", defaults.consecutive_fallbacks, "stuck", positive=True))
        ),
        source=source,
    )


def load_rules(path: Path | None = None) -> HandoffRules:
    path = Path(path or os.environ.get(ENV_PATH) or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HandoffConfigError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        raise HandoffConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_rules(raw, path)
    except HandoffConfigError as exc:
        raise HandoffConfigError(f"{path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_rules() -> HandoffRules:
    return load_rules()
