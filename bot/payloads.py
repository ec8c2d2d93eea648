"""Button payloads (`/intent{"entity": "value"}`): what the bot offered in a conversation, and whether a message is one.

Rasa takes any message that starts with `/` as an intent with entities, so a customer can type what a button sends.
A payload that carries values (a product, a journey, an order, a score) is accepted only when the bot offered it
in this conversation; a bare `/intent` is no more than saying it in words. Both the input channels
(`bot/channels/payloads.py`) and the actions that act on ids read the offers from the conversation's events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "/"  # Rasa's INTENT_MESSAGE_PREFIX
# How many of the newest bot messages count as "on offer": older ones have scrolled far out of sight.
OFFER_HORIZON = 200


@dataclass(frozen=True)
class Payload:
    """A payload as Rasa reads it: the intent and its entities (compared by value, not by spelling)."""

    intent: str
    entities: tuple[tuple[str, str], ...] = ()

    @property
    def carries_values(self) -> bool:
        return bool(self.entities)

    def value(self, entity: str) -> str | None:
        return next((v for k, v in self.entities if k == entity), None)


def is_payload(text: Any) -> bool:
    return isinstance(text, str) and text.lstrip().startswith(PREFIX)


def parse(text: Any) -> Payload | None:
    """The payload a message holds; None for ordinary text. Entities that are not a JSON object make the whole
    payload one that carries values (it can only match an offer spelled the same way)."""
    if not is_payload(text):
        return None
    body = text.strip()[len(PREFIX) :]
    intent, brace, rest = body.partition("{")
    intent = intent.split("@", 1)[0].strip()  # Rasa also reads `/intent@0.9` (a confidence)
    if not brace:
        return Payload(intent)
    try:
        entities = json.loads(brace + rest)
    except ValueError:
        return Payload(intent, (("", brace + rest),))
    if not isinstance(entities, dict):
        return Payload(intent, (("", brace + rest),))
    return Payload(intent, tuple(sorted((str(k), _canonical(v)) for k, v in entities.items())))


def _canonical(value: Any) -> str:
    """One spelling per value: `{"journey_id": 7}` and `{"journey_id": "7"}` offer the same thing."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return json.dumps(value, sort_keys=True)


def _payload_strings(data: Any) -> Iterable[str]:
    """Every string under a `payload` (or `*_payload`) key of a bot message: buttons, quick replies, product
    cards, rating prompts, whatever custom shape a response uses."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str) and (key == "payload" or str(key).endswith("_payload")):
                yield value
            else:
                yield from _payload_strings(value)
    elif isinstance(data, (list, tuple)):
        for item in data:
            yield from _payload_strings(item)


def offered(events: Iterable[Mapping[str, Any]], horizon: int = OFFER_HORIZON) -> frozenset[Payload]:
    """The payloads of the conversation's newest `horizon` bot messages (Rasa event dicts)."""
    bot_messages = [e for e in events if e.get("event") == "bot"][-horizon:]
    found: set[Payload] = set()
    for event in bot_messages:
        for text in _payload_strings([event.get("data"), event.get("metadata")]):
            payload = parse(text)
            if payload is not None:
                found.add(payload)
    return frozenset(found)


def needs_offer(text: Any) -> bool:
    """A message that may be taken only if the bot offered it: a payload that carries values."""
    payload = parse(text)
    return payload is not None and payload.carries_values


def was_offered(text: Any, events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a payload message is one the bot offered in this conversation (ordinary text always passes)."""
    payload = parse(text)
    if payload is None or not payload.carries_values:
        return True
    return payload in offered(events)


def offered_values(events: Iterable[Mapping[str, Any]], intent: str, entity: str) -> frozenset[str]:
    """The values of `entity` that the bot offered with `intent` (e.g. the journeys whose rating it asked for)."""
    return frozenset(v for p in offered(events) if p.intent == intent for v in (p.value(entity),) if v is not None)
