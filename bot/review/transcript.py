"""A conversation's transcript for the review: each customer message with its NLU (intent and confidence, entities,
sentiment), each action the bot ran with the policy that chose it, and what the bot and agents said, personal data
replaced (bot.review.redact) before anything leaves this module.

The source is Rasa's tracker store (bot.db.rasa_tables), the conversation's session of the sender's events; when the
tracker store no longer holds them (another database, an erasure, a store that was reset) the analytics turns
(`insight_turns`: each message with its intent, entity names, sentiment and the first action that answered it) stand
in, and the transcript says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import rasa_tables
from bot.db.models import InsightTurn
from bot.insights.events import ActionRun, BotMessage, CustomerMessage, SessionStarted, interpret
from bot.review.conversations import conversation_row
from bot.review.redact import Placeholder, Redactor, default_redactor

TRACKER, TURNS = "tracker", "turns"
HIDDEN_ACTIONS = ("action_listen", "action_session_start")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str | None  # redacted; None when only the name is known (the analytics turns keep names)


@dataclass(frozen=True)
class Line:
    """One step of the conversation: `kind` is "user", "action", "bot" (the bot said) or "agent" (a person said)."""

    index: int
    kind: str
    at: datetime | None
    text: str | None = None  # redacted
    placeholders: tuple[Placeholder, ...] = ()
    intent: str | None = None
    confidence: float | None = None
    entities: tuple[Entity, ...] = ()
    sentiment: float | None = None
    sentiment_label: str | None = None
    action: str | None = None
    policy: str | None = None
    action_confidence: float | None = None


@dataclass(frozen=True)
class Transcript:
    conversation_id: int
    sender_id: str
    channel: str | None
    started_at: datetime
    source: str  # TRACKER or TURNS
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def user_lines(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.kind == "user")


def _sessions(events: Sequence[rasa_tables.RasaEvent], sender: str) -> list[tuple[datetime | None, list[Mapping]]]:
    """The sender's events cut into Rasa sessions at each `session_started` (the start action in between dropped)."""
    sessions: list[tuple[datetime | None, list[Mapping]]] = [(None, [])]
    for stored in events:
        update = interpret(stored.event, sender)
        if isinstance(update, SessionStarted):
            sessions.append((update.at, []))
            continue
        if update is None:
            continue
        start, found = sessions[-1]
        if start is None:
            sessions[-1] = (update.at, found)
        found.append(stored.event)
    return [s for s in sessions if s[1]]


def _session_of(events: Sequence[rasa_tables.RasaEvent], sender: str, started_at: datetime) -> list[Mapping]:
    """The session that began closest to the conversation's start (the analytics row's `started_at`)."""
    sessions = _sessions(events, sender)
    if not sessions:
        return []
    return min(sessions, key=lambda s: abs(((s[0] or started_at) - started_at).total_seconds()))[1]


def _redacted(redactor: Redactor, text: Any, names: Iterable[str]) -> tuple[str | None, tuple[Placeholder, ...]]:
    if not isinstance(text, str) or not text.strip():
        return None, ()
    done = redactor.redact(text, names=names).truncated(MAX_TEXT)
    return done.text, done.placeholders


def _entities(redactor: Redactor, event: Mapping, names: Iterable[str]) -> tuple[Entity, ...]:
    parse = event.get("parse_data")
    items = parse.get("entities") if isinstance(parse, Mapping) else None
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("entity"):
            value = item.get("value")
            shown = redactor.redact(str(value), names=names).text if value not in (None, "") else None
            found.append(Entity(str(item["entity"])[:64], shown))
    return tuple(found)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _from_tracker(events: Sequence[Mapping], sender: str, redactor: Redactor, names: tuple[str, ...]) -> list[Line]:
    lines: list[Line] = []
    for event in events:
        update = interpret(event, sender)
        n = len(lines)
        if isinstance(update, CustomerMessage):
            text, placeholders = _redacted(redactor, event.get("text"), names)
            parse = event.get("parse_data")
            intent = parse.get("intent") if isinstance(parse, Mapping) else None
            lines.append(
                Line(
                    n,
                    "user",
                    update.at,
                    text,
                    placeholders,
                    intent=update.intent,
                    confidence=_float(intent.get("confidence")) if isinstance(intent, Mapping) else None,
                    entities=_entities(redactor, event, names),
                    sentiment=update.sentiment,
                    sentiment_label=update.sentiment_label,
                )
            )
        elif isinstance(update, ActionRun) and update.action not in HIDDEN_ACTIONS:
            lines.append(
                Line(
                    n,
                    "action",
                    update.at,
                    action=update.action,
                    policy=update.policy,
                    action_confidence=_float(event.get("confidence")),
                )
            )
        elif isinstance(update, BotMessage):
            text, placeholders = _redacted(redactor, event.get("text"), names)
            metadata = event.get("metadata") or {}
            utter = metadata.get("utter_action") if isinstance(metadata, Mapping) else None
            if text is None and not utter:
                continue  # buttons or an image alone: nothing to read
            kind = "agent" if update.from_agent else "bot"
            lines.append(Line(n, kind, update.at, text, placeholders, action=str(utter) if utter else None))
    return lines


def _from_turns(session: Session, conversation_id: int, redactor: Redactor, names: tuple[str, ...]) -> list[Line]:
    lines: list[Line] = []
    turns = session.execute(
        select(InsightTurn)
        .where(InsightTurn.conversation_id == conversation_id)
        .order_by(InsightTurn.at, InsightTurn.id)
    ).scalars()
    for turn in turns:
        text, placeholders = _redacted(redactor, turn.text, names)
        entities = tuple(Entity(str(name), None) for name in turn.entities or [])
        lines.append(
            Line(
                len(lines),
                "user",
                turn.at,
                text,
                placeholders,
                intent=turn.intent,
                confidence=turn.confidence,
                entities=entities,
                sentiment=turn.sentiment,
                sentiment_label=turn.sentiment_label,
            )
        )
        if turn.action:
            lines.append(Line(len(lines), "action", turn.answered_at, action=turn.action, policy=turn.policy))
    return lines


def transcript(
    session: Session, conversation_id: int, tracker_url: str, *, redactor: Redactor | None = None
) -> Transcript:
    """The conversation's transcript, redacted; NoSuchConversation when there is none."""
    conv, name = conversation_row(session, conversation_id)
    redactor = redactor or default_redactor()
    names = (name,) if name else ()
    events = rasa_tables.tracker_conversation(tracker_url, conv.sender_id) if tracker_url else []
    lines = _from_tracker(_session_of(events, conv.sender_id, conv.started_at), conv.sender_id, redactor, names)
    source = TRACKER
    if not any(line.kind == "user" for line in lines):
        lines, source = _from_turns(session, conv.id, redactor, names), TURNS
    return Transcript(conv.id, conv.sender_id, conv.channel, conv.started_at, source, tuple(lines))
