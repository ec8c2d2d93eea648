"""Helpers of the web tests (a unique module name, so it cannot clash with other test folders)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from bot.identity import InvalidToken, verify_token
from bot.settings import Settings
from bot.web.customers import DemoCustomer
from tests.support.background_server import BackgroundServer

TEST_SECRET = "tandem-web-tests-secret-" + "0123456789abcdef" * 2


def make_settings(state_dir: Path, **overrides) -> Settings:
    settings = Settings(
        state_dir=state_dir,
        models_dir=state_dir / "models",
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        token_ttl_seconds=3600,
        rasa_url="http://127.0.0.1:5005",
        rasa_public_url="http://localhost:5005",
        web_host="127.0.0.1",
        web_port=8000,
        max_message_chars=5000,
    )
    return replace(settings, **overrides)


class FakeCustomerDirectory:
    """An in-memory CustomerDirectory."""

    def __init__(self, customers: list[DemoCustomer], fail: bool = False) -> None:
        self.customers = {c.external_id: c for c in customers}
        self.fail = fail
        self.get_calls: list[str] = []

    def list_demo_customers(self, limit: int) -> list[DemoCustomer]:
        if self.fail:
            raise RuntimeError("database is down")
        return [self.customers[k] for k in sorted(self.customers)][:limit]

    def get(self, external_id: str) -> DemoCustomer | None:
        if self.fail:
            raise RuntimeError("database is down")
        self.get_calls.append(external_id)
        return self.customers.get(external_id)


# What the picker says of a few customers (the real directory derives it from the shop: bot/web/customers.py).
DEMO_HINTS = {
    5: (("order TD100005 on its way", "owns Pixel 8"), "where is my order TD100005?"),
    6: (("owns Galaxy S24",), "what goes well with my Galaxy S24?"),
}


def demo_customers(n: int = 30) -> list[DemoCustomer]:
    names = ["Ana Silva", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eun-ji Kim", "Farah Haddad"]
    return [
        DemoCustomer(
            external_id=f"CUST-{i:05d}",
            name=f"{names[(i - 1) % len(names)]} {i}",
            email=f"customer{i}@example.com",
            hints=DEMO_HINTS.get(i, ((), None))[0],
            try_saying=DEMO_HINTS.get(i, ((), None))[1],
        )
        for i in range(n, 0, -1)  # unsorted on purpose
    ]


QUICK_REPLIES = [
    {"title": "Track my order", "payload": "/order_status"},
    {"title": "Talk to a human", "payload": "/ask_human"},
]

# One step of a scripted reply: ("bot_uttered", Message without timestamp), ("typing", {...}),
# ("handoff", Handoff) or ("sleep", seconds).
Step = tuple[str, Any]


def echo(message: str) -> list[Step]:
    """The stub's default answer: the message said back, with two quick replies."""
    return [("bot_uttered", {"text": f"You said: {message}", "buttons": QUICK_REPLIES})]


