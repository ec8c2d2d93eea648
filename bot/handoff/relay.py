"""While a person has the conversation, the customer's messages go to the handoff log and wake the console.

Runs inside Rasa's process, called by the input channels before Rasa sees a message. Rasa itself stays
quiet (the conversation is paused) but keeps the message in the tracker; the handoff log is what the agent
console reads live. The console also polls the log, so a console that is down or restarting misses nothing:
waking it is only about speed.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.db.session import session_scope
from bot.handoff import store
from bot.handoff.store import HandoffView

log = logging.getLogger(__name__)

WAKE_PATH = "/internal/wake"
WAKE_PURPOSE = "console-wake"


class HandoffRelay:
    def __init__(self, database_url: str, console_url: str | None, wake_token: str, *, timeout: float = 0.5) -> None:
        self.database_url = database_url
        self.console_url = console_url.rstrip("/") if console_url else None
        self.wake_token = wake_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    def record_customer_message(self, conversation_id: str, text: str) -> HandoffView | None:
        """Store the message in the conversation's handoff, if a person has (or is about to take) it.

        Returns the handoff the message went to, None when the bot is answering. Blocking (SQL): call it
        from a thread in async code.
        """
        with session_scope(self.database_url) as session:
            handoff = store.active_for_conversation(session, conversation_id)
            if handoff is None or not handoff.pauses_bot:
                return None
            store.add_message(session, handoff.id, "customer", text)
        return handoff

    async def take_customer_message(self, conversation_id: str, text: str) -> HandoffView | None:
        """What a channel calls before Rasa sees a customer's message: stored in the handoff (and the console
        woken) when a person has the conversation. A store that fails is logged, not raised: the tracker still
        keeps the message, and the console reads the transcript from it."""
        try:
            handoff = await asyncio.to_thread(self.record_customer_message, conversation_id, text)
        except Exception:
            log.exception("could not add a message of %s to its handoff", conversation_id)
            return None
        if handoff is not None:
            await self.wake_console()
        return handoff

    def customer_handoff(self, conversation_id: str) -> HandoffView | None:
        with session_scope(self.database_url) as session:
            return store.active_for_conversation(session, conversation_id)

    async def wake_console(self) -> None:
        """Tell the console there is news before Rasa starts on the message: Rasa's NLU holds the event loop
        for a while, and a wake-up queued behind it would reach the agent that much later. Never raises, and
        gives up after the timeout (the console polls anyway)."""
        if not self.console_url:
            return
        try:
            await asyncio.wait_for(self._wake(self.console_url), self.timeout.total)
        except TimeoutError:
            log.debug("the console did not take a wake-up in time; it will poll")

    async def _wake(self, console_url: str) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._http.post(
                console_url + WAKE_PATH, headers={"Authorization": f"Bearer {self.wake_token}"}
            ) as reply:
                if reply.status >= 300:
                    log.warning("the console refused a wake-up: HTTP %s", reply.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.debug("the console is not reachable for a wake-up (%s); it will poll", exc)


def default_relay() -> HandoffRelay:
    from bot.settings import get_settings

    settings = get_settings()
    return HandoffRelay(settings.database_url, settings.console_url, settings.service_token(WAKE_PURPOSE))
