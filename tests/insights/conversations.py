"""Conversations made of Rasa's own event objects, as its brokers publish them, with figures counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

T0 = datetime(2026, 11, 2, 10, 0, 0)  # naive UTC, as the tables store it


def ts(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def user(
    seconds: float,
    text: str,
    intent: str,
    confidence: float,
    *,
    ranking: list[tuple[str, float]] | None = None,
    entities: list[str] = (),  # type: ignore[assignment]
    sentiment: tuple[str, float] | None = None,
    customer: str | None = None,
    channel: str = "tandem",
    base: datetime = T0,
) -> UserUttered:
    parse: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [(intent, confidence)])],
        "entities": [{"entity": e, "value": "x", "start": 0, "end": 1} for e in entities],
    }
    if sentiment:
        label, score = sentiment
        parse["sentiment"] = {"label": label, "score": score, "confidence": 0.9, "probabilities": {}}
    return UserUttered(
        text,
        parse["intent"],
        parse["entities"],
        parse,
        timestamp=ts(at(seconds, base)),
        input_channel=channel,
        metadata={"customer_id": customer} if customer else {},
    )


def action(seconds: float, name: str, policy: str | None = None, base: datetime = T0) -> ActionExecuted:
    return ActionExecuted(name, policy, 0.99 if policy else None, timestamp=ts(at(seconds, base)))


def bot(seconds: float, text: str, *, agent: bool = False, base: datetime = T0) -> BotUttered:
    metadata = {"from": "agent", "agent_name": "Sam"} if agent else {}
    return BotUttered(text, {}, metadata, timestamp=ts(at(seconds, base)))


def session_start(seconds: float, base: datetime = T0) -> list[Event]:
    """What Rasa 3.6 stores when a session starts: its start action, the start itself, then listening."""
    return [
        action(seconds, "action_session_start", base=base),
        SessionStarted(timestamp=ts(at(seconds + 0.001, base))),
        action(seconds + 0.002, "action_listen", base=base),
    ]


def published(sender: str, events: list[Event]) -> list[dict[str, Any]]:
    """The bodies Rasa's brokers publish: the event's JSON with the sender."""
    return [{"sender_id": sender, **e.as_dict()} for e in events]


def first_conversation(customer: str) -> list[Event]:
    """A verified customer: an answered question, a fallback, a request for a person, two agent replies, thanks."""
    return [
        *session_start(0),
        user(
            1,
            "where is my order TD100001",
            "order_status",
            0.9,
            ranking=[("order_status", 0.9), ("track_parcel", 0.05)],
            entities=["order_id"],
            sentiment=("neutral", 0.0),
            customer=customer,
        ),
        action(1.2, "action_order_status", "policy_5_RulePolicy"),
        bot(1.5, "It's on its way"),
        action(1.6, "action_listen", "policy_5_RulePolicy"),
        user(
            10,
            "this is useless",
            "nlu_fallback",
            0.45,
            ranking=[("nlu_fallback", 0.45), ("complaint", 0.4), ("greet", 0.1)],
            sentiment=("negative", -0.7),
            customer=customer,
        ),
        action(10.3, "action_handle_fallback", "policy_5_RulePolicy"),
        bot(10.5, "Sorry, could you say that another way?"),
        action(10.6, "action_listen", "policy_5_RulePolicy"),
        user(20, "I want a person", "ask_human", 0.95, sentiment=("negative", -0.9), customer=customer),
        action(20.2, "action_request_human", "policy_6_TEDPolicy"),
        SlotSet("handoff_reason", "asked", timestamp=ts(at(20.3))),
        bot(20.4, "A person will be with you shortly"),
        ConversationPaused(timestamp=ts(at(20.5))),
        bot(60, "Hi, I'm Sam", agent=True),
        bot(70, "Here is your tracking link", agent=True),
        user(80, "thanks!", "thank", 0.99, sentiment=("positive", 0.8), customer=customer),
    ]


SECOND_START = T0 + timedelta(hours=2)


def second_conversation() -> list[Event]:
    """The same sender two hours later: a message no policy knew what to do with (Rasa's core fallback)."""
    return [
        *session_start(0, SECOND_START),
        user(1, "zzz qqq", "greet", 0.31, sentiment=("neutral", 0.1), base=SECOND_START),
        action(1.1, "action_default_fallback", "policy_5_RulePolicy", base=SECOND_START),
        bot(1.2, "Sorry, I didn't get that", base=SECOND_START),
        action(1.3, "action_listen", "policy_5_RulePolicy", base=SECOND_START),
    ]


def button_conversation() -> list[Event]:
    """A button press: no sentiment in the parse data, the sentiment slots set in its turn instead."""
    return [
        *session_start(0),
        user(5, "/affirm", "affirm", 1.0),
        SlotSet("sentiment", "positive", timestamp=ts(at(5.1))),
        SlotSet("sentiment_score", 0.5, timestamp=ts(at(5.2))),
        action(5.3, "utter_happy", "policy_1_MemoizationPolicy"),
        bot(5.4, "Great!"),
    ]
