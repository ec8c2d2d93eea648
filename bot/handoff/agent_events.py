"""The tracker events a person adds to a conversation: an agent's reply, a pause, a hand-back.

The console appends them through Rasa's HTTP API (`bot.rasa_api.RasaApi.append`, with `execute_side_effects`),
so Rasa stores them in the conversation *and* sends the bot messages among them to the customer's channel
(`output_channel=latest`: the socket the widget is connected to).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

AGENT = "agent"


REPLY_ID = "reply_id"  # the handoff message an agent's bot event carries: a redelivery can tell it was sent


def agent_message(text: str, agent_name: str, reply_id: int | None = None) -> dict[str, Any]:
    """A message from a person: a bot event whose metadata marks who wrote it (docs/widget-protocol.md), and
    which stored reply it is."""
    metadata: dict[str, Any] = {"from": AGENT, "agent_name": agent_name}
    if reply_id is not None:
        metadata[REPLY_ID] = reply_id
    return {"event": "bot", "text": text, "metadata": metadata}


def sent_reply_ids(events: Iterable[Mapping[str, Any]]) -> set[int]:
    """The stored replies (handoff message ids) a conversation's events already hold."""
    found: set[int] = set()
    for event in events:
        metadata = event.get("metadata") if event.get("event") == "bot" else None
        reply_id = metadata.get(REPLY_ID) if isinstance(metadata, Mapping) else None
        if isinstance(reply_id, int) and not isinstance(reply_id, bool):
            found.add(reply_id)
    return found


def bot_notice(text: str | None, custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
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
