"""What every table shares: the declarative base with its constraint naming convention, money, ids, UTC time.

Conventions, so that both SQLite (laptop) and PostgreSQL (production) behave the same:
- datetimes are timezone-naive and always UTC (`utcnow()`); dates (`estimated_delivery`) are calendar dates;
- money is `Numeric(10, 2)` (Decimal in Python, never float);
- constraint names follow a fixed naming convention, so Alembic batch migrations on SQLite can find them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer, MetaData, Numeric
from sqlalchemy.orm import declarative_base

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

MONEY = Numeric(10, 2)

# 64-bit ids on PostgreSQL (behaviour grows without bound); SQLite's autoincrement needs plain INTEGER.
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Current UTC time as a naive datetime: the one representation stored in every DateTime column."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(values: tuple[str, ...]) -> str:
    """The SQL list of a CHECK (column IN (...)) constraint."""
    return ", ".join(f"'{v}'" for v in values)
