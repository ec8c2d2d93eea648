"""Who can sign in on the demo page, and what there is to ask the assistant about each of them.

The demo page only needs a customer's external id, name and email, plus a few labels (an order on its way or
late, an open problem, a device) so that whoever tries the demo knows what to ask. It talks to the shop's data
through this small protocol instead of the ORM (`bot/db`): `SqlCustomerDirectory` reads the shop's tables with
plain SQL, which keeps this module independent of the ORM models.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from sqlalchemy import bindparam, create_engine, text

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


# Same values as bot.db.models (tests/web/test_shop_site.py checks they agree).
OPEN_ORDER_STATUSES = ("placed", "processing", "shipped", "out_for_delivery")
OPEN_JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated")


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
    """Reads `customers`, and for the hints `orders`, `journeys`, `customer_devices` and `products`."""

    _LIST = text("SELECT id, external_id, name, email FROM customers ORDER BY external_id LIMIT :n")
    _GET = text("SELECT id, external_id, name, email FROM customers WHERE external_id = :external_id")
    _ORDERS = text(
        "SELECT customer_id, order_number, status, estimated_delivery FROM orders"
        " WHERE customer_id IN :ids AND status IN :statuses ORDER BY placed_at DESC"
    ).bindparams(bindparam("ids", expanding=True), bindparam("statuses", expanding=True))
    _JOURNEYS = text(
        "SELECT customer_id, workflow FROM journeys WHERE customer_id IN :ids AND state IN :states"
        " ORDER BY updated_at DESC"
    ).bindparams(bindparam("ids", expanding=True), bindparam("states", expanding=True))
    _DEVICES = text(
        "SELECT d.customer_id, p.name FROM customer_devices d JOIN products p ON p.id = d.product_id"
        " WHERE d.customer_id IN :ids ORDER BY d.acquired_at DESC"
    ).bindparams(bindparam("ids", expanding=True))

    def __init__(self, database_url: str, today: date | None = None) -> None:
        self._engine = create_engine(database_url, future=True, pool_pre_ping=True)
        self._today = today  # None: the real today (a fixed day for a shop seeded around another one)

    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        n = max(1, min(int(limit), MAX_LIST_LIMIT))
        with self._engine.connect() as conn:
            rows = conn.execute(self._LIST, {"n": n}).all()
            facts = self._facts(conn, [row[0] for row in rows])
        return [_customer(row, facts.get(row[0], _Facts())) for row in rows]

    def get(self, external_id: str) -> DemoCustomer | None:
        with self._engine.connect() as conn:
            row = conn.execute(self._GET, {"external_id": external_id}).first()
            if row is None:
                return None
            facts = self._facts(conn, [row[0]])
        return _customer(row, facts.get(row[0], _Facts()))

    def _facts(self, conn, ids: list[int]) -> dict[int, _Facts]:  # noqa: ANN001
        if not ids:
            return {}
        today = self._today or date.today()
        found: dict[int, dict[str, str]] = defaultdict(dict)
        for customer_id, number, status, eta in conn.execute(
            self._ORDERS, {"ids": ids, "statuses": list(OPEN_ORDER_STATUSES)}
        ):
            if eta is not None and _as_date(eta) < today:
                key = "late"
            else:
                key = "on_its_way" if status in ("shipped", "out_for_delivery") else "not_shipped"
            found[customer_id].setdefault(key, number)
        for customer_id, workflow in conn.execute(self._JOURNEYS, {"ids": ids, "states": list(OPEN_JOURNEY_STATES)}):
            found[customer_id].setdefault("problem", workflow)
        for customer_id, name in conn.execute(self._DEVICES, {"ids": ids}):
            found[customer_id].setdefault("device", name)
        return {customer_id: _Facts(**values) for customer_id, values in found.items()}

    def dispose(self) -> None:
        self._engine.dispose()


def _as_date(value: object) -> date:
    """SQLite hands dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _customer(row: Iterable, facts: _Facts) -> DemoCustomer:
    _, external_id, name, email = row
    hints, try_saying = hints_for(facts)
    return DemoCustomer(
        external_id=str(external_id), name=str(name or ""), email=str(email or ""), hints=hints, try_saying=try_saying
    )
