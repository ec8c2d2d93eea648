"""The dashboard's period as people give it: "7d", "2w", "48h" back from now, or calendar days (the last one included)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.insights.scope import FilterError, Filters

RELATIVE = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$", re.IGNORECASE)
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
DEFAULT_DAYS = 7


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(f"{what} must be a date (YYYY-MM-DD) or a span such as 7d, 2w or 48h, not {text!r}") from None


def start_of(text: str, now: datetime) -> datetime:
    """A period's start: a span back from `now` ("7d"), or a day's first moment."""
    found = RELATIVE.match(text)
    if found:
        amount = int(found.group(1))
        if amount < 1:
            raise FilterError("a span must be at least 1")
        return now - amount * UNITS[found.group(2).lower()]
    day = _date(text, "since")
    return datetime(day.year, day.month, day.day)


def end_of(text: str) -> datetime:
    """A period's end: the day after the given day (the day itself is included)."""
    day = _date(text, "until") + timedelta(days=1)
    return datetime(day.year, day.month, day.day)


def last_days(days: int, now: datetime) -> tuple[datetime, datetime]:
    """The last `days` calendar days, today included: what the console shows by default."""
    tomorrow = datetime(now.year, now.month, now.day) + timedelta(days=1)
    return tomorrow - timedelta(days=days), tomorrow


def filters_from(
    since: str | None,
    until: str | None,
    now: datetime,
    *,
    channel: str | None = None,
    segment: str | None = None,
    workflow: str | None = None,
) -> Filters:
    """Filters from text: `since` a span or a day (default: the last 7 days), `until` a day (default: now, or the
    end of today when `since` is a day); empty filters mean none."""
    if since:
        start = start_of(since, now)
        end = end_of(until) if until else (now if RELATIVE.match(since) else last_days(1, now)[1])
    elif until:
        end = end_of(until)
        start = end - timedelta(days=DEFAULT_DAYS)
    else:
        start, end = last_days(DEFAULT_DAYS, now)
    return Filters(
        start,
        end,
        channel=(channel or "").strip() or None,
        segment=(segment or "").strip() or None,
        workflow=(workflow or "").strip() or None,
    )
