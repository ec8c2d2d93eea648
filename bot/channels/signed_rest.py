"""A REST input channel: Rasa's REST protocol, plus verified customer identity and input checks.

A message carries `metadata.customer_token`, signed by the shop's server. A token that does not verify is
refused with 401 before Rasa sees the message; no token means an anonymous visitor. The metadata passed on
to Rasa is rebuilt here, so a client cannot smuggle its own `customer_id` into it. Who may write into a
conversation, and which typed payloads are taken, is `bot.channels.admission`, as for the socket channel; too
many requests from one address or messages from one customer get 429 with `Retry-After` (`bot.channels.limits`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import admission, no_answer
from bot.channels.accept import ChannelBlueprint
from bot.channels.inbound import (
    NO_ANSWER_TEXT,
    ChannelError,
    check_sender,
    check_text,
    customer_of,
    verified_metadata,
)
from bot.channels.limits import ChannelLimits
from bot.handoff.relay import HandoffRelay, default_relay
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def parse_request(payload: Any, max_chars: int) -> tuple[str, str, dict[str, Any]]:
    """Validate a webhook body; returns (sender, text, metadata for Rasa)."""
    if not isinstance(payload, dict):
        raise ChannelError(400, "expected a JSON object with 'sender' and 'message'")
    sender = check_sender(payload.get("sender"))
    text = check_text(payload.get("message"), max_chars)
    return sender, text, verified_metadata(payload.get("metadata"))


def refusal(exc: ChannelError) -> HTTPResponse:
    """A refused request: its status and reason; `Retry-After` when the client should wait (429)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return response.json(exc.body(), status=exc.status, headers=headers)


class TandemInput(InputChannel):
    """`POST /webhooks/tandem/webhook` with `{"sender", "message", "metadata": {"customer_token"}}`."""

    @classmethod
    def name(cls) -> str:
        return "tandem"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TandemInput:
        return cls()

    def __init__(self, relay: HandoffRelay | None = None, limits: ChannelLimits | None = None) -> None:
        self.relay = relay or default_relay()
        self.limits = limits

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = ChannelBlueprint("tandem_webhook", module.__name__ if module else None)
        limits = self.limits = self.limits or ChannelLimits.from_settings(get_settings())

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                await limits.check_address(limits.address_of(request.ip, request.headers.get("X-Forwarded-For")))
            except ChannelError as exc:
                return refusal(exc)
            try:
                payload = request.json
            except Exception:  # sanic raises InvalidUsage on a body that is not JSON
                return response.json({"error": "the body is not valid JSON"}, status=400)
            try:
                sender, text, metadata = parse_request(payload, get_settings().max_message_chars)
                await limits.check_customer(customer_of(metadata), sender)
                await admission.admit(self.relay.database_url, sender, customer_of(metadata), self.name())
            except ChannelError as exc:
                return refusal(exc)
            if not await admission.offered(request.app, sender, text):
                return response.json([{"recipient_id": sender, "text": admission.NOT_OFFERED_TEXT}])

            # During a handoff the message goes to the person's log first (the bot stays quiet).
            handoff = await self.relay.take_customer_message(sender, text)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            except Exception:
                logger.exception("tandem channel: message from %s failed", sender)
                return response.json([{"recipient_id": sender, "text": NO_ANSWER_TEXT}], status=200)
            if not collector.messages and handoff is not None:
                return response.json([])  # a person answers, through the console
            if not collector.messages:
                # Rasa swallows action-server failures and answers nothing; the customer must still hear back.
                apology = await no_answer.record_apology(request.app, sender)
                return response.json([{"recipient_id": sender, "text": apology["text"]}])
            return response.json(collector.messages)

        return webhook
