"""Engines and sessions for a database URL (SQLite on a laptop, PostgreSQL in production).

Engines are cached per URL because an engine owns a connection pool: every call site that asks for the
same URL must share one pool instead of opening a new one per request.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

# SQLite stores Numeric as REAL. Money here has 2 decimals and is far below 2**53 cents, and SQLAlchemy
# rounds it back to Numeric(10, 2) scale, so the conversion is exact; the generic warning is noise.
warnings.filterwarnings(
    "ignore",
    message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal objects natively",
)


def is_sqlite(url: str | URL) -> bool:
    """True for any `sqlite` URL (the laptop default), whatever the driver."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str | URL) -> Path | None:
    """The file behind a SQLite URL, or None for in-memory databases and other backends."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):  # URI filenames (sqlite:///file:...?uri=true): leave them alone
        return None
    return Path(u.database)


def ensure_sqlite_dir(url: str | URL) -> None:
    """Create the folder of a SQLite file: SQLite creates the file but not its parent folders."""
    path = sqlite_file(url)
    if path is not None:
        path.expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _enable_sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    # SQLite ignores FOREIGN KEY clauses unless this is switched on for every connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@cache
def make_engine(url: str) -> Engine:
    """The shared engine for `url` (2.0-style, `future=True`), created on first use.

    SQLite: usable from the several threads of the Rasa/action servers (`check_same_thread=False`) and with
    foreign keys enforced like PostgreSQL. PostgreSQL: `pool_pre_ping` so connections dropped by a restart
    or an idle timeout are replaced instead of failing the next customer's request.
    """
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        kwargs: dict = {"connect_args": {"check_same_thread": False}}
        if sqlite_file(url) is None and not (make_url(url).database or "").startswith("file:"):
            # One shared connection, otherwise every pooled connection sees its own empty in-memory DB.
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, future=True, **kwargs)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


@cache
def session_factory(url: str) -> sessionmaker:
    """A cached `sessionmaker` bound to `make_engine(url)`.

    `expire_on_commit=False` so values read inside a `session_scope` stay readable after it commits.
    """
    return sessionmaker(bind=make_engine(url), future=True, expire_on_commit=False)


def dispose_engine(url: str) -> None:
    """Close the pooled connections of `url`'s engine (e.g. before dropping that database)."""
    make_engine(url).dispose()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.

    `url` defaults to the configured `TANDEM_DATABASE_URL` (`bot.settings`), so services and actions only
    pass a URL in tests or tools.
    """
    if url is None:
        from bot.settings import get_settings

        url = get_settings().database_url
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class DatabaseUnavailable(Exception):
    """The database failed (down, refused, a conflict it could not settle); nothing of the block was stored."""


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """`session_scope` for callers above the stores (actions, channels): any database failure arrives as
    `DatabaseUnavailable`, so they answer the customer without knowing SQLAlchemy."""
    try:
        with session_scope(url) as session:
            yield session
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(str(exc)) from exc
