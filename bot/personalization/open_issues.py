"""Does the customer have an open problem? Promotions wait until it is solved.

The issue journeys answer it for real (`bot.journeys.open_issues.JourneyOpenIssues`, what the action server
uses); the stand-ins below serve tests and tools at exactly this boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.orm import Session


class OpenIssues(Protocol):
    def has_open_issue(self, session: Session, customer_id: int) -> bool:
        """True while the customer (database id) has an unresolved issue journey."""


class NoOpenIssues:
    """Stand-in for tools without journeys: nobody has an open issue."""

    def has_open_issue(self, session: Session, customer_id: int) -> bool:
        return False


class StaticOpenIssues:
    """Stand-in with a fixed set of customers who have an open issue (tests, demos)."""

    def __init__(self, customer_ids: Iterable[int]) -> None:
        self._ids = frozenset(customer_ids)

    def has_open_issue(self, session: Session, customer_id: int) -> bool:
        return customer_id in self._ids
