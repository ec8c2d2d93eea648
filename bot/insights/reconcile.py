"""The tracker store's events that no RabbitMQ delivery brought, counted late: what Rasa stored but never published.

Rasa's Pika broker publishes a turn's events from a background task once the tracker is saved, and drops them when
RabbitMQ is away: a Rasa process killed in between, or a broker restarting, leaves events in the tracker store that
the queue never gets (the chaos runs found two in about 440 messages). So the consumer also reads the tracker
store's rows in table order, from the partition on (bot.insights.store), once they have settled (older than
`settle_seconds`, time for their delivery to arrive) and counts those whose key it has not seen: the keys are the queue's (`bot.insights.events.event_key`), so
an event is counted once whichever copy comes first. How far it has read is stored with what it counted.

What it cannot mend: a missing customer message counted after the bot's answer to it was counted leaves that turn
without its answer time (the counts are right, one response time is missing).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC
from itertools import takewhile

from sqlalchemy.exc import SQLAlchemyError

from bot.db import rasa_tables
from bot.db.session import DatabaseUnavailable, unit_of_work
from bot.insights.store import EMPTY, BatchResult, ingest, offset, partition, set_offset

log = logging.getLogger(__name__)

SOURCE = "reconcile:tracker"  # InsightOffset.source: the tracker store's last row read


@dataclass(frozen=True)
class ReconcileSettings:
    every_seconds: float = 60.0  # how often the consumer looks (0: never)
    settle_seconds: float = 60.0  # rows younger than this are left to the queue
    batch_size: int = 500


def reconcile(
    database_url: str, tracker_url: str, settings: ReconcileSettings, *, now: float | None = None
) -> BatchResult:
    """Count the settled tracker rows after the stored position; returns what was counted (duplicates: the queue's
    copy came first). Raises `DatabaseUnavailable` or SQLAlchemyError (what was committed stays)."""
    settled_before = (time.time() if now is None else now) - settings.settle_seconds
    with unit_of_work(database_url) as session:
        position = offset(session, SOURCE)
        if position == 0:  # a first run: from the partition on (what came before is the backfill's)
            since = partition(session)
            if since is None:  # no live event counted yet: nothing can have been missed
                return EMPTY
            position = rasa_tables.tracker_position_at(tracker_url, since.replace(tzinfo=UTC).timestamp())
            set_offset(session, SOURCE, position)
    total = EMPTY
    while True:
        rows = rasa_tables.tracker_rows_after(tracker_url, position, settings.batch_size)
        settled = list(takewhile(lambda r: r.timestamp is None or r.timestamp < settled_before, rows))
        if not settled:
            return total
        events = [(r.event.sender_id, r.event.event) for r in settled if r.event is not None]
        position = settled[-1].id
        with unit_of_work(database_url) as session:
            total += ingest(session, events, live=True, dedupe=True)
            set_offset(session, SOURCE, position)
        if len(settled) < settings.batch_size:
            return total


class ReconcileSchedule:
    """Runs `reconcile` every `every_seconds` between the consumer's batches, the first time once the queue had that
    long to deliver what it holds; a failure waits for the next turn (nothing is lost by waiting)."""

    def __init__(self, tracker_url: str, settings: ReconcileSettings) -> None:
        self.tracker_url = tracker_url
        self.settings = settings
        self.due = time.monotonic() + settings.every_seconds
        self.total = EMPTY

    @property
    def enabled(self) -> bool:
        return bool(self.tracker_url) and self.settings.every_seconds > 0

    def run(self, database_url: str, *, now: bool = False) -> BatchResult | None:
        """Reconcile if due (or `now`); what it counted, None when it did not run or failed."""
        if not self.enabled or (not now and time.monotonic() < self.due):
            return None
        self.due = time.monotonic() + self.settings.every_seconds
        try:
            result = reconcile(database_url, self.tracker_url, self.settings)
        except (DatabaseUnavailable, SQLAlchemyError, OSError) as exc:
            log.warning("insights: could not compare with the tracker store: %s: %.200s", type(exc).__name__, exc)
            return None
        self.total += result
        if result.counted:
            log.warning("insights: counted %d events Rasa stored but never published to the queue", result.counted)
        return result
