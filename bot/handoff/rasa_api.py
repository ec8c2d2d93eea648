"""The console's side of Rasa's HTTP API: read a conversation, and add to it as a person.

An agent's reply, a pause or a hand-back are tracker events appended with `execute_side_effects`, so Rasa
stores them in the conversation *and* sends the bot messages among them to the customer's channel
(`output_channel=latest`: the socket the widget is connected to). Rasa must run with `--enable-api` and,
outside a laptop, `--auth-token` (TANDEM_RASA_TOKEN; `tandem up` derives one from the secret key).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence
from urllib.parse import quote

import aiohttp

AGENT = "agent"


class RasaUnavailable(Exception):
    """Rasa did not take the request (down, refused, or answered an error); nothing was sent."""


def agent_message(text: str, agent_name: str) -> dict[str, Any]:
    """A message from a person: a bot event whose metadata marks who wrote it (docs/widget-protocol.md)."""
    return {"event": "bot", "text": text, "metadata": {"from": AGENT, "agent_name": agent_name}}


def bot_notice(text: Optional[str], custom: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": "bot", "text": text, "metadata": {"from": "bot"}}
    if custom is not None:
        event["data"] = {"custom": dict(custom)}
    return event


def pause() -> dict[str, Any]:
    return {"event": "pause"}


def resume() -> dict[str, Any]:
    return {"event": "resume"}


def listen() -> dict[str, Any]:
    """Goes right after `resume()`: a paused conversation never listened, and the policies expect the customer's
    next message to follow `action_listen` (without it Rasa predicts nothing for that message)."""
    return {"event": "action", "name": "action_listen"}


def set_slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


class RasaApi:
    def __init__(self, base_url: str, token: Optional[str] = None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: Optional[aiohttp.ClientSession] = None

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

    async def append(self, conversation_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        """Store `events` in the conversation and send its bot messages to the customer's latest channel."""
        params = self._params(execute_side_effects="true", output_channel="latest", include_events="NONE")
        try:
            async with self._session().post(
                self._url(conversation_id, "tracker/events"), params=params, json=list(events)
            ) as reply:
                if reply.status >= 300:
                    raise RasaUnavailable(f"Rasa answered HTTP {reply.status}: {(await reply.text())[:200]}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url}: {exc}") from exc

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every event of the conversation (the whole transcript, across sessions)."""
        try:
            async with self._session().get(
                self._url(conversation_id, "tracker"), params=self._params(include_events="ALL")
            ) as reply:
                if reply.status >= 300:
                    raise RasaUnavailable(f"Rasa answered HTTP {reply.status}: {(await reply.text())[:200]}")
                body = await reply.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url}: {exc}") from exc
        return list(body.get("events") or [])
