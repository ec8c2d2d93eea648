"""Who can sign in on the demo page.

The demo page only needs a customer's external id, name and email, so it talks to the shop's data
through this small protocol instead of the ORM (`bot/db`). `SqlCustomerDirectory` reads the
`customers` table with plain SQL, which keeps this module independent of the ORM models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Protocol, runtime_checkable

from sqlalchemy import create_engine, text

MAX_LIST_LIMIT = 100


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    name: str
    email: str

    def to_json(self) -> dict:
        return asdict(self)


@runtime_checkable
class CustomerDirectory(Protocol):
    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        """The first `limit` customers, ordered by external id."""

    def get(self, external_id: str) -> Optional[DemoCustomer]:
        """The customer with this external id, or None."""


class SqlCustomerDirectory:
    """Reads the `customers` table (columns external_id, name, email) of a SQLAlchemy database URL."""

    _LIST = text("SELECT external_id, name, email FROM customers ORDER BY external_id LIMIT :n")
    _GET = text("SELECT external_id, name, email FROM customers WHERE external_id = :external_id")

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url, future=True, pool_pre_ping=True)

    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        n = max(1, min(int(limit), MAX_LIST_LIMIT))
        with self._engine.connect() as conn:
            rows = conn.execute(self._LIST, {"n": n}).all()
        return [_row_to_customer(row) for row in rows]

    def get(self, external_id: str) -> Optional[DemoCustomer]:
        with self._engine.connect() as conn:
            row = conn.execute(self._GET, {"external_id": external_id}).first()
        return _row_to_customer(row) if row is not None else None

    def dispose(self) -> None:
        self._engine.dispose()


def _row_to_customer(row) -> DemoCustomer:
    external_id, name, email = row
    return DemoCustomer(external_id=str(external_id), name=str(name or ""), email=str(email or ""))
