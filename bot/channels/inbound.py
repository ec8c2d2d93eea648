"""What every Tandem input channel checks before Rasa sees a message, so REST and socket.io agree.

The metadata passed on to Rasa is rebuilt here from a verified token: a client cannot smuggle its own
`customer_id` into it.
"""

from __future__ import annotations

import re
from typing import Any

from bot.identity import METADATA_KEY, InvalidToken, verify_token
from bot.text import storable

NO_ANSWER_TEXT = (
    "Sorry, I couldn't finish that just now. Please try again in a moment; "
    "if it keeps happening, our team is at support@tandem.example."
)
MAX_SENDER_CHARS = 128
_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class ChannelError(Exception):
    """A message the channel refuses; `status` is the HTTP-style code the client sees."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, with 429 (too many messages)

    def body(self) -> dict[str, Any]:
        """The refusal as the client reads it: `{"error"}`, plus `retry_after` when there is one."""
        body: dict[str, Any] = {"error": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


def check_sender(sender: Any, *, strict: bool = False) -> str:
    """A conversation id: a non-empty string of at most 128 characters (`strict`: letters, digits, _.:@-)."""
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise ChannelError(400, "'sender' must be a non-empty string of at most 128 characters")
    sender = sender.strip()
    if not sender.isprintable():
        raise ChannelError(400, "'sender' may only hold printable characters")
    if strict and not _SENDER.match(sender):
        raise ChannelError(400, "the conversation id may only hold letters, digits and _ . : @ -")
    return sender


def check_text(text: Any, max_chars: int) -> str:
    """The message as every store can keep it (`bot.text.storable`), so nothing a customer wrote is lost to an
    encoding error further down."""
    if not isinstance(text, str):
        raise ChannelError(400, "'message' must be a string")
    text = storable(text)
    if not text.strip():
        raise ChannelError(400, "the message is empty")
    if len(text) > max_chars:
        raise ChannelError(413, f"the message is too long: {len(text)} characters, at most {max_chars}")
    return text


MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_message_id(value: Any) -> str | None:
    """The client's id for one message, which its retries repeat: a retry of a message already stored is not
    stored (or answered) twice."""
    if value is None:
        return None
    if not isinstance(value, str) or not MESSAGE_ID.fullmatch(value):
        raise ChannelError(400, "'message_id' must be 1 to 64 letters, digits, '-' or '_'")
    return value


def verified_metadata(raw_metadata: Any) -> dict[str, Any]:
    """Metadata for Rasa: the verified customer id and its token, or nothing for an anonymous visitor."""
    raw_metadata = raw_metadata or {}
    if not isinstance(raw_metadata, dict):
        raise ChannelError(400, "'metadata' must be an object")
    token = raw_metadata.get(METADATA_KEY)
    if token is None:
        return {}
    return {"customer_id": verify(token), METADATA_KEY: token}


def verify(token: Any) -> str:
    try:
        return verify_token(token)
    except InvalidToken as exc:
        raise ChannelError(401, str(exc)) from exc


def customer_of(metadata: dict[str, Any]) -> str | None:
    return metadata.get("customer_id")
