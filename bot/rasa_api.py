"""Tandem's one client for Rasa's HTTP API (`rasa run --enable-api`): the lane that does not go through a channel.

The console appends an agent's messages to a conversation and reads its transcript, the follow-up scheduler
triggers an intent in it, and a model publish (bot.model_release; the sentiment upgrade's too) asks which model
serves and replaces it. Outside a laptop Rasa runs with `--auth-token` (TANDEM_RASA_TOKEN; `tandem up` derives one
from the secret key). Synchronous callers (the scheduler's threads, a publish) use `call`, which runs one request on
a short-lived client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

T = TypeVar("T")


class RasaUnavailable(Exception):
    """Rasa did not take the request (down, refused, or answered an error); nothing was sent."""


class RasaApi:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _url(self, conversation_id: str, path: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{path}"

    def _params(self, **extra: str) -> dict[str, str]:
        params = dict(extra)
        if self.token:
            params["token"] = self.token
        return params

    async def _request(
        self, method: str, url: str, params: Mapping[str, str], body: Any, *, timeout: float | None = None
    ) -> Any:
        """The reply's JSON (None when it has none); RasaUnavailable for anything but a 2xx."""
        limit = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        try:
            async with self._session().request(method, url, params=params, json=body, timeout=limit) as reply:
                if reply.status >= 300:
                    raise RasaUnavailable(f"Rasa answered HTTP {reply.status}: {(await reply.text())[:200]}")
                try:
                    return await reply.json(content_type=None)
                except ValueError:
                    return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url}: {exc}") from exc

    async def append(self, conversation_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Store `events` in the conversation and send its bot messages to the customer's latest channel."""
        params = self._params(execute_side_effects="true", output_channel="latest", include_events="NONE")
        await self._request("POST", self._url(conversation_id, "tracker/events"), params, list(events))

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every event of the conversation (the whole transcript, across sessions)."""
        body = await self._request(
            "GET", self._url(conversation_id, "tracker"), self._params(include_events="ALL"), None
        )
        if not isinstance(body, dict):
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url}: no tracker in its answer")
        return list(body.get("events") or [])

    async def trigger_intent(
        self, conversation_id: str, intent: str, entities: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Run the bot on `intent` as if the customer had said it; answers on the channel the customer last used.

        A channel that cannot push (REST) gets the bot's messages in the reply instead, which this returns."""
        # Rasa 3.6 reads the intent from "name" (rasa/server.py trigger_intent).
        body = {"name": intent, "entities": dict(entities)}
        reply = await self._request(
            "POST", self._url(conversation_id, "trigger_intent"), self._params(output_channel="latest"), body
        )
        return list(reply.get("messages") or []) if isinstance(reply, dict) else []

    async def status(self) -> dict[str, Any]:
        """What the server serves (`GET /status`): `model_file` (the model's file name), `model_id`."""
        body = await self._request("GET", f"{self.base_url}/status", self._params(), None)
        if not isinstance(body, dict):
            raise RasaUnavailable(f"Rasa at {self.base_url} answered /status without a status")
        return body

    async def replace_model(self, model: Path, *, timeout: float = 600.0) -> None:
        """Serve `model` from now on (`PUT /model`): Rasa loads it before it answers; messages in flight finish on
        the old one."""
        await self._request(
            "PUT", f"{self.base_url}/model", self._params(), {"model_file": str(model)}, timeout=timeout
        )


def call(base_url: str, token: str | None, timeout: float, request: Callable[[RasaApi], Awaitable[T]]) -> T:
    """One request from synchronous code, on a client that lives only for it (each thread its own event loop)."""

    async def once() -> T:
        api = RasaApi(base_url, token, timeout=timeout)
        try:
            return await request(api)
        finally:
            await api.close()

    return asyncio.run(once())
