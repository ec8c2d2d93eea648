"""Customer identity: the shop's server signs the customer id, the bot verifies it.

The widget cannot be trusted, so the only customer id actions use is the `sub` of a token that verifies
with the shared secret. Anything typed in the chat is just text.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional

import jwt

from bot.settings import get_settings

ALGORITHM = "HS256"
ISSUER = "tandem-shop"
METADATA_KEY = "customer_token"


class InvalidToken(Exception):
    """The token is missing, malformed, expired or signed with another key."""


def sign_customer(external_id: str, ttl_seconds: Optional[int] = None, secret: Optional[str] = None) -> str:
    if not external_id or not isinstance(external_id, str):
        raise ValueError("a customer external id is required")
    settings = get_settings()
    now = int(time.time())
    claims = {
        "sub": external_id,
        "iss": ISSUER,
        "iat": now,
        "exp": now + (ttl_seconds if ttl_seconds is not None else settings.token_ttl_seconds),
    }
    return jwt.encode(claims, secret or settings.secret_key, algorithm=ALGORITHM)


def verify_token(token: Any, secret: Optional[str] = None) -> str:
    """Return the customer external id the token was signed for."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("no customer token")
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
    return str(claims["sub"])


def customer_from_metadata(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The verified customer id of a message's metadata, or None for an anonymous visitor."""
    if not metadata:
        return None
    try:
        return verify_token(metadata.get(METADATA_KEY))
    except InvalidToken:
        return None
