"""The browser-facing security headers our web apps share (the shop page and the agent console)."""

from __future__ import annotations

from collections.abc import Iterable


def content_security_policy(*, connect: Iterable[str] = (), img: Iterable[str] = ("data:",)) -> str:
    """Scripts, styles and frames from our own origin only; `connect` and `img` add the sources a page needs."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(["img-src 'self'", *img]),
            " ".join(["connect-src 'self'", *connect]),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
