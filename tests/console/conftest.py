"""The console tests: `async def` tests run in a fresh event loop each (no plugin needed)."""

from __future__ import annotations

import asyncio
import inspect

import pytest

ASYNC_TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT))
    return True


# Tables the console tests write to, children first (each test starts without rows in them; the small shop's
# seed writes none of them).
_CONSOLE_TABLES = (
    "behaviour_events",
    "customer_segments",
    "journey_csat",
    "journey_follow_ups",
    "journey_steps",
    "journeys",
    "handoff_messages",
    "handoffs",
    "chat_conversations",
    "agent_sessions",
    "agents",
)


@pytest.fixture(scope="module")
def _module_shop(db_factory):
    from bot.db.session import dispose_engine
    from tests.conftest import seed_small_shop

    url = db_factory.create()
    seed_small_shop(url)
    yield url
    dispose_engine(url)  # PostgreSQL's connections are few: no pool outlives its module


@pytest.fixture
def console_db(_module_shop: str) -> str:
    """The small demo shop with no agents, handoffs or journeys: a fresh start for each test, at the cost of a
    few DELETEs instead of a new database. (Tests that change the shop itself use `fresh_shop_db`.)"""
    from sqlalchemy import text

    from bot.db.session import session_scope

    with session_scope(_module_shop) as session:
        for table in _CONSOLE_TABLES:
            session.execute(text(f"DELETE FROM {table}"))
    return _module_shop
