"""Customer identity: the shop's server signs the customer id, the bot verifies it.

The widget cannot be trusted, so the only customer id actions use is the `sub` of a token that verifies
with the shared secret. Anything typed in the chat is just text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jwt

from bot.settings import get_settings

ALGORITHM = "HS256"
ISSUER = "tandem-shop"
METADATA_KEY = "customer_token"
MAX_CUSTOMER_ID_CHARS = 64
MAX_TOKEN_CHARS = 4096


class InvalidToken(Exception):
    """The token is missing, malformed, expired or signed with another key."""


def is_customer_id(value: Any) -> bool:
    """A shop's customer id: 1 to 64 printable characters, no surrounding spaces (never NUL or a lone surrogate,
    which no database column can hold)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CUSTOMER_ID_CHARS
        and value.isprintable()
        and value == value.strip()
    )


def sign_customer(external_id: str, ttl_seconds: int | None = None, secret: str | None = None) -> str:
    if not is_customer_id(external_id):
        raise ValueError(f"a customer id is 1 to {MAX_CUSTOMER_ID_CHARS} printable characters")
    settings = get_settings()
    now = int(time.time())
    claims = {
        "sub": external_id,
        "iss": ISSUER,
        "iat": now,
        "exp": now + (ttl_seconds if ttl_seconds is not None else settings.token_ttl_seconds),
    }
    return jwt.encode(claims, secret or settings.secret_key, algorithm=ALGORITHM)


def verify_token(token: Any, secret: str | None = None) -> str:
    """Return the customer external id the token was signed for."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("no customer token")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():  # a JWT is short base64url text
        raise InvalidToken("invalid customer token: not a token")
    try:
        claims = jwt.decode(
            token,
            secret or get_settings().secret_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("customer token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid customer token: {exc}") from exc
    if not is_customer_id(claims["sub"]):
        raise InvalidToken("invalid customer token: the subject is not a customer id")
    return claims["sub"]


def customer_from_metadata(metadata: Mapping[str, Any] | None) -> str | None:
    """The verified customer id of a message's metadata, or None for an anonymous visitor."""
    if not metadata:
        return None
    try:
        return verify_token(metadata.get(METADATA_KEY))
    except InvalidToken:
        return None
