"""The widget's input channel: Rasa's REST protocol, plus verified customer identity and input checks.

A message carries `metadata.customer_token`, signed by the shop's server. A token that does not verify is
refused with 401 before Rasa sees the message; no token means an anonymous visitor. The metadata passed on
to Rasa is rebuilt here, so a client cannot smuggle its own `customer_id` into it.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from bot.identity import METADATA_KEY, InvalidToken, verify_token
from bot.settings import get_settings

logger = logging.getLogger(__name__)

NO_ANSWER_TEXT = (
    "Sorry, I couldn't finish that just now. Please try again in a moment; "
    "if it keeps happening, our team is at support@tandem.example."
)


class ChannelError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_request(payload: Any, max_chars: int) -> tuple[str, str, Dict[str, Any]]:
    """Validate a webhook body; returns (sender, text, metadata for Rasa)."""
    if not isinstance(payload, dict):
        raise ChannelError(400, "expected a JSON object with 'sender' and 'message'")
    sender = payload.get("sender")
    text = payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 128:
        raise ChannelError(400, "'sender' must be a non-empty string of at most 128 characters")
    if not isinstance(text, str):
        raise ChannelError(400, "'message' must be a string")
    if not text.strip():
        raise ChannelError(400, "the message is empty")
    if len(text) > max_chars:
        raise ChannelError(413, f"the message is too long: {len(text)} characters, at most {max_chars}")
    raw_metadata = payload.get("metadata") or {}
    if not isinstance(raw_metadata, dict):
        raise ChannelError(400, "'metadata' must be an object")
    metadata: Dict[str, Any] = {}
    token = raw_metadata.get(METADATA_KEY)
    if token is not None:
        try:
            metadata["customer_id"] = verify_token(token)
        except InvalidToken as exc:
            raise ChannelError(401, str(exc)) from exc
        metadata[METADATA_KEY] = token
    return sender.strip(), text, metadata


class TandemInput(InputChannel):
    """`POST /webhooks/tandem/webhook` with `{"sender", "message", "metadata": {"customer_token"}}`."""

    @classmethod
    def name(cls) -> Text:
        return "tandem"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TandemInput":
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint("tandem_webhook", module.__name__ if module else None)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                payload = request.json
            except Exception:  # sanic raises InvalidUsage on a body that is not JSON
                return response.json({"error": "the body is not valid JSON"}, status=400)
            try:
                sender, text, metadata = parse_request(payload, get_settings().max_message_chars)
            except ChannelError as exc:
                return response.json({"error": exc.message}, status=exc.status)

            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
                )
            except Exception:
                logger.exception("tandem channel: message from %s failed", sender)
                return response.json([{"recipient_id": sender, "text": NO_ANSWER_TEXT}], status=200)
            if not collector.messages:
                # Rasa swallows action-server failures and answers nothing; the customer must still hear back.
                return response.json([{"recipient_id": sender, "text": NO_ANSWER_TEXT}])
            return response.json(collector.messages)

        return webhook
