"""The tracker events a person adds to a conversation: an agent's reply, a pause, a hand-back.

The console appends them through Rasa's HTTP API (`bot.rasa_api.RasaApi.append`, with `execute_side_effects`),
so Rasa stores them in the conversation *and* sends the bot messages among them to the customer's channel
(`output_channel=latest`: the socket the widget is connected to).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AGENT = "agent"


def agent_message(text: str, agent_name: str) -> dict[str, Any]:
    """A message from a person: a bot event whose metadata marks who wrote it (docs/widget-protocol.md)."""
    return {"event": "bot", "text": text, "metadata": {"from": AGENT, "agent_name": agent_name}}


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
