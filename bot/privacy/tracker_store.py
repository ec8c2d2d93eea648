"""Rasa's SQL tracker store (`events` table) read and cleared without Rasa: the events of given conversations.

Rasa's `SQLTrackerStore` keeps one row per event: `sender_id` (the conversation), `type_name`, `timestamp`
(Unix seconds), `intent_name`, `action_name` and `data` (the event as JSON). The table below mirrors the
columns read here (`bot.db.rasa_tables`, shared with the insights backfill); a database where Rasa never ran (no
`events` table) simply holds no conversations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.db.rasa_tables import absent, delete_broker_conversations, has_events
from bot.db.rasa_tables import tracker_events as events
from bot.db.session import make_engine

_CHUNK = 500  # ids per IN (...): far below every backend's limit on bound parameters


class TrackerStoreUnavailable(Exception):
    """The tracker store could not be read or changed; nothing was changed in it."""


@dataclass(frozen=True)
class TrackerEvent:
    conversation_id: str
    type_name: str
    timestamp: float | None
    data: str | None  # the event as Rasa stored it (JSON text)

    def as_json(self) -> dict[str, Any]:
        """The event for an export: Rasa's own JSON when it parses, else the stored text."""
        try:
            data = json.loads(self.data) if self.data else None
        except ValueError:
            data = self.data
        return {"type": self.type_name, "timestamp": self.timestamp, "event": data}


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _has_events(conn: Connection) -> bool:
    return has_events(conn)


def _absent(url: str) -> bool:
    """A SQLite tracker file that does not exist yet (Rasa never ran): nothing to read, and not created here."""
    return absent(url)


def conversation_events(url: str, conversation_ids: Iterable[str]) -> dict[str, list[TrackerEvent]]:
    """Each conversation's events in the order Rasa stored them; conversations without events are left out."""
    out: dict[str, list[TrackerEvent]] = {}
    if _absent(url):
        return out
    try:
        with make_engine(url).connect() as conn:
            if not _has_events(conn):
                return out
            for chunk in _chunks(conversation_ids):
                rows = conn.execute(
                    select(events.c.sender_id, events.c.type_name, events.c.timestamp, events.c.data)
                    .where(events.c.sender_id.in_(chunk))
                    .order_by(events.c.id)
                )
                for sender, type_name, timestamp, data in rows:
                    out.setdefault(sender, []).append(TrackerEvent(sender, type_name, timestamp, data))
    except SQLAlchemyError as exc:
        raise TrackerStoreUnavailable(str(exc)) from exc
    return out


def delete_conversations(url: str, conversation_ids: Sequence[str]) -> int:
    """Delete every event of these conversations, in one transaction; how many events went."""
    if not conversation_ids or _absent(url):
        return 0
    removed = 0
    try:
        with make_engine(url).begin() as conn:
            if not _has_events(conn):
                return 0
            for chunk in _chunks(conversation_ids):
                removed += conn.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount or 0
    except SQLAlchemyError as exc:
        raise TrackerStoreUnavailable(str(exc)) from exc
    return removed


def delete_broker_events(url: str, conversation_ids: Sequence[str]) -> int:
    """Delete these conversations' events from Rasa's SQL event broker table (those the insights consumer has not
    counted and deleted yet); how many went."""
    try:
        return delete_broker_conversations(url, sorted(set(conversation_ids)))
    except SQLAlchemyError as exc:
        raise TrackerStoreUnavailable(str(exc)) from exc


def conversations_idle_since(url: str, before: float) -> tuple[list[str], set[str]]:
    """(conversations whose last event is older than `before`, conversations with an event since then), by
    Unix time; one grouped scan of the table, which is why the scheduler runs it at most hourly."""
    if _absent(url):
        return [], set()
    try:
        with make_engine(url).connect() as conn:
            if not _has_events(conn):
                return [], set()
            last = func.max(events.c.timestamp)
            rows = conn.execute(select(events.c.sender_id, last).group_by(events.c.sender_id)).all()
    except SQLAlchemyError as exc:
        raise TrackerStoreUnavailable(str(exc)) from exc
    idle = sorted(sender for sender, at in rows if at is not None and at < before)
    active = {sender for sender, at in rows if at is None or at >= before}
    return idle, active
