"""Rasa's own tables read without Rasa: its SQL tracker store and its SQL event broker, both named `events`.

They live in databases of their own (the tracker store's, the event broker's), never in Tandem's: each table has
its own MetaData. The columns mirror what Rasa 3.6 creates (`rasa.core.tracker_store.SQLTrackerStore`,
`rasa.core.brokers.sql.SQLEventBroker`); a database where Rasa never ran (no `events` table) holds no events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select
from sqlalchemy.engine import Connection

from bot.db.session import make_engine, sqlite_file

# One row per tracker event: `data` is the event's JSON (Rasa's `Event.as_dict()`), `timestamp` Unix seconds.
tracker_events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# One row per published event, in publishing order: `data` is what a broker publishes (the event's JSON with
# `sender_id`).
broker_events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("data", Text),
)


@dataclass(frozen=True)
class RasaEvent:
    """One stored event: its row id (the table's order), its conversation and the event as Rasa wrote it."""

    id: int
    sender_id: str
    event: dict[str, Any]


def absent(url: str) -> bool:
    """A SQLite file that does not exist yet (Rasa never ran): nothing to read, and not created by reading."""
    path = sqlite_file(url)
    return path is not None and not path.exists()


def has_events(conn: Connection) -> bool:
    return inspect(conn).has_table("events")


def _parse(row_id: int, sender_id: str | None, data: str | None) -> RasaEvent | None:
    try:
        event = json.loads(data) if data else None
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    sender = sender_id or event.get("sender_id")
    if not sender:
        return None
    return RasaEvent(row_id, str(sender), event)


def broker_events_after(url: str, after_id: int, limit: int) -> tuple[list[RasaEvent], int]:
    """The event broker's next rows after `after_id`, oldest first, and the id of the last row read (rows that do
    not hold an event, which no reader can use, are passed over but still move the position on)."""
    if absent(url):
        return [], after_id
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return [], after_id
        rows = conn.execute(
            select(broker_events.c.id, broker_events.c.sender_id, broker_events.c.data)
            .where(broker_events.c.id > after_id)
            .order_by(broker_events.c.id)
            .limit(limit)
        ).all()
    last = rows[-1][0] if rows else after_id
    return [e for e in (_parse(*row) for row in rows) if e is not None], last


def broker_last_id(url: str) -> int:
    """The newest row of the event broker's table (0: none), for the consumer's lag."""
    if absent(url):
        return 0
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return 0
        return conn.execute(select(func.coalesce(func.max(broker_events.c.id), 0))).scalar_one()


def forget_broker_events_through(url: str, last_id: int) -> int:
    """Delete the event broker's rows up to `last_id`, once they are counted: the table is a hand-over, and holds
    what customers wrote. How many went."""
    if absent(url):
        return 0
    with make_engine(url).begin() as conn:
        if not has_events(conn):
            return 0
        return conn.execute(delete(broker_events).where(broker_events.c.id <= last_id)).rowcount or 0


def delete_broker_conversations(url: str, sender_ids: list[str]) -> int:
    """Delete these conversations' rows not yet counted from the event broker's table (an erasure); how many."""
    if not sender_ids or absent(url):
        return 0
    removed = 0
    with make_engine(url).begin() as conn:
        if not has_events(conn):
            return 0
        for start in range(0, len(sender_ids), 500):
            chunk = sender_ids[start : start + 500]
            removed += conn.execute(delete(broker_events).where(broker_events.c.sender_id.in_(chunk))).rowcount or 0
    return removed


def tracker_senders(url: str, active_since: float | None = None) -> list[str]:
    """Conversations in the tracker store (those with an event at or after `active_since`, Unix seconds)."""
    if absent(url):
        return []
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return []
        query = select(tracker_events.c.sender_id).group_by(tracker_events.c.sender_id)
        if active_since is not None:
            query = query.having(func.max(tracker_events.c.timestamp) >= active_since)
        return sorted(conn.execute(query).scalars())


def tracker_conversation(url: str, sender_id: str) -> list[RasaEvent]:
    """One conversation's events in the order Rasa stored them."""
    if absent(url):
        return []
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return []
        rows = conn.execute(
            select(tracker_events.c.id, tracker_events.c.sender_id, tracker_events.c.data)
            .where(tracker_events.c.sender_id == sender_id)
            .order_by(tracker_events.c.id)
        ).all()
    return [e for e in (_parse(*row) for row in rows) if e is not None]


@dataclass(frozen=True)
class TrackerRow:
    """One row of the tracker store in table order: its id, its time (Unix seconds) and its event (None: unreadable)."""

    id: int
    timestamp: float | None
    event: RasaEvent | None


def tracker_rows_after(url: str, after_id: int, limit: int) -> list[TrackerRow]:
    """The tracker store's next rows after `after_id`, across conversations, oldest first."""
    if absent(url):
        return []
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return []
        rows = conn.execute(
            select(tracker_events.c.id, tracker_events.c.sender_id, tracker_events.c.data, tracker_events.c.timestamp)
            .where(tracker_events.c.id > after_id)
            .order_by(tracker_events.c.id)
            .limit(limit)
        ).all()
    return [TrackerRow(row_id, ts, _parse(row_id, sender, data)) for row_id, sender, data, ts in rows]


def tracker_position_at(url: str, since: float) -> int:
    """The id just before the tracker store's first row at or after `since` (Unix seconds): where a reader that
    wants the rows from then on starts. The newest id when none is that recent; 0 for an empty store."""
    if absent(url):
        return 0
    with make_engine(url).connect() as conn:
        if not has_events(conn):
            return 0
        first = conn.execute(select(func.min(tracker_events.c.id)).where(tracker_events.c.timestamp >= since)).scalar()
        if first is not None:
            return int(first) - 1
        return int(conn.execute(select(func.coalesce(func.max(tracker_events.c.id), 0))).scalar_one())
