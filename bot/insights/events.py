"""What one Rasa tracker event, as Rasa's event brokers publish it, changes in the analytics tables.

Pure functions on event dicts: the broker's body is the event's JSON (`Event.as_dict()`) with `sender_id`; the
tracker store keeps the same JSON without it. A customer's `user` event carries Tandem's parse data: the intent
ranking and entities, `sentiment` (bot/nlu/sentiment_analyzer.py) and, for a language Tandem does not speak,
`language` (bot/nlu/language_detector.py); the channels put the verified customer in its metadata.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.handoff.agent_events import AGENT
from bot.journeys.types import FALLBACK_INTENT
from bot.sentiment.labels import POLARITIES
from bot.sentiment.trend import SLOT_LABEL, SLOT_SCORE
from bot.text import storable

# Rasa's names, copied (no Rasa import here): `rasa.shared.core.constants`.
ACTION_LISTEN = "action_listen"
ACTION_SESSION_START = "action_session_start"
# The action RulePolicy runs when no policy is confident enough (config.yml's core_fallback_action_name).
CORE_FALLBACK_ACTION = "action_default_fallback"
EXTERNAL_MESSAGE_PREFIX = "EXTERNAL: "  # a `user` event the server made up (a follow-up's trigger_intent)
# Set by actions.handoff.hand_off whenever the bot brings in a person, whether one is online (the bot pauses) or not.
HANDOFF_SLOT = "handoff_reason"

_POLICY_PREFIX = re.compile(r"^policy_\d+_")  # Rasa names a policy by its place in config.yml: policy_3_RulePolicy


@dataclass(frozen=True)
class SessionStarted:
    sender_id: str
    at: datetime


@dataclass(frozen=True)
class CustomerMessage:
    """A message from the customer (a turn), with what the NLU made of it."""

    sender_id: str
    at: datetime
    text: str | None
    intent: str | None
    confidence: float | None
    margin: float | None  # the top intent's confidence minus the runner-up's
    entities: tuple[str, ...]
    sentiment: float | None
    sentiment_label: str | None
    language: str | None  # only for a language Tandem recognises but does not speak; None: Tandem's own
    channel: str | None
    customer: str | None  # the verified customer's external id (CUST-00042), from the channel's metadata
    fallback: bool  # the NLU was not sure (Rasa's FallbackClassifier: nlu_fallback)


@dataclass(frozen=True)
class ActionRun:
    """An action the bot ran (action_listen excluded): the first one after a message is what answered it."""

    sender_id: str
    at: datetime
    action: str
    policy: str | None
    fallback: bool  # Rasa's core fallback: no policy knew what to do


@dataclass(frozen=True)
class BotMessage:
    sender_id: str
    at: datetime
    from_agent: bool  # a person wrote it in the agent console (bot.handoff.agent_events.agent_message)


@dataclass(frozen=True)
class HandedOff:
    """The bot brought in a person: a pause (a person takes over) or a handoff recorded by the bot."""

    sender_id: str
    at: datetime


@dataclass(frozen=True)
class SentimentSlot:
    """The sentiment slots of a message that came without parse data's sentiment (a button, a test)."""

    sender_id: str
    at: datetime
    label: str | None
    score: float | None


@dataclass(frozen=True)
class OtherEvent:
    """An event that changes no figure; it still marks the conversation active (`last_event_at`)."""

    sender_id: str
    at: datetime


Update = SessionStarted | CustomerMessage | ActionRun | BotMessage | HandedOff | SentimentSlot | OtherEvent


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """The event's Unix timestamp as the naive UTC datetime every DateTime column stores (None: it has none)."""
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return None
    try:
        return datetime.fromtimestamp(float(timestamp), UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):  # not a moment a datetime can hold (NaN, year 10000 and on)
        return None


