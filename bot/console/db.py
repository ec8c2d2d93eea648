"""Running the (blocking) SQL of the stores from aiohttp handlers, off the event loop.

Any database failure arrives as `bot.db.session.DatabaseUnavailable`, so handlers and the error middleware
answer "try again" without knowing SQLAlchemy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db.session import DatabaseUnavailable, session_factory, unit_of_work

T = TypeVar("T")


def _scoped(url: str, work: Callable[[Session], T]) -> T:
    with unit_of_work(url) as session:
        return work(session)


def _unavailable_on_failure(work: Callable[[], T]) -> T:
    try:
        return work()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


async def run(url: str, work: Callable[[Session], T]) -> T:
    """`work(session)` in a thread, committed when it returns, rolled back when it raises."""
    return await asyncio.to_thread(_scoped, url, work)


class HeldTransaction:
    """A transaction kept open across an `await` (a call to Rasa), then committed or rolled back.

    For changes the database must only keep if Rasa took its part: write, call Rasa, then commit. Used as
    `async with HeldTransaction(url) as tx:`; anything not committed is rolled back on the way out.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.session: Session | None = None
        self._done = False

    async def __aenter__(self) -> HeldTransaction:
        self.session = session_factory(self.url)()
        return self

    async def run(self, work: Callable[[Session], T]) -> T:
        assert self.session is not None
        session = self.session
        return await asyncio.to_thread(_unavailable_on_failure, lambda: work(session))

    async def commit(self) -> None:
        assert self.session is not None
        await asyncio.to_thread(_unavailable_on_failure, self.session.commit)
        self._done = True

    async def rollback(self) -> None:
        assert self.session is not None
        await asyncio.to_thread(self.session.rollback)
        self._done = True

    async def __aexit__(self, *exc_info: object) -> None:
        session, self.session = self.session, None
        if session is None:
            return

        def finish() -> None:
            try:
                if not self._done:
                    session.rollback()
            finally:
                session.close()

        await asyncio.to_thread(finish)
