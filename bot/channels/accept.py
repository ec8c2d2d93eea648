"""Rasa's Sanic app keeps an error's own status when a request's Accept header is one Sanic cannot parse.

Sanic 21.12 (Rasa 3.6's) reads the Accept header to choose the format of an error page and fails on one it
cannot parse (`x`, `*`, `text/*;q=abc`, ...), so a 404, a 405 or a 400 became a 500 ("An error occurred while
handling an error") for anyone, with no token, on every path of Rasa's port. The channels' blueprints
(`ChannelBlueprint`) register `ignore_malformed_accept` on the app: such a header counts as absent. Requests with
a valid one are untouched.
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Sanic
from sanic.exceptions import InvalidHeader
from sanic.headers import AcceptContainer
from sanic.request import Request

from bot.channels import api_requests


async def ignore_malformed_accept(request: Request) -> None:
    """Request middleware (it runs before error pages too): an Accept header Sanic cannot parse counts as none."""
    try:
        _ = request.accept  # parsed on first access, and kept for the error page
    except (InvalidHeader, ValueError):
        request.parsed_accept = AcceptContainer()


def register(app: Sanic) -> None:
    """Once per app, however many channels call it (Sanic keeps one copy of a middleware)."""
    app.register_middleware(ignore_malformed_accept, "request")


class ChannelBlueprint(Blueprint):
    """A channel's blueprint: joining Rasa's app, it registers `ignore_malformed_accept` there, and the checks of
    the bodies of requests to Rasa's HTTP API (`bot.channels.api_requests`)."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        register(app)
        api_requests.register(app)
        super().register(app, options)