class SocketRasaStub:
    """Stands in for Rasa's socket.io channel, the server side of docs/widget-protocol.md.

    It records every session_request and user_uttered, keeps each conversation's messages (as a tracker
    store would, across restarts) and answers a message with the next scripted reply of `replies`, or
    else `echo`, after `delay` seconds. `acks` and `session_errors` are answers to give first instead of
    accepting; `ack_delay` acknowledges late, `hold_acks` never; `ignore_since` sends the whole history on
    every session_request.
    `push` sends messages to a conversation at any time (a `lost` step stores one without sending it); `stop` and
    `start` restart it on the same port.
    """

    max_message_chars = 5000

    def __init__(self, secret: str = TEST_SECRET) -> None:
        self.secret = secret
        self.port: int | None = None
        self.server: BackgroundServer | None = None
        self.reset()

    # -------------------------------------------------------------- test API

    def reset(self) -> None:
        self.session_requests: list[dict] = []
        self.uttered: list[dict] = []
        self.history: dict[str, list[dict]] = {}
        self.owners: dict[str, str | None] = {}
        self.handoffs: dict[str, dict] = {}
        self.acks: list[dict] = []
        self.session_errors: list[dict] = []
        self.replies: list[list[Step]] = []
        self.delay = 0.0
        self.ack_delay = 0.0
        self.hold_acks = False
        self.ignore_since = False
        self._last_timestamp = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self) -> SocketRasaStub:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)
        self.sio.on("disconnect", self._disconnect)
        self._sessions: dict[str, str] = {}  # socket id -> its confirmed conversation
        app = web.Application()
        self.sio.attach(app)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        self.server = BackgroundServer(app, port=self.port or 0).start()
        self.port = self.server.port
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def push(self, session_id: str, steps: list[Step]) -> None:
        """Plays `steps` to a conversation now (a person answering while the page is idle or closed)."""
        assert self.server is not None, "the stub is stopped"
        self.server.call(self._play(session_id, steps))

    def session_id(self) -> str:
        """The conversation of the last session_request that was confirmed."""
        return list(self.history)[-1]

    # -------------------------------------------------------------- socket.io handlers

    async def _on_startup(self, app: web.Application) -> None:
        self._released = asyncio.Event()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._released.set()
        await self.sio.shutdown()

    async def _disconnect(self, sid: str, *args: Any) -> None:
        self._sessions.pop(sid, None)

    def _customer(self, token: Any) -> str | None:
        """The customer of a token; None when absent; raises InvalidToken when it does not verify."""
        return None if token is None else verify_token(token, secret=self.secret)

    async def _session_request(self, sid: str, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        self.session_requests.append(data)
        if self.session_errors:
            await self.sio.emit("session_error", self.session_errors.pop(0), to=sid)
            return
        try:
            customer = self._customer(data.get("customer_token"))
        except InvalidToken:
            await self.sio.emit("session_error", {"status": 401, "error": "customer token invalid or expired"}, to=sid)
            return
        session_id = data.get("session_id") or uuid.uuid4().hex
        owner = self.owners.get(session_id)
        if owner is not None and owner != customer:
            await self.sio.emit("session_error", {"status": 403, "error": "not this customer's conversation"}, to=sid)
            return
        self.owners[session_id] = owner or customer
        self.history.setdefault(session_id, [])
        for room in self.sio.rooms(sid):
            if room != sid:
                await self.sio.leave_room(sid, room)
        await self.sio.enter_room(sid, session_id)
        self._sessions[sid] = session_id
        await self.sio.emit("session_confirm", session_id, to=sid)
        since = data.get("since")
        messages = [
            m
            for m in self.history[session_id]
            if self.ignore_since or not isinstance(since, (int, float)) or m["timestamp"] > since
        ]
        state = {
            "session_id": session_id,
            "customer_id": customer,
            "handoff": self.handoffs.get(session_id),
            "messages": messages,
        }
        await self.sio.emit("conversation_state", state, to=sid)

    async def _user_uttered(self, sid: str, data: Any) -> dict:
        data = data if isinstance(data, dict) else {}
        self.uttered.append(data)
        if self.hold_acks:
            await self._released.wait()
            return {"ok": False, "status": 503, "error": "shutting down"}
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)
        if self.acks:
            return self.acks.pop(0)
        session_id = self._sessions.get(sid)
        if not session_id or data.get("session_id") != session_id:
            return {"ok": False, "status": 400, "error": "No confirmed session."}
        message = data.get("message")
        if not isinstance(message, str) or not message.strip():
            return {"ok": False, "status": 400, "error": "The message is empty."}
        if len(message) > self.max_message_chars:
            return {"ok": False, "status": 413, "error": "The message is too long."}
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        try:
            customer = self._customer(metadata.get("customer_token"))
        except InvalidToken:
            return {"ok": False, "status": 401, "error": "customer token invalid or expired"}
        if self.owners.get(session_id) not in (None, customer):
            return {"ok": False, "status": 403, "error": "not this customer's conversation"}
        self._record(session_id, {"from": "customer", "text": message})
        steps = self.replies.pop(0) if self.replies else echo(message)
        self.sio.start_background_task(self._play, session_id, [("sleep", self.delay or 0.01), *steps])
        return {"ok": True}

    def _record(self, session_id: str, message: dict) -> dict:
        timestamp = max(time.time(), self._last_timestamp + 0.001)
        self._last_timestamp = timestamp
        message = {**message, "timestamp": timestamp}
        self.history.setdefault(session_id, []).append(message)
        return message

    async def _play(self, session_id: str, steps: list[Step]) -> None:
        for kind, data in steps:
            if kind == "sleep":
                await asyncio.sleep(data)
            elif kind == "bot_uttered":
                message = self._record(session_id, {"from": "bot", **data}) if isinstance(data, dict) else data
                await self.sio.emit("bot_uttered", message, room=session_id)
            elif kind == "lost":  # stored, but its live message never reached the socket (Redis restarting)
                self._record(session_id, {"from": "bot", **data})
            elif kind == "handoff":
                if isinstance(data, dict):
                    self.handoffs[session_id] = data
                await self.sio.emit("handoff", data, room=session_id)
            else:
                await self.sio.emit(kind, data, room=session_id)
