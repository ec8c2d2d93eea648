"""Getting agents' replies to the customer: stored first, then handed to Rasa, in order, until Rasa takes them.

A reply is committed to the handoff log before Rasa is called, so a Rasa outage loses nothing: the reply
stays "saved, not delivered yet" and the feed retries it. Each delivery sends *all* of the handoff's
undelivered replies, oldest first, under a per-handoff lock (in the process, and the handoff's row in the
database while Rasa is called), so replies never overtake each other and neither a retry and a new reply nor
two console processes send the same message twice. Several console processes need PostgreSQL (SQLite has no
row locks). A process may die after Rasa took the replies but before it recorded them: each event carries its
reply's id, and a retry first looks in the conversation for the ones already there, and records them instead of
sending them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.console import db
from bot.handoff import store
from bot.handoff.agent_events import agent_message, sent_reply_ids
from bot.rasa_api import RasaApi, RasaUnavailable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# (handoff id, queue, delivered message ids, when): the feed tells the agents' consoles.
Delivered = Callable[[int, str, list[int], datetime], Awaitable[None]]


def agent_events(messages: list[store.MessageView]) -> list[dict]:
    return [agent_message(m.text, m.author or "Support agent", reply_id=m.id) for m in messages]


class Delivery:
    def __init__(
        self, database_url: str, rasa: RasaApi, clock: Callable[[], datetime], on_delivered: Delivered | None = None
    ) -> None:
        self.database_url = database_url
        self.rasa = rasa
        self.clock = clock
        self.on_delivered = on_delivered
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self, handoff_id: int) -> asyncio.Lock:
        if len(self._locks) > 1000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(handoff_id, asyncio.Lock())

    async def deliver(self, handoff_id: int, *, retry: bool = False) -> list[int]:
        """Send the handoff's undelivered replies; the ids delivered. Raises RasaUnavailable (nothing sent).

        `retry`: an earlier try may have handed some of them to Rasa before it could record that."""
        async with self._lock(handoff_id), db.HeldTransaction(self.database_url) as tx:

            def pending(session: Session) -> tuple[store.HandoffView, list[store.MessageView]]:
                return store.lock_for_delivery(session, handoff_id), store.undelivered_agent_messages(
                    session, handoff_id
                )

            handoff, messages = await tx.run(pending)
            if not messages:
                return []
            sent = sent_reply_ids(await self.rasa.events(handoff.conversation_id)) if retry else set()
            unsent = [m for m in messages if m.id not in sent]
            if unsent:
                await self.rasa.append(handoff.conversation_id, agent_events(unsent))
            ids = [m.id for m in messages]
            now = self.clock()
            await tx.run(lambda session: store.mark_delivered(session, ids, now=now))
            await tx.commit()
        if self.on_delivered is not None:
            await self.on_delivered(handoff_id, handoff.queue, ids, now)
        return ids

    async def retry_all(self) -> int:
        """Deliver what is waiting, handoff by handoff; stops at the first Rasa failure. The number delivered."""
        delivered = 0
        for handoff_id in await db.run(self.database_url, store.handoffs_awaiting_delivery):
            try:
                delivered += len(await self.deliver(handoff_id, retry=True))
            except RasaUnavailable as exc:
                log.info("replies still waiting for Rasa: %s", exc)
                break
        return delivered
