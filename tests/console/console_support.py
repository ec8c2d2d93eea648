"""Helpers of the console tests: a stand-in Rasa HTTP API, a running console, signed-in agents, handoffs.

Rasa is the one true boundary here: a small aiohttp server that serves `/conversations/{id}/tracker`, records
what is appended to `/conversations/{id}/tracker/events`, and can be told to fail. Everything else (the
console, the database, the handoff store) is real.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from bot.console.agents import AgentView, create_agent
from bot.console.app import create_app
from bot.console.keys import FEED
from bot.console.throttle import LoginLimit, LoginThrottle
from bot.db.models import Customer, utcnow
from bot.db.session import session_scope
from bot.handoff import store
from bot.handoff.routing import default_rules
from bot.rasa_api import RasaApi
from bot.review.service import TrainingData
from bot.settings import Settings
from tests.support.background_server import BackgroundServer

TEST_SECRET = "tandem-console-tests-secret-" + "0123456789abcdef" * 2
PASSWORD = "correct horse battery"
CX_PAGES = ["Insights", "NLU inbox", "Conversations", "Responses", "Models"]  # the nav of the cx and admin roles
RASA_TOKEN = "rasa-test-token"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    settings = Settings(
        state_dir=Path("/tmp"),
        models_dir=Path("/tmp/models"),
        database_url=database_url,
        secret_key=TEST_SECRET,
        token_ttl_seconds=3600,
        rasa_url="http://127.0.0.1:9",
        rasa_public_url="http://localhost:5005",
        web_host="127.0.0.1",
        web_port=8000,
        max_message_chars=5000,
    )
    return replace(settings, **overrides)


class FakeRasa:
    """Rasa's HTTP API as the console uses it: trackers to read, appended events to check, failures on demand."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[dict]] = {}
        self.appended: list[tuple[str, list[dict]]] = []  # (conversation id, events) per successful call
        self.fail = False
        self.tokens: list[str | None] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/conversations/{id}/tracker", self._tracker)
        app.router.add_post("/conversations/{id}/tracker/events", self._append)
        return app

    def events_for(self, conversation_id: str) -> list[dict]:
        return [e for cid, events in self.appended if cid == conversation_id for e in events]

    async def _tracker(self, request: web.Request) -> web.Response:
        self.tokens.append(request.query.get("token"))
        if self.fail:
            return web.json_response({"error": "down"}, status=503)
        conversation = request.match_info["id"]
        return web.json_response({"sender_id": conversation, "events": self.trackers.get(conversation, [])})

    async def _append(self, request: web.Request) -> web.Response:
        self.tokens.append(request.query.get("token"))
        if self.fail:
            return web.json_response({"error": "down"}, status=503)
        events = await request.json()
        conversation = request.match_info["id"]
        self.appended.append((conversation, events))
        stamped = [{"timestamp": time.time(), **event} for event in events]  # Rasa stamps what it stores
        self.trackers.setdefault(conversation, []).extend(stamped)
        return web.json_response({"sender_id": conversation, "events": None})


def user_event(text: str, score: float | None, ts: float, label: str | None = None) -> dict:
    event: dict[str, Any] = {"event": "user", "text": text, "timestamp": ts, "parse_data": {"intent": {"name": "x"}}}
    if score is not None:
        label = label or ("negative" if score < -0.15 else "positive" if score > 0.15 else "neutral")
        event["parse_data"]["sentiment"] = {"label": label, "score": score}
    return event


def bot_event(text: str, ts: float, **metadata: Any) -> dict:
    return {"event": "bot", "text": text, "timestamp": ts, "metadata": metadata or {"from": "bot"}}


# --- the database ---------------------------------------------------------------------------------------------------


def add_agent(
    url: str,
    username: str,
    *,
    role: str = "agent",
    queues: tuple[str, ...] = ("billing",),
    name: str | None = None,
    password: str = PASSWORD,
) -> AgentView:
    with session_scope(url) as session:
        return create_agent(
            session,
            username,
            name or username.capitalize() + " Agent",
            password,
            role=role,
            queues=queues,
            known_queues=default_rules().queue_keys,
        )


def customer_pk(url: str, external_id: str = "CUST-00001") -> int:
    with session_scope(url) as session:
        return session.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one()


def rename_customer(url: str, external_id: str, name: str) -> None:
    with session_scope(url) as session:
        session.execute(update(Customer).where(Customer.external_id == external_id).values(name=name))


