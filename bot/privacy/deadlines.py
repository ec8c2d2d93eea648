"""Privacy requests past their due date, made visible: `OverdueCheck` is the follow-up scheduler's hourly warning
that lists them (the console flags them too, and `tandem privacy requests` exits 1 while any is overdue)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.db.session import unit_of_work
from bot.privacy import requests as privacy_requests
from bot.privacy.requests import PrivacyRequestView

log = logging.getLogger(__name__)


def describe(view: PrivacyRequestView) -> str:
    """One request for a log line or the CLI: reference, kind and due date, nothing about the customer."""
    return f"{view.reference} ({view.kind}, due {view.due_at:%Y-%m-%d %H:%M} UTC)"


def overdue_requests(database_url: str, now: datetime) -> list[PrivacyRequestView]:
    """The pending requests whose due date has passed at `now`, the oldest due first."""
    with unit_of_work(database_url) as session:
        return privacy_requests.pending_requests(session, overdue_at=now)


class OverdueCheck:
    """The scheduler's housekeeping: at most once per `every`, one warning listing the overdue requests; a
    failure is logged and retried at the next turn, never raised into the scheduler's pass."""

    def __init__(self, database_url: str, *, every: timedelta = timedelta(hours=1)) -> None:
        self.database_url = database_url
        self.every = every
        self._last_run: datetime | None = None

    def __call__(self, now: datetime) -> list[PrivacyRequestView] | None:
        """The overdue requests (and the warning) when it is time to look, else None."""
        if self._last_run is not None and now - self._last_run < self.every:
            return None
        self._last_run = now
        try:
            overdue = overdue_requests(self.database_url, now)
        except Exception:
            log.exception("could not check privacy requests' due dates; next try in %s", self.every)
            return None
        if overdue:
            log.warning(
                "%d privacy request(s) overdue, carry them out in the console (Privacy requests): %s",
                len(overdue),
                "; ".join(describe(v) for v in overdue),
            )
        return overdue
