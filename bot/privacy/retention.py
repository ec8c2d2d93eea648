"""Conversation retention (`TANDEM_CONVERSATION_RETENTION_DAYS`): conversations idle for longer are purged from
the tracker store, with who owned them and what was said in their closed handoffs.

`purge_idle_conversations` does it once (`tandem privacy purge`); `RetentionHook` is what the follow-up
scheduler calls every tick, and runs the purge at most once per `every` so the scheduler stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.db.models import utcnow
from bot.db.session import unit_of_work
from bot.privacy import erasure_store, tracker_store
from bot.privacy.config import DataLocations

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    conversations: int = 0
    tracker_events: int = 0
    ownership_rows: int = 0
    handoff_messages: int = 0

    def __str__(self) -> str:
        return (
            f"{self.conversations} conversations purged ({self.tracker_events} tracker events, "
            f"{self.ownership_rows} ownership rows, {self.handoff_messages} handoff messages)"
        )


def _unix(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=UTC).timestamp()


def purge_idle_conversations(
    older_than: timedelta, where: DataLocations | None = None, *, now: datetime | None = None
) -> PurgeReport:
    """Purge every conversation whose last event (or, without events, whose owner's last visit) is older than
    `older_than`. A conversation with any newer event is kept whole."""
    if older_than <= timedelta(0):
        raise ValueError("the retention period must be positive")
    where = where or DataLocations.from_settings()
    cutoff = (now or utcnow()) - older_than
    idle: list[str] = []
    active: set[str] = set()
    if where.tracker_url:
        idle, active = tracker_store.conversations_idle_since(where.tracker_url, _unix(cutoff))
    with unit_of_work(where.database_url) as session:
        quiet = set(erasure_store.idle_bound_conversations(session, cutoff)) - active
    expired = sorted(set(idle) | quiet)
    if not expired:
        return PurgeReport()
    events = tracker_store.delete_conversations(where.tracker_url, expired) if where.tracker_url else 0
    with unit_of_work(where.database_url) as session:
        rows = erasure_store.purge_conversation_rows(session, expired)
    return PurgeReport(len(expired), events, rows["chat_conversations"], rows["handoff_messages"])


class RetentionHook:
    """The scheduler's housekeeping: purge idle conversations at most once per `every`; failures are logged and
    retried at the next turn, never raised into the scheduler's pass."""

    def __init__(
        self,
        retention: timedelta,
        where: DataLocations,
        *,
        every: timedelta = timedelta(hours=1),
        purge: Callable[..., PurgeReport] = purge_idle_conversations,
    ) -> None:
        self.retention = retention
        self.where = where
        self.every = every
        self._purge = purge
        self._last_run: datetime | None = None

    def __call__(self, now: datetime) -> PurgeReport | None:
        if self._last_run is not None and now - self._last_run < self.every:
            return None
        self._last_run = now
        try:
            report = self._purge(self.retention, self.where, now=now)
        except Exception:
            log.exception("conversation retention purge failed; next try in %s", self.every)
            return None
        if report.conversations:
            log.info("retention: %s", report)
        return report


def hook_from_settings(database_url: str | None = None) -> RetentionHook | None:
    """The hook for the configured retention (on `database_url` if given), or None while
    `TANDEM_CONVERSATION_RETENTION_DAYS` is unset."""
    from bot.settings import get_settings

    days = get_settings().conversation_retention_days
    if days is None:
        return None
    where = DataLocations.from_settings()
    if database_url:
        where = replace(where, database_url=database_url)
    return RetentionHook(timedelta(days=days), where)
