"""The shop's demo page: a customer picker, the embedded chat widget, the token-signing endpoint and the
signed-in customer's download of their own data.

Run it with `python -m bot.web.shop_site` (host and port from TANDEM_WEB_HOST / TANDEM_WEB_PORT).
The Rasa server must allow this page's origin (`rasa run --cors "*"` or the page's origin), because the
widget talks to its socket.io channel directly from the browser.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.identity import MAX_CUSTOMER_ID_CHARS, InvalidToken, is_customer_id, sign_customer, verify_token
from bot.privacy.config import DataLocations
from bot.privacy.service import UnknownCustomer, request_export
from bot.privacy.tracker_store import TrackerStoreUnavailable
from bot.settings import Settings, get_settings, settings_or_exit
from bot.web import security
from bot.web.customers import CustomerDirectory, SqlCustomerDirectory
from bot.web.errors import error_middleware, log_client_mistakes_as_warnings, read_json_object

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"

DEMO_CUSTOMER_LIMIT = 25
MAX_REQUEST_BYTES = 64 * 1024

SETTINGS_KEY = web.AppKey("settings", Settings)
DIRECTORY_KEY = web.AppKey("customer_directory", CustomerDirectory)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
DATA_KEY = web.AppKey("data_locations", DataLocations)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, headers={"Cache-Control": "no-store"})


def _answer(request: web.Request, status: int, message: str, extra: Mapping[str, Any]) -> web.Response:
    return json_error(status, message, **extra)


errors = error_middleware(_answer, database_down="The customer database is not available right now.")


def data_locations(settings: Settings) -> DataLocations:
    """Where a customer's data is read from for their download: the stores these settings name."""
    return DataLocations(
        database_url=settings.database_url,
        tracker_url=settings.tracker_db_url,
        models_dir=settings.models_dir,
        secret_key=settings.secret_key,
    )


