"""`GET /ws`: a console's live connection (cookie session, the console's own Origin only).

While it is open, the agent counts as present: `store.touch_agent` at connect and every 20 s, which is what
the bot reads (agents online within 60 s) to promise a wait or a follow-up. The session is checked again
at each heartbeat, so a deactivated agent or an expired session is disconnected (close code 4401).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from bot.console import agents, db
from bot.console.auth import same_origin
from bot.console.feed import Client, Feed
from bot.console.keys import CLOCK, DATABASE_URL, FEED, SESSION_TOKEN, SIGNED_IN
from bot.console.responses import json_error
from bot.db.session import DatabaseUnavailable
from bot.handoff import store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
SESSION_ENDED = 4401


async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request, request.headers.get("Origin")):
        return json_error(403, "The live connection is only open to the console's own pages.")
    signed = request[SIGNED_IN]
    if not signed.agent.works_queues:  # the live queue is for those who take conversations
        return json_error(403, "The live queue is for agents and admins.")
    token = request[SESSION_TOKEN]
    url, clock, feed = request.app[DATABASE_URL], request.app[CLOCK], request.app[FEED]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)

    def beat(session: Session) -> agents.SignedIn | None:
        """Still signed in? Then present (the bot counts agents seen within a minute)."""
        now = clock()
        still = agents.signed_in(session, token, now=now)
        if still is not None:
            store.touch_agent(session, still.agent.id, now=now)
        return still

    await ws.prepare(request)
    client = Client(ws, signed.agent)
    feed.add(client)  # at once: the page catches up from the database once open, so nothing falls in between
    try:
        await _serve(client, url, beat, feed)
    finally:
        feed.remove(client)
    return ws


async def _serve(client: Client, url: str, beat: Callable[[Session], agents.SignedIn | None], feed: Feed) -> None:
    ws = client.ws
    try:
        await db.run(url, beat)
    except DatabaseUnavailable:
        log.warning("websocket: could not mark %s present", client.agent.username)
    try:
        await feed.snapshot(client)
    except DatabaseUnavailable:
        await client.send({"type": "notice", "text": "The database is not reachable; the queue updates when it is."})
    next_beat = time.monotonic() + HEARTBEAT_SECONDS
    while not ws.closed:
        try:
            message = await ws.receive(timeout=max(0.0, next_beat - time.monotonic()))
        except TimeoutError:
            next_beat = time.monotonic() + HEARTBEAT_SECONDS
            try:
                still = await db.run(url, beat)
            except DatabaseUnavailable:
                continue  # keep the connection; the next heartbeat tries again
            if still is None:
                await ws.close(code=SESSION_ENDED, message=b"session ended")
                return
            client.agent = still.agent  # queues or role may have changed
            continue
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        # Consoles have nothing to say over the socket (actions go through the JSON API); ignore it.
