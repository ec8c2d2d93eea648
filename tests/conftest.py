"""Shared database fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is part of the contract (production runs on it), so when it cannot be reached the PostgreSQL
variants fail with an explanation instead of being skipped.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

# Tests never touch the developer's .tandem/ state (database, signing secret).
_STATE = Path(__import__("tempfile").mkdtemp(prefix="tandem-tests-"))
os.environ.setdefault("TANDEM_STATE_DIR", str(_STATE))
os.environ.setdefault("TANDEM_SECRET_KEY", "tests-only-secret-key-that-is-long-enough-for-hs256")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
# The servers the tests start take every message from 127.0.0.1 (fuzzing, load, many customers): no rate limits.
# The limits' own tests (tests/unit/test_rate_limits.py, tests/console/test_login_limits.py) set theirs.
for _limit in ("TANDEM_RATE_PER_CUSTOMER", "TANDEM_RATE_PER_ADDRESS", "TANDEM_RATE_LOGIN_PER_ADDRESS"):
    os.environ.setdefault(_limit, "0")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the project is not installed into the virtualenv
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.db.migrate import upgrade  # noqa: E402
from bot.db.session import dispose_engine, session_factory, session_scope  # noqa: E402
from bot.shop.seed import seed_now, seed_shop  # noqa: E402

POSTGRES_SERVER_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")

# The small shop every read-only test shares.
SHOP_SEED = 7
SHOP_CUSTOMERS = 60
SHOP_ANCHOR = date(2026, 11, 1)


def pytest_configure(config: pytest.Config) -> None:
    # SQLite stores Numeric as REAL; bot.db.session explains why that is exact for our money columns.
    config.addinivalue_line(
        "filterwarnings", r"ignore:Dialect sqlite\+pysqlite does \*not\* support Decimal objects natively"
    )


@dataclass(frozen=True)
class ShopParams:
    """How `shop_db` was seeded; `now` is the generated shop's clock (anchor at 12:00 UTC)."""

    seed: int
    customers: int
    anchor: date
    now: datetime


@pytest.fixture(scope="session")
def shop() -> ShopParams:
    return ShopParams(SHOP_SEED, SHOP_CUSTOMERS, SHOP_ANCHOR, seed_now(SHOP_ANCHOR))


class DatabaseFactory:
    """Creates empty, migrated databases of one backend and removes them at the end of the session."""

    def __init__(self, backend: str, tmp_dir: Path) -> None:
        self.backend = backend
        self.tmp_dir = tmp_dir
        self.urls: list[str] = []
        self._admin = None
        if backend == "postgresql":
            self._admin = create_engine(POSTGRES_SERVER_URL, future=True, isolation_level="AUTOCOMMIT")
            error = None
            try:
                with self._admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except OperationalError as exc:
                self._admin.dispose()
                error = str(exc.orig).strip()
            if error is not None:  # outside the except block: no chained traceback, just the explanation
                pytest.fail(
                    f"PostgreSQL is not reachable at {make_url(POSTGRES_SERVER_URL).render_as_string()}: "
                    f"{error}\n"
                    "The database tests run on SQLite and PostgreSQL. Start the server, e.g.\n"
                    "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
                    "or point TANDEM_TEST_POSTGRES_URL at one (run only SQLite with -k sqlite).",
                    pytrace=False,
                )

    def create(self, *, migrate: bool = True) -> str:
        """A new empty database (at the latest schema unless `migrate=False`)."""
        name = f"tandem_test_{secrets.token_hex(6)}"
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp_dir / f'{name}.db'}"
        else:
            assert self._admin is not None
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
        self.urls.append(url)
        if migrate:
            upgrade(url)
        return url

    def close(self) -> None:
        for url in self.urls:
            dispose_engine(url)
            if self._admin is not None:
                name = make_url(url).database
                with self._admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def db_factory(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def db_url(db_factory: DatabaseFactory) -> str:
    """An empty database at the latest migration (one per backend for the whole run)."""
    return db_factory.create()


def seed_small_shop(url: str) -> None:
    with session_scope(url) as session:
        seed_shop(session, seed=SHOP_SEED, customers=SHOP_CUSTOMERS, anchor=SHOP_ANCHOR)


@pytest.fixture(scope="session")
def shop_db(db_factory: DatabaseFactory) -> str:
    """A database holding the small demo shop (seed 7, 60 customers, anchor 2026-11-01). Do not modify it:
    use `session` (rolled back) or `fresh_shop_db`."""
    url = db_factory.create()
    seed_small_shop(url)
    return url


@pytest.fixture
def fresh_shop_db(db_factory: DatabaseFactory) -> Iterator[str]:
    """A private copy of the small shop, for tests that commit changes. Its pooled connections are closed
    after the test (PostgreSQL allows 100 in all; a pool per test's database would run out)."""
    url = db_factory.create()
    seed_small_shop(url)
    yield url
    dispose_engine(url)


@pytest.fixture
def session(shop_db: str) -> Iterator[Session]:
    """A session on the shared shop; whatever the test changes is rolled back."""
    s = session_factory(shop_db)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()