def event_key(sender_id: str, event: Mapping[str, Any]) -> str:
    """SHA-256 of the sender and the event's canonical JSON: the same for a broker's copy (which adds `sender_id`)
    and the tracker store's, and for a redelivery of either."""
    body = {k: v for k, v in event.items() if k != "sender_id"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{sender_id}\x00{canonical}".encode()).hexdigest()


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    """What a field of a broker's JSON holds when it should be an object (anything else reads as empty)."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _short(value: Any, limit: int) -> str | None:
    return storable(str(value))[:limit] if value not in (None, "") else None


def _customer_message(sender_id: str, at: datetime, event: Mapping[str, Any]) -> CustomerMessage:
    parse = _mapping(event.get("parse_data"))
    intent = _mapping(parse.get("intent"))
    ranking = [r for r in _list(parse.get("intent_ranking")) if isinstance(r, Mapping)]
    confidence = _float(intent.get("confidence"))
    margin = None
    if confidence is not None:
        others = [_float(r.get("confidence")) for r in ranking if r.get("name") != intent.get("name")]
        runner_up = max((c for c in others if c is not None), default=0.0)
        margin = round(confidence - runner_up, 6)
    entities = tuple(
        sorted({str(e["entity"]) for e in _list(parse.get("entities")) if isinstance(e, Mapping) and e.get("entity")})
    )
    sentiment = _mapping(parse.get("sentiment"))
    label = sentiment.get("label") if sentiment.get("label") in POLARITIES else None
    language = parse.get("language") or {}
    metadata = event.get("metadata") or {}
    name = intent.get("name")
    return CustomerMessage(
        sender_id=sender_id,
        at=at,
        text=storable(text) if isinstance(text := event.get("text"), str) else None,
        intent=_short(name, 64),
        confidence=confidence,
        margin=margin,
        entities=entities,
        sentiment=_float(sentiment.get("score")) if label else None,
        sentiment_label=label,
        language=_short(language.get("code"), 8) if isinstance(language, Mapping) else None,
        channel=_short(event.get("input_channel"), 32),
        customer=_short(metadata.get("customer_id"), 64) if isinstance(metadata, Mapping) else None,
        fallback=name == FALLBACK_INTENT,
    )


def interpret(event: Mapping[str, Any], sender_id: str | None = None) -> Update | None:
    """What `event` changes; None for what changes nothing (no sender, no timestamp, the start of a session's
    start action)."""
    sender = sender_id or event.get("sender_id")
    at = event_time(event)
    if not sender or at is None:
        return None
    sender = str(sender)
    kind = event.get("event")
    if kind == "session_started":
        return SessionStarted(sender, at)
    if kind == "user":
        text = event.get("text")
        if isinstance(text, str) and text.startswith(EXTERNAL_MESSAGE_PREFIX):
            return OtherEvent(sender, at)  # the server's own trigger, not the customer
        return _customer_message(sender, at, event)
    if kind == "action":
        name = event.get("name")
        if name == ACTION_SESSION_START:
            return None  # comes just before the next conversation's `session_started`: not part of the last one
        if not name or name == ACTION_LISTEN:
            return OtherEvent(sender, at)
        policy = event.get("policy")
        return ActionRun(
            sender,
            at,
            _short(name, 64) or "",
            _short(_POLICY_PREFIX.sub("", str(policy)), 128) if policy else None,
            name == CORE_FALLBACK_ACTION,
        )
    if kind == "bot":
        metadata = event.get("metadata") or {}
        return BotMessage(sender, at, isinstance(metadata, Mapping) and metadata.get("from") == AGENT)
    if kind == "pause":
        return HandedOff(sender, at)
    if kind == "slot":
        name, value = event.get("name"), event.get("value")
        if name == HANDOFF_SLOT and value:
            return HandedOff(sender, at)
        if name == SLOT_LABEL and value in POLARITIES:
            return SentimentSlot(sender, at, str(value), None)
        if name == SLOT_SCORE and _float(value) is not None:
            return SentimentSlot(sender, at, None, _float(value))
    return OtherEvent(sender, at)
