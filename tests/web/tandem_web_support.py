"""Helpers of the web tests (a unique module name, so it cannot clash with other test folders)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Optional

from aiohttp import web

from bot.settings import Settings
from bot.web.customers import DemoCustomer

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

    def get(self, external_id: str) -> Optional[DemoCustomer]:
        if self.fail:
            raise RuntimeError("database is down")
        self.get_calls.append(external_id)
        return self.customers.get(external_id)


def demo_customers(n: int = 30) -> list[DemoCustomer]:
    names = ["Ana Silva", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eun-ji Kim", "Farah Haddad"]
    return [
        DemoCustomer(
            external_id=f"CUST-{i:05d}",
            name=f"{names[(i - 1) % len(names)]} {i}",
            email=f"customer{i}@example.com",
        )
        for i in range(n, 0, -1)  # unsorted on purpose
    ]


class BackgroundServer:
    """Runs an aiohttp application on a free localhost port in a thread of its own."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="test-web-server", daemon=True)
        self.port: Optional[int] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.runner = web.AppRunner(self.app, access_log=None)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = self.runner.addresses[0][1]
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> "BackgroundServer":
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
}

QUICK_REPLIES = [
    {"title": "Track my order", "payload": "/order_status"},
    {"title": "Talk to a human", "payload": "/ask_human"},
]


class RasaStub:
    """Stands in for Rasa's `tandem` input channel: records requests, answers with a text and two buttons.

    `scripted` holds (status, json body) answers to give first; `delay` seconds are waited before answering.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.scripted: list[tuple[int, object]] = []
        self.delay = 0.0

    def reset(self) -> None:
        self.requests.clear()
        self.scripted.clear()
        self.delay = 0.0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/tandem/webhook", self._webhook)
        app.router.add_route("OPTIONS", "/webhooks/tandem/webhook", self._preflight)
        return app

    async def _preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers=CORS_HEADERS)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.scripted:
            status, payload = self.scripted.pop(0)
            return web.json_response(payload, status=status, headers=CORS_HEADERS)
        reply = [
            {
                "recipient_id": body.get("sender"),
                "text": f"You said: {body.get('message')}",
                "buttons": QUICK_REPLIES,
            }
        ]
        return web.json_response(reply, headers=CORS_HEADERS)
