"""Running the (blocking) SQL of the handoff store from aiohttp handlers, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.db.session import session_factory, session_scope

T = TypeVar("T")


def _scoped(url: str, work: Callable[[Session], T]) -> T:
    with session_scope(url) as session:
        return work(session)


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
        return await asyncio.to_thread(work, self.session)

    async def commit(self) -> None:
        assert self.session is not None
        await asyncio.to_thread(self.session.commit)
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
