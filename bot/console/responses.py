"""Errors and JSON answers shared by the console's handlers: every failure is a clear message, never a
traceback."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.errors import ClientError

NO_STORE = {"Cache-Control": "no-store"}


class ApiError(ClientError):
    """Raised by a handler (or the work it runs) to answer `status` with `message`, as JSON or as a page."""


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, headers=NO_STORE)


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=NO_STORE)


def wants_json(request: web.Request) -> bool:
    """API, websocket and internal paths answer JSON; pages answer HTML."""
    path = request.path
    return path.startswith("/api/") or path == "/ws" or path.startswith("/internal/") or path == "/healthz"