def open_handoff(
    url: str,
    conversation_id: str,
    *,
    queue: str = "billing",
    customer: str | None = "CUST-00001",
    priority: int = 50,
    reason: str = "asked",
    sentiment: float | None = -0.4,
    now: datetime | None = None,
) -> store.HandoffView:
    with session_scope(url) as session:
        customer_id = None
        if customer:
            customer_id = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        view, _ = store.open_handoff(
            session,
            conversation_id=conversation_id,
            reason=reason,
            queue=queue,
            priority=priority,
            channel="socketio",
            customer_id=customer_id,
            sentiment=sentiment,
            now=now or utcnow(),
        )
        return view


def customer_says(url: str, handoff_id: int, text: str) -> store.MessageView:
    with session_scope(url) as session:
        return store.add_message(session, handoff_id, "customer", text)


def handoff(url: str, handoff_id: int) -> store.HandoffView:
    with session_scope(url) as session:
        return store.require(session, handoff_id)


def messages(url: str, handoff_id: int) -> list[store.MessageView]:
    with session_scope(url) as session:
        return store.messages(session, handoff_id)


# --- a running console ----------------------------------------------------------------------------------------------


class AgentClient:
    """A browser-like client of one agent: its own cookies, the CSRF token of its pages."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = aiohttp.ClientSession(
            base_url=self.base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=20),
        )
        self.csrf: str | None = None

    async def close(self) -> None:
        await self.http.close()

    async def login(self, username: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
        form = await (await self.http.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = await self.http.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        )
        page = await response.text()
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        self.csrf = found.group(1) if found else None
        return response

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.http.get(path, **kwargs)

    async def post(self, path: str, body: Any = None, *, csrf: bool = True, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = dict(kwargs.pop("headers", {}))
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return await self.http.post(path, json=body if body is not None else {}, headers=headers, **kwargs)

    async def ws(self, origin: str | None = "same") -> aiohttp.ClientWebSocketResponse:
        headers = {"Origin": self.base_url} if origin == "same" else ({"Origin": origin} if origin else {})
        return await self.http.ws_connect("/ws", headers=headers)


@dataclass
class Console:
    url: str
    database_url: str
    rasa: FakeRasa
    app: web.Application
    clients: list[AgentClient] = field(default_factory=list)

    def client(self) -> AgentClient:
        client = AgentClient(self.url)
        self.clients.append(client)
        return client

    async def agent(self, username: str, password: str = PASSWORD) -> AgentClient:
        client = self.client()
        response = await client.login(username, password)
        assert client.csrf, f"login of {username} failed: HTTP {response.status}"
        return client

    def wake(self) -> None:
        self.app[FEED].wake()


@asynccontextmanager
async def running_console(
    database_url: str,
    *,
    clock: Callable[[], datetime] | None = None,
    throttle: LoginThrottle | None = None,
    poll_seconds: float = 0.2,
    settings: Settings | None = None,
    login_limit: LoginLimit | None = None,
    review_data: TrainingData | None = None,
) -> AsyncIterator[Console]:
    rasa = FakeRasa()
    rasa_server = TestServer(rasa.app())
    await rasa_server.start_server()
    rasa_api = RasaApi(str(rasa_server.make_url("")), RASA_TOKEN, timeout=2.0)
    app = create_app(
        settings or make_settings(database_url),
        rasa=rasa_api,
        database_url=database_url,
        clock=clock,
        throttle=throttle or LoginThrottle(delay_seconds=0.0),
        login_limit=login_limit,
        poll_seconds=poll_seconds,
        review_data=review_data,
    )
    app[FEED].retry_seconds = 0.1
    server = TestServer(app)
    await server.start_server()
    console = Console(str(server.make_url("")).rstrip("/"), database_url, rasa, app)
    try:
        yield console
    finally:
        for client in console.clients:
            await client.close()
        await server.close()
        await rasa_api.close()
        await rasa_server.close()


async def until(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Waits until `check()` is truthy (it may be a coroutine function); its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(interval)


async def next_message(
    ws: aiohttp.ClientWebSocketResponse,
    kind: str,
    *,
    timeout: float = 5.0,
    where: Callable[[dict], bool] = lambda m: True,
) -> dict:
    """The next websocket message of `kind` that satisfies `where` (others are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no {kind!r} message within {timeout} s")
        message = await ws.receive_json(timeout=remaining)
        if message.get("type") == kind and where(message):
            return message


async def no_message(ws: aiohttp.ClientWebSocketResponse, where: Callable[[dict], bool], *, wait: float = 1.0) -> None:
    """Asserts that nothing matching `where` arrives within `wait` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        try:
            message = await ws.receive_json(timeout=remaining)
        except TimeoutError:
            return
        assert not where(message), f"unexpected push: {message}"


def later(hours: float) -> Callable[[], datetime]:
    """A clock `hours` ahead of now."""
    return lambda: utcnow() + timedelta(hours=hours)


# The console's browser tests serve their apps the way the widget's tests do.
BackgroundApp = BackgroundServer
