"""Errors as clear answers in our aiohttp apps (the shop page and the agent console): one middleware each.

A client's mistake (a body that is not UTF-8, not JSON, nested too deeply, the wrong type, too large) is a 4xx
with a sentence; a database that is down is a 503; only our own bugs are a 500, logged with their traceback.
Handlers read bodies with `read_json_object` / `read_form`, so a bad body never reaches their code.
"""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from bot.db.session import DatabaseUnavailable

log = logging.getLogger(__name__)

# Deeper JSON than this is refused before Python's parser recurses (no real request nests past a few levels).
MAX_JSON_DEPTH = 32
NOT_UTF8 = "The request body must be UTF-8 text."
TOO_DEEP = f"The request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
NOT_FORM = "The form could not be read."

Answer = Callable[[web.Request, int, str, Mapping[str, Any]], web.StreamResponse]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS_MESSAGES = {
    400: "That request could not be read.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    413: "That request is too large.",
}


class ClientError(Exception):
    """Raised by a handler (or the work it runs) to answer `status` with `message`, plus `extra` fields."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether no bracket nests deeper than `limit` (strings are skipped), checked in one pass without recursion."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_json(text: str, hint: str = "") -> Any:
    if not json_depth_ok(text):
        raise ClientError(400, TOO_DEEP)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ClientError(400, f"The request body must be JSON{hint}.") from None


async def read_json_object(request: web.Request, *, empty: dict | None = None, example: str = "") -> dict:
    """The body as a JSON object; `empty` stands in for an empty body (None: an empty body is an error)."""
    hint = f", e.g. {example}" if example else ""
    try:
        text = await request.text()
    except UnicodeDecodeError:
        raise ClientError(400, f"The request body must be UTF-8 JSON{hint}.") from None
    if not text.strip():
        if empty is not None:
            return dict(empty)
        raise ClientError(400, f"The request body must be JSON{hint}.")
    body = parse_json(text, hint)
    if not isinstance(body, dict):
        raise ClientError(400, f"The request body must be a JSON object{hint}.")
    return body


async def read_form(request: web.Request) -> MultiDictProxy:
    """The posted form; a body that is not UTF-8 or not a form is the client's mistake."""
    try:
        return await request.post()
    except UnicodeDecodeError:
        raise ClientError(400, NOT_UTF8) from None
    except (ValueError, AssertionError):
        raise ClientError(400, NOT_FORM) from None


def error_middleware(
    answer: Answer, *, database_down: str
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """The app's one error policy; `answer(request, status, message, extra)` renders it (JSON or a page)."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ClientError as exc:
            return answer(request, exc.status, exc.message, exc.extra)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return answer(request, exc.status, _STATUS_MESSAGES.get(exc.status, exc.reason), {})
        except UnicodeDecodeError:  # a body read without the helpers above
            return answer(request, 400, NOT_UTF8, {})
        except RecursionError:
            return answer(request, 400, TOO_DEEP, {})
        except DatabaseUnavailable:
            log.exception("database error on %s %s", request.method, request.path)
            return answer(request, 503, database_down, {})
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
                return answer(request, 404, _STATUS_MESSAGES[404], {})  # a static name longer than any file's
            log.exception("unexpected error on %s %s", request.method, request.path)
            return answer(
                request, 500, "Something went wrong on our side. Try again; if it keeps happening, tell us.", {}
            )

    return errors


class _ClientMistakesAsWarnings(logging.Filter):
    """aiohttp logs a request it could not even parse (a request line over 8 KB, a broken header) as an ERROR with a
    traceback, though it is the client's mistake and already answered with a 400: one warning line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 400) < 500:
            record.msg = f"refused a malformed request: {exc.code} {exc.message}".replace("%", "%%")
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def log_client_mistakes_as_warnings() -> None:
    """Call once in a web app's main(): see `_ClientMistakesAsWarnings`."""
    logging.getLogger("aiohttp.server").addFilter(_ClientMistakesAsWarnings())
