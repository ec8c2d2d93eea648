"""What several panels share: a count by key, a day's count or rate, and a panel's figures computed for the period
and, the same way, for the previous one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.insights.scope import Compared, Filters, share

P = TypeVar("P")


def compare(compute: Callable[[Session, Filters], P], session: Session, f: Filters) -> Compared[P]:
    return Compared(compute(session, f), compute(session, f.previous()))


def per_day(f: Filters, found: dict[date, tuple], width: int) -> list[tuple]:
    """One entry per day of the period, in order, with `found`'s `width` values or zeros."""
    return [(day, *found.get(day, (0,) * width)) for day in f.days()]


@dataclass(frozen=True)
class Count:
    key: str
    count: int


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class DayRate:
    day: date
    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        return share(self.part, self.whole)
