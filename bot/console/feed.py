"""The console's live feed: one task per app that reads the handoff log and pushes news to connected agents.

It wakes when Rasa's process says there is news (`POST /internal/wake`, `bot.handoff.relay`) or after a
second at most, then reads new messages (a cursor on their increasing ids) and handoffs changed since the
last poll (with a 2 s overlap, for clocks and slow commits). Each agent gets only what their queues allow.
The database is the source of truth: a console that was closed loads history from it, so waking is only
about speed. The same loop retries agent replies Rasa has not taken yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console import db
from bot.console.agents import AgentView
from bot.console.delivery import Delivery
from bot.console.present import handoff_json, iso
from bot.db.session import DatabaseUnavailable
from bot.handoff import store
from bot.handoff.routing import HandoffRules
from bot.handoff.store import HandoffView, MessageView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
OVERLAP = timedelta(seconds=2)
SETTLE_SECONDS = 5.0  # a message id may commit this long after a higher one and still be pushed
RETRY_SECONDS = 2.0  # how often undelivered replies are offered to Rasa again
SEND_TIMEOUT = 5.0
PAGE = 500


@dataclass(eq=False)
class Client:
    """One connected console (a websocket) and the agent behind it."""

    ws: web.WebSocketResponse
    agent: AgentView
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> bool:
        if self.ws.closed:
            return False
        try:
            async with self.lock:
                await asyncio.wait_for(self.ws.send_json(payload), SEND_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            return False
        return True


class MessageCursor:
    """New messages by id, also when ids commit slightly out of order (two writers on PostgreSQL).

    Reads from a low-water mark that trails the newest id by `settle` seconds, and remembers what it already
    pushed above that mark, so a message committed just after a higher id is still pushed, and only once.
    """

    def __init__(self, start: int, *, settle: float = SETTLE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.low = start
        self.settle = settle
        self.clock = clock
        self._seen: dict[int, float] = {}

    def fresh(self, messages: Sequence[MessageView]) -> list[MessageView]:
        now = self.clock()
        new = [m for m in messages if m.id > self.low and m.id not in self._seen]
        for m in new:
            self._seen[m.id] = now
        settled = [i for i, at in self._seen.items() if now - at >= self.settle]
        if settled:
            self.low = max(self.low, max(settled))
            self._seen = {i: at for i, at in self._seen.items() if i > self.low}
        return new


class Feed:
    def __init__(
        self,
        database_url: str,
        rules: HandoffRules,
        delivery: Delivery,
        clock: Callable[[], datetime],
        *,
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.database_url = database_url
        self.rules = rules
        self.delivery = delivery
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.clients: set[Client] = set()
        self.cursor: MessageCursor | None = None
        self.last_poll = clock()
        self._event = asyncio.Event()
        self._sent: dict[int, tuple] = {}  # handoff id -> what was last pushed about it
        self._task: asyncio.Task | None = None
        self._retry: asyncio.Task | None = None
        self._last_retry = 0.0
        self._database_down = False

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def wake(self) -> None:
        self._event.set()

    async def start(self) -> None:
        try:
            start = await db.run(self.database_url, store.last_message_id)
            self.cursor = MessageCursor(start)
        except DatabaseUnavailable as exc:
            self._database_failed(exc)
        self._task = asyncio.create_task(self._run(), name="console-feed")

    async def disconnect_all(self) -> None:
        """Close every console's socket (on shutdown: the pages reconnect to the next process)."""
        for client in list(self.clients):
            await client.ws.close(code=1001, message=b"console restarting")
        self.clients.clear()

    async def stop(self) -> None:
        for task in (self._task, self._retry):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        await self.disconnect_all()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._event.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._event.clear()
            try:
                await self.tick()
                if self._database_down:
                    self._database_down = False
                    log.info("live feed: the database is back")
            except DatabaseUnavailable as exc:
                self._database_failed(exc)
            except Exception:
                log.exception("live feed: poll failed")
            self._maybe_retry()

    def _database_failed(self, exc: DatabaseUnavailable) -> None:
        """Logged once per outage, with the database's own words (not migrated? `tandem db upgrade`)."""
        if not self._database_down:
            self._database_down = True
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
            log.warning("live feed: the database cannot be used (%s); retrying every %.0f s", reason, self.poll_seconds)

    def _maybe_retry(self) -> None:
        if self._retry is not None and not self._retry.done():
            return
        if time.monotonic() - self._last_retry < self.retry_seconds:
            return
        self._last_retry = time.monotonic()
        self._retry = asyncio.create_task(self._retry_deliveries(), name="console-redeliver")

    async def _retry_deliveries(self) -> None:
        try:
            await self.delivery.retry_all()
        except DatabaseUnavailable as exc:
            self._database_failed(exc)
        except Exception:
            log.exception("redelivery failed")

    # --- clients ------------------------------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    async def snapshot(self, client: Client) -> None:
        """The current queue for a console that just connected."""
        handoffs = await db.run(self.database_url, lambda s: store.open_queue(s, client.agent.queue_filter))
        await client.send(self._queue_message(handoffs))

    def _queue_message(self, handoffs: Sequence[HandoffView]) -> dict[str, Any]:
        return {"type": "queue", "handoffs": [handoff_json(h, self.rules) for h in handoffs], "now": iso(self.clock())}

    async def _push(self, queue: str, payload: dict[str, Any]) -> None:
        clients = [c for c in self.clients if c.agent.can_see(queue)]
        if clients:
            await asyncio.gather(*(c.send(payload) for c in clients))

    async def delivered(self, handoff_id: int, queue: str, message_ids: list[int], at: datetime) -> None:
        """Delivery's callback: the consoles show those replies as delivered."""
        await self._push(
            queue, {"type": "delivered", "handoff_id": handoff_id, "message_ids": message_ids, "delivered_at": iso(at)}
        )

    # --- one poll -----------------------------------------------------------------------------------------------

    def _read(
        self, session: Session, since: datetime
    ) -> tuple[int, list[MessageView], dict[int, str], list[HandoffView], list[HandoffView] | None]:
        """(cursor start, new messages, their handoffs' queues, changed handoffs, every open one if any changed)"""
        start = self.cursor.low if self.cursor is not None else store.last_message_id(session)
        messages: list[MessageView] = []
        after = start
        while True:
            batch = store.messages_after(session, after, limit=PAGE)
            messages += batch
            if len(batch) < PAGE:
                break
            after = batch[-1].id
        queues = store.queues_of(session, {m.handoff_id for m in messages})
        changed = store.changed_since(session, since)
        everything = store.open_queue(session) if changed else None
        return start, messages, queues, changed, everything

    async def tick(self) -> None:
        now = self.clock()
        since = self.last_poll - OVERLAP
        start, messages, queues, changed, everything = await db.run(self.database_url, lambda s: self._read(s, since))
        self.last_poll = now
        if self.cursor is None:  # the database was down at start-up: begin from now
            self.cursor = MessageCursor(start)
        for message in self.cursor.fresh(messages):
            queue = queues.get(message.handoff_id)
            if queue is not None:
                await self._push(
                    queue, {"type": "message", "handoff_id": message.handoff_id, "message": message.as_json()}
                )
        news = [h for h in changed if self._sent.get(h.id) != (h.version, h.updated_at, h.status, h.agent_id)]
        for h in news:
            self._sent[h.id] = (h.version, h.updated_at, h.status, h.agent_id)
        horizon = since - timedelta(minutes=1)
        self._sent = {k: v for k, v in self._sent.items() if v[1] >= horizon}
        if not news:
            return
        for h in news:
            await self._push(h.queue, {"type": "handoff", "handoff": handoff_json(h, self.rules)})
        assert everything is not None
        for client in list(self.clients):
            if any(client.agent.can_see(h.queue) for h in news):
                await client.send(self._queue_message([h for h in everything if client.agent.can_see(h.queue)]))
