"""What the follow-up scheduler runs for privacy at the end of each pass: the overdue requests' hourly warning
always, and the conversation retention purge when `TANDEM_CONVERSATION_RETENTION_DAYS` is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.privacy.deadlines import OverdueCheck
from bot.privacy.retention import RetentionHook, hook_from_settings


@dataclass
class PrivacyHousekeeping:
    """Both hooks keep themselves cheap (each runs at most hourly) and log their own failures."""

    overdue: OverdueCheck
    retention: RetentionHook | None = None

    def __call__(self, now: datetime) -> None:
        if self.retention is not None:
            self.retention(now)
        self.overdue(now)


def housekeeping_from_settings(database_url: str | None = None) -> PrivacyHousekeeping:
    """The hooks for the configured database (or `database_url`) and retention."""
    from bot.settings import get_settings

    url = database_url or get_settings().database_url
    return PrivacyHousekeeping(OverdueCheck(url), hook_from_settings(database_url))
