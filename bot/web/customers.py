"""Who can sign in on the demo page, and what there is to ask the assistant about each of them.

The demo page only needs a customer's external id, name and email, plus a few labels (an order on its way or
late, an open problem, a device) so that whoever tries the demo knows what to ask. It talks to the shop through
this small protocol (tests use an in-memory one); `SqlCustomerDirectory` asks the shop's and the journeys'
stores, one query per kind of label.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.db.session import dispose_engine, unit_of_work
from bot.journeys import store as journeys
from bot.shop import customer_facts
from bot.shop.customers import CustomerView, get_customer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_LIST_LIMIT = 100


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    name: str
    email: str
    hints: tuple[str, ...] = ()  # what there is to ask about: "order TD105918 is late", "owns Pixel 8"
    try_saying: str | None = None  # a first message that shows it off

    def to_json(self) -> dict:
        """Who is signed in, for the widget (the hints are for the picker only)."""
        return {"external_id": self.external_id, "name": self.name, "email": self.email}


@runtime_checkable
class CustomerDirectory(Protocol):
    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        """The first `limit` customers, ordered by external id, with their hints."""

    def get(self, external_id: str) -> DemoCustomer | None:
        """The customer with this external id, or None."""


@dataclass(frozen=True)
class _Facts:
    late: str | None = None  # order numbers
    on_its_way: str | None = None
    not_shipped: str | None = None
    problem: str | None = None  # a workflow id
    device: str | None = None  # a product name


def hints_for(facts: _Facts) -> tuple[tuple[str, ...], str | None]:
    """The labels shown beside a customer, and the first message worth trying (the most telling one)."""
    hints: list[str] = []
    tries: list[str] = []
    if facts.late:
        hints.append(f"order {facts.late} is late")
        tries.append(f"{facts.late} still hasn't arrived")
    if facts.on_its_way:
        hints.append(f"order {facts.on_its_way} on its way")
        tries.append(f"where is my order {facts.on_its_way}?")
    if facts.not_shipped:
        hints.append(f"order {facts.not_shipped} not shipped yet")
        tries.append(f"can I change the delivery address of {facts.not_shipped}?")
    if facts.problem:
        hints.append(f"open problem: {facts.problem.replace('_', ' ')}")
        tries.append("what issues do I have open?")
    if facts.device:
        hints.append(f"owns {facts.device}")
        tries.append(f"what goes well with my {facts.device}?")
    return tuple(hints), (tries[0] if tries else None)


class SqlCustomerDirectory:
    """The shop's customers, and for the hints their open orders, open journeys and devices (through the stores)."""

    def __init__(self, database_url: str, today: date | None = None) -> None:
        self.database_url = database_url
        self._today = today  # None: the real today (a fixed day for a shop seeded around another one)

    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        n = max(1, min(int(limit), MAX_LIST_LIMIT))
        with unit_of_work(self.database_url) as session:
            customers = customer_facts.first_customers(session, n)
            facts = self._facts(session, [c.external_id for c in customers])
        return [_customer(c, facts.get(c.external_id, _Facts())) for c in customers]

    def get(self, external_id: str) -> DemoCustomer | None:
        with unit_of_work(self.database_url) as session:
            customer = get_customer(session, external_id)
            if customer is None:
                return None
            facts = self._facts(session, [customer.external_id])
        return _customer(customer, facts.get(customer.external_id, _Facts()))

    def _facts(self, session: Session, customers: list[str]) -> dict[str, _Facts]:
        today = self._today or date.today()
        found: dict[str, dict[str, str]] = defaultdict(dict)
        for customer, number, status, eta in customer_facts.open_orders_of(session, customers):
            if eta is not None and _as_date(eta) < today:
                key = "late"
            else:
                key = "on_its_way" if status in ("shipped", "out_for_delivery") else "not_shipped"
            found[customer].setdefault(key, number)
        for customer, workflow in journeys.open_workflows_of(session, customers):
            found[customer].setdefault("problem", workflow)
        for customer, name in customer_facts.devices_of(session, customers):
            found[customer].setdefault("device", name)
        return {customer: _Facts(**values) for customer, values in found.items()}

    def dispose(self) -> None:
        """Close the pooled connections (the shop page is stopping)."""
        dispose_engine(self.database_url)


def _as_date(value: object) -> date:
    """SQLite hands dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _customer(customer: CustomerView, facts: _Facts) -> DemoCustomer:
    hints, try_saying = hints_for(facts)
    return DemoCustomer(
        external_id=customer.external_id,
        name=customer.name or "",
        email=customer.email or "",
        hints=hints,
        try_saying=try_saying,
    )
