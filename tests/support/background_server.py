"""An aiohttp application served from a thread of the test process, for tests that need a real HTTP server
(a browser's page, a stand-in for Rasa, the agent console)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class BackgroundServer:
    """Runs an aiohttp application on a localhost port (a free one unless given) in a thread of its own."""

    def __init__(self, app: web.Application, port: int = 0) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="test-web-server", daemon=True)
        self.port: int | None = None
        self._wanted_port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.2)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", self._wanted_port)
            self.loop.run_until_complete(site.start())
            self.port = self.runner.addresses[0][1]
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> BackgroundServer:
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        if self._error:
            raise self._error
        return self

    async def _shutdown(self) -> None:
        for connection in self.runner.server.connections:  # open websockets are cut, as by a crash
            connection.force_close()
        await self.runner.cleanup()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:  # what the server left running (socket.io pings, held handlers)
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def call(self, coro, timeout: float = 10) -> Any:
        """Runs a coroutine on the server's loop from the test's thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
