"""Who is signed in: the session cookie, CSRF tokens, the login form (with a brake on guessing), logout.

Every path needs a valid session except the login form, `/healthz`, `/static/*` and `POST /internal/wake`
(which needs Rasa's service token instead). Without one, pages redirect to `/login` and the API answers
401. Every state-changing request also needs the session's CSRF token (header `X-CSRF-Token`, or the form
field `csrf_token`) and, when the browser sends an Origin, the console's own.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from bot.console import agents, db
from bot.console.keys import CLOCK, DATABASE_URL, LOGIN_LIMIT, SESSION_TOKEN, SIGNED_IN, THROTTLE
from bot.console.pages import render
from bot.console.responses import json_error, wants_json
from bot.db.session import DatabaseUnavailable
from bot.ratelimit import retry_after
from bot.web.errors import read_form

COOKIE = "tandem_console"
LOGIN_COOKIE = "tandem_console_login"  # the login form's own CSRF token (there is no session yet)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_PATHS = {"/login", "/healthz"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_public(request: web.Request) -> bool:
    path = request.path
    if path in PUBLIC_PATHS or path.startswith("/static/"):
        return True
    return path == "/internal/wake" and request.method == "POST"


def same_origin(request: web.Request, origin: str | None) -> bool:
    """Whether a browser's Origin header names this console (the host the browser asked for)."""
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == (request.host or "").lower()


MAX_NEXT_CHARS = 2048
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))


def _local_path(target: str) -> bool:
    """A path on this origin however a browser reads it. Browsers drop tabs and newlines anywhere in a URL, trim
    control characters and spaces, and read a backslash as a slash, so any of those (or anything outside
    printable ASCII, such as look-alike slashes) is refused rather than guessed at."""
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return False
    if not set(target) <= _PRINTABLE_ASCII:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console only (never another site); "/" otherwise.

    The target must be a local path both as sent and once percent-decoded (up to three times), so neither an
    encoded `//` nor an encoded backslash or control character gets through a server or proxy that decodes."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_CHARS:
        return "/"
    decoded = target
    for _ in range(3):
        if not _local_path(decoded):
            return "/"
        unquoted = unquote(decoded)
        if unquoted == decoded:
            return target
        decoded = unquoted
    return "/"  # still encoded after three rounds: nobody's real link


def session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
        max_age=int(agents.SESSION_TTL.total_seconds()),
    )


async def _csrf_sent(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in FORM_TYPES:
        form = await read_form(request)
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def authenticate(request: web.Request, handler):
    if is_public(request):
        return await handler(request)
    token = request.cookies.get(COOKIE)
    signed = None
    if token:
        now = request.app[CLOCK]()
        signed = await db.run(request.app[DATABASE_URL], lambda s: agents.signed_in(s, token, now=now))
    if signed is None:
        if wants_json(request):
            response = json_error(401, "Sign in first.", login="/login")
        else:
            target = request.path_qs if request.method in SAFE_METHODS else "/"
            response = web.HTTPFound("/login?next=" + quote(target, safe="/"))
        if token:
            response.del_cookie(COOKIE, path="/")
        if isinstance(response, web.HTTPException):
            raise response
        return response
    request[SIGNED_IN] = signed
    request[SESSION_TOKEN] = token
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(request, origin):
            return json_error(403, "This request came from another site.")
        sent = await _csrf_sent(request)
        if not sent or not hmac.compare_digest(sent.encode(), signed.csrf_token.encode()):
            message = "The security token is missing or out of date; reload the page and try again."
            if wants_json(request):
                return json_error(403, message)
            return render(request, "error.html", status=403, title="Please reload", message=message)
    return await handler(request)


# --- the login form -----------------------------------------------------------------------------------------------


def _login_page(
    request: web.Request, *, status: int = 200, error: str | None = None, username: str = ""
) -> web.Response:
    form_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status=status,
        title="Sign in",
        error=error,
        username=username,
        form_token=form_token,
        next=safe_next(request.query.get("next")),
    )
    response.set_cookie(
        LOGIN_COOKIE, form_token, httponly=True, samesite="Strict", secure=request.secure, path="/login"
    )
    return response


async def login_form(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        now = request.app[CLOCK]()
        try:
            signed = await db.run(request.app[DATABASE_URL], lambda s: agents.signed_in(s, token, now=now))
        except DatabaseUnavailable:  # the form itself does not need the database
            signed = None
        if signed is not None:
            raise web.HTTPFound(safe_next(request.query.get("next")))
    return _login_page(request)


def _too_many(request: web.Request, wait: float, error: str, username: str = "") -> web.Response:
    """429 with `Retry-After`, on the login page so that a person reads why."""
    response = _login_page(request, status=429, error=error, username=username)
    response.headers["Retry-After"] = str(retry_after(wait))
    return response


async def login(request: web.Request) -> web.Response:
    wait = await request.app[LOGIN_LIMIT].wait(request.remote, request.headers.get("X-Forwarded-For"))
    if wait > 0:
        seconds = retry_after(wait)
        return _too_many(request, wait, f"Too many sign-in attempts from your address. Try again in {seconds} s.")
    form = await read_form(request)
    username = agents.normalize_username(str(form.get("username") or ""))[:64]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    sent = str(form.get(CSRF_FIELD) or "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_page(request, status=400, error="The sign-in form expired. Please try again.", username=username)
    if not username or not password:
        return _login_page(request, status=400, error="Enter your username and password.", username=username)
    throttle = request.app[THROTTLE]
    wait = throttle.locked_for(username)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        return _too_many(request, wait, error, username)
    url = request.app[DATABASE_URL]
    agent = await db.run(url, lambda s: agents.authenticate(s, username, password))
    if agent is None:
        throttle.failed(username)
        await asyncio.sleep(throttle.delay_seconds)
        return _login_page(request, status=401, error="Wrong username or password.", username=username)
    throttle.succeeded(username)
    now = request.app[CLOCK]()
    token, _csrf = await db.run(url, lambda s: agents.start_session(s, agent.id, now=now))
    response = web.HTTPFound(target)
    session_cookie(response, request, token)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    token = request[SESSION_TOKEN]
    await db.run(request.app[DATABASE_URL], lambda s: agents.end_session(s, token))
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response