def create_app(
    customer_directory: CustomerDirectory, settings: Settings | None = None, *, data: DataLocations | None = None
) -> web.Application:
    """The demo shop; `data` (default: the stores `settings` name) is what `/api/my-data` exports from."""
    settings = settings or get_settings()
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[security_headers, errors])
    app[SETTINGS_KEY] = settings
    app[DIRECTORY_KEY] = customer_directory
    app[DATA_KEY] = data or data_locations(settings)
    app[TEMPLATES_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", index)
    app.router.add_post("/api/session", create_session)
    app.router.add_get("/api/config", config)
    app.router.add_post("/api/my-data", my_data)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    return app


WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _rasa_origins(url: str) -> list[str]:
    """Rasa's origin for the socket.io polling requests and the same origin as ws(s):// for its websocket."""
    origin = _origin(url)
    scheme = urlsplit(url).scheme
    if not origin or scheme not in WEBSOCKET_SCHEMES:
        return []
    return [origin, WEBSOCKET_SCHEMES[scheme] + origin[len(scheme) :]]


def content_security_policy(settings: Settings) -> str:
    # The widget talks to Rasa directly from the browser over socket.io, so Rasa's origins must be allowed;
    # product pictures may come from the shop's image host. The socket.io client itself is same-origin.
    return security.content_security_policy(
        connect=_rasa_origins(settings.rasa_public_url), img=("data:", "https:", "http:")
    )


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


async def index(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    directory = request.app[DIRECTORY_KEY]
    directory_error = None
    try:
        customers = await asyncio.to_thread(directory.list_demo_customers, DEMO_CUSTOMER_LIMIT)
    except Exception:  # the page still works anonymously without the database
        log.exception("could not list demo customers")
        customers = []
        directory_error = "The customer database is not available, so you can only chat anonymously."
    html = (
        request.app[TEMPLATES_KEY]
        .get_template("shop.html")
        .render(
            customers=customers,
            directory_error=directory_error,
            rasa_url=settings.rasa_public_url,
            max_message_chars=settings.max_message_chars,
        )
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={"Content-Security-Policy": content_security_policy(settings)},
    )


async def create_session(request: web.Request) -> web.Response:
    """Sign a customer token for the demo customer the visitor picked.

    DEMO ONLY: this signs a token for *any* customer id it is given, i.e. anyone can act as anyone.
    In a real shop, the shop's own server calls `sign_customer(...)` after its own login, for the
    customer of the logged-in session (never for an id sent by the browser), and hands the token to
    the page, which passes it to the widget with `TandemWidget.setCustomer(token, customer)`.
    """
    settings = request.app[SETTINGS_KEY]
    body = await read_json_object(request, example='{"customer_id": "CUST-00001"}')
    customer_id = body.get("customer_id")
    if not isinstance(customer_id, str) or not customer_id.strip():
        return json_error(400, '"customer_id" is required and must be a non-empty string.')
    customer_id = customer_id.strip()
    if len(customer_id) > MAX_CUSTOMER_ID_CHARS:
        return json_error(400, f'"customer_id" must be at most {MAX_CUSTOMER_ID_CHARS} characters.')
    if not is_customer_id(customer_id):
        return json_error(400, '"customer_id" may only hold printable characters.')
    try:
        customer = await asyncio.to_thread(request.app[DIRECTORY_KEY].get, customer_id)
    except Exception:
        log.exception("could not look up customer %r", customer_id)
        return json_error(503, "The customer database is not available right now.")
    if customer is None:
        return json_error(404, "Unknown customer.", customer_id=customer_id)
    token = sign_customer(customer.external_id, ttl_seconds=settings.token_ttl_seconds, secret=settings.secret_key)
    return web.json_response(
        {
            "token": token,
            "customer": customer.to_json(),
            "rasa_url": settings.rasa_public_url,
            "expires_in": settings.token_ttl_seconds,
        },
        headers={"Cache-Control": "no-store"},
    )


_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
TOKEN_REJECTED = "Your sign-in has expired or is not valid. Sign in again to download your data."


def export_filename(external_id: str) -> str:
    """`tandem-data-CUST-00042.json`; any character that could break the header or a file system becomes `_`."""
    return f"tandem-data-{_UNSAFE_FILENAME_CHARS.sub('_', external_id).strip('._') or 'customer'}.json"


async def my_data(request: web.Request) -> web.Response:
    """The signed-in customer's own copy of their data, as a JSON file to save.

    The token travels in the body (never the URL, where logs and history would keep it) and is the only source of
    the customer id, so a visitor can only ever download the data of the customer their token was signed for.
    """
    settings = request.app[SETTINGS_KEY]
    body = await read_json_object(request, example='{"token": "<the customer token>"}')
    token = body.get("token")
    if not isinstance(token, str) or not token.strip():
        return json_error(400, '"token" is required and must be the customer token the shop signed.')
    try:
        external_id = verify_token(token.strip(), secret=settings.secret_key)
    except InvalidToken:
        return json_error(401, TOKEN_REJECTED)
    try:
        document = await asyncio.to_thread(request_export, external_id, request.app[DATA_KEY])
    except UnknownCustomer:
        return json_error(404, "We hold no data about this customer.")
    except TrackerStoreUnavailable:
        log.exception("export of %s: the conversation history could not be read", external_id)
        return json_error(503, "Your conversation history is not available right now. Try again in a moment.")
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    return web.Response(
        text=text,
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(external_id)}"',
            "Cache-Control": "no-store",
        },
    )


async def config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    return web.json_response({"rasa_url": settings.rasa_public_url, "max_message_chars": settings.max_message_chars})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_client_mistakes_as_warnings()
    settings = settings_or_exit()
    log.warning("demo shop: /api/session signs a token for any customer id; never expose it publicly")
    app = create_app(SqlCustomerDirectory(settings.database_url), settings)
    web.run_app(app, host=settings.web_host, port=settings.web_port)


if __name__ == "__main__":
    main()
