"""`tandem insights backfill`: the history in Rasa's tracker store into the analytics tables.

Each conversation's events are read from the tracker store (`bot.db.rasa_tables`), cut into Rasa sessions at
`session_started`, and fed to the same code the live consumer runs (`bot.insights.store.ingest`). A session is
added whole, with every other new session of its sender, in one transaction, or not at all; a session that is
already there (its sender and start) is passed over, so a second run, or one after a crash, adds only what is
missing, and an earlier `--since` only the older sessions. Only events before the partition are the backfill's:
the live consumer counts the rest (bot/insights/store.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.db import rasa_tables
from bot.db.models import utcnow
from bot.db.session import unit_of_work
from bot.insights.events import BotMessage, CustomerMessage, HandedOff, event_time, interpret
from bot.insights.store import EMPTY, BatchResult, claim_partition, conversation_exists, ingest


@dataclass(frozen=True)
class TrackerSession:
    """One Rasa session of one sender, as the backfill adds it."""

    started_at: datetime
    events: tuple[Mapping[str, Any], ...]  # from its `session_started` on (one is made up when it had none)


@dataclass(frozen=True)
class BackfillReport:
    conversations: int  # senders read
    sessions_added: int
    sessions_present: int  # there already (an earlier run)
    events: BatchResult
    until: datetime  # the partition: later events are the live consumer's

    def line(self) -> str:
        return (
            f"{self.conversations} conversations read; {self.sessions_added} sessions added, "
            f"{self.sessions_present} already there; {self.events.counted} events counted "
            f"(events from {self.until:%Y-%m-%d %H:%M:%S} UTC on are the live consumer's)"
        )


def _meaningful(events: Sequence[Mapping[str, Any]], sender_id: str) -> bool:
    return any(isinstance(interpret(e, sender_id), CustomerMessage | BotMessage | HandedOff) for e in events)


def sessions(sender_id: str, events: Sequence[Mapping[str, Any]]) -> list[TrackerSession]:
    """`events` (one sender's, in stored order) cut at each `session_started`. Events before the first one (a
    tracker from before Rasa had sessions) are a session of their own from its first event, if they hold a
    message; a made-up `session_started` opens it, so that every run starts it at the same moment."""
    out: list[TrackerSession] = []
    current: list[Mapping[str, Any]] = []
    started: datetime | None = None

    def close() -> None:
        if started is not None:
            out.append(TrackerSession(started, tuple(current)))
        elif current and _meaningful(current, sender_id):
            first = next((e for e in current if event_time(e) is not None), None)
            at = event_time(first) if first is not None else None
            if first is not None and at is not None:
                opening = {"event": "session_started", "timestamp": first["timestamp"]}
                out.append(TrackerSession(at, (opening, *current)))

    for event in events:
        if event.get("event") == "session_started" and event_time(event) is not None:
            close()
            current, started = [event], event_time(event)
        else:
            current.append(event)
    close()
    return out


def backfill(
    database_url: str,
    tracker_url: str,
    *,
    since: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackfillReport:
    """Add the tracker store's sessions that started at or after `since` (naive UTC) and before the partition.

    Raises `DatabaseUnavailable` (what was committed stays: a second run adds the rest) and SQLAlchemyError when
    the tracker store cannot be read."""
    with unit_of_work(database_url) as session:
        until = claim_partition(session, utcnow(), live=False)
    since_ts = since.replace(tzinfo=UTC).timestamp() if since is not None else None
    senders = rasa_tables.tracker_senders(tracker_url, active_since=since_ts)
    added = present = 0
    totals = EMPTY
    for done, sender in enumerate(senders, start=1):
        found = sessions(sender, [e.event for e in rasa_tables.tracker_conversation(tracker_url, sender)])
        wanted = [s for s in found if s.started_at < until and (since is None or s.started_at >= since)]
        if wanted:
            with unit_of_work(database_url) as session:
                for conversation in wanted:
                    if conversation_exists(session, sender, conversation.started_at):
                        present += 1
                        continue
                    before = [
                        (sender, e)
                        for e in conversation.events
                        if (at := event_time(e)) is None or at < until  # the rest is the live consumer's
                    ]
                    totals += ingest(session, before, live=False)
                    added += 1
        if on_progress is not None:
            on_progress(done, len(senders))
    return BackfillReport(len(senders), added, present, totals, until)
