"""A customer's widget without a browser: docs/widget-protocol.md over a real socket.io connection.

The end-to-end tests use it to check the channel's protocol, and bench/handoff_latency.py to stand in for
twenty customers at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import socketio

Message = dict[str, Any]


class WidgetClient:
    def __init__(self, rasa_url: str, *, token: str | None = None, session_id: str | None = None) -> None:
        self.rasa_url = rasa_url
        self.token = token
        self.session_id = session_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.received: list[Message] = []  # every bot_uttered, with `received_at` (perf_counter)
        self.state: dict[str, Any] | None = None
        self.session_error: dict[str, Any] | None = None
        self.typing: list[dict[str, Any]] = []
        self._confirmed = asyncio.Event()
        self._state_seen = asyncio.Event()
        self.newest: float | None = None  # the newest message's timestamp, as the widget's `since`
        self.resyncs = 0  # `resync` events heard (the server lost messages it may have sent)
        self._resyncing = False
        self._tasks: set[asyncio.Task] = set()

        @self.sio.on("session_confirm")
        async def _confirm(session_id: str) -> None:
            self.session_id = session_id
            self._confirmed.set()

        @self.sio.on("session_error")
        async def _error(data: dict[str, Any]) -> None:
            self.session_error = data
            self._confirmed.set()
            self._state_seen.set()
            if self._resyncing and data.get("status") == 503:  # as the widget does: ask again a little later
                self._later(float(data.get("retry_after") or 2), self._request_session())

        @self.sio.on("conversation_state")
        async def _state(data: dict[str, Any]) -> None:
            self.state = data
            self._seen(data.get("messages") or [])
            self._state_seen.set()
            if self._resyncing:  # what the live messages lost, handed on like them
                self._resyncing = False
                for message in data.get("messages") or []:
                    if message.get("from") != "customer":
                        await _bot(message)

        @self.sio.on("bot_uttered")
        async def _bot(message: Message) -> None:
            message = dict(message, received_at=time.perf_counter())
            self._seen([message])
            self.received.append(message)
            await self.inbox.put(message)

        @self.sio.on("resync")
        async def _resync(*_: Any) -> None:
            self.resyncs += 1
            self._resyncing = True
            await self._request_session()

        @self.sio.on("typing")
        async def _typing(data: dict[str, Any]) -> None:
            self.typing.append(data)

    def _seen(self, messages: list[Message]) -> None:
        for message in messages:
            timestamp = message.get("timestamp")
            if isinstance(timestamp, (int, float)) and (self.newest is None or timestamp > self.newest):
                self.newest = float(timestamp)

    async def _request_session(self) -> None:
        await self.sio.emit(
            "session_request", {"session_id": self.session_id, "customer_token": self.token, "since": self.newest}
        )

    def _later(self, seconds: float, coro: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(seconds)
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def connect(self, *, since: float | None = None, timeout: float = 15) -> str | None:
        """Connect and join the conversation; the session id, or None when refused (see `session_error`)."""
        if not self.sio.connected:
            await self.sio.connect(self.rasa_url, socketio_path="/socket.io", transports=["polling"])
        self._confirmed.clear()
        self._state_seen.clear()
        self.session_error = None
        if since is not None:
            self._seen([{"timestamp": since}])
        await self.sio.emit(
            "session_request", {"session_id": self.session_id, "customer_token": self.token, "since": since}
        )
        await asyncio.wait_for(self._state_seen.wait(), timeout)
        return None if self.session_error else self.session_id

    async def send(
        self, text: Any, *, timeout: float = 60, token: str | None = None, message_id: str | None = None
    ) -> dict[str, Any]:
        """Send a message (with the widget's `message_id`, which its retries repeat); the server's acknowledgement."""
        metadata = {"customer_token": token or self.token} if (token or self.token) else {}
        data = {"session_id": self.session_id, "message": text, "metadata": metadata}
        if message_id is not None:
            data["message_id"] = message_id
        return await self.sio.call("user_uttered", data, timeout=timeout)

    async def next_message(self, where: Callable[[Message], bool] = lambda m: True, timeout: float = 30) -> Message:
        """The next bot or agent message that matches `where` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(self.inbox.get(), remaining)
            except TimeoutError:
                raise AssertionError(
                    f"no matching message in {timeout} s; got {[m.get('text') for m in self.received]}"
                ) from None
            if where(message):
                return message

    def drain(self) -> list[Message]:
        drained = []
        while not self.inbox.empty():
            drained.append(self.inbox.get_nowait())
        return drained

    async def close(self) -> None:
        """Leave like a closed tab: the server hears the close packet, nobody waits for the pending long-poll
        (Sanic's engine.io driver answers it only at the next ping, 25 s later)."""
        for task in list(self._tasks):
            task.cancel()
        if self.sio.connected:
            eio = self.sio.eio
            await eio.disconnect(abort=True)
            task = getattr(eio, "read_loop_task", None)
            if task is not None and not task.done():
                task.cancel()
            await eio.http.close() if eio.http and not eio.external_http else None
