"""What differs between the two databases and the stores share: the INSERT that takes ON CONFLICT (an upsert)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_insert(session: Session, table: Any) -> Any:
    """The database's own INSERT of `table` (a model or a Table), which has `on_conflict_do_nothing/_update`."""
    name = session.get_bind().dialect.name
    if name not in _DIALECT_INSERTS:
        raise NotImplementedError(f"only SQLite and PostgreSQL are supported, not {name}")
    return _DIALECT_INSERTS[name](table)
