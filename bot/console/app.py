"""The agent console's aiohttp application: routes, security headers, errors as clear answers.

`python -m bot.console` runs it on TANDEM_CONSOLE_HOST:TANDEM_CONSOLE_PORT (127.0.0.1:8001 by default).
Endpoints are listed in docs/console.md.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.console import api, auth, editor, insights, models, pages, privacy, review
from bot.console import conversations as review_conversations
from bot.console.delivery import Delivery
from bot.console.feed import POLL_SECONDS, Feed
from bot.console.keys import (
    CLOCK,
    DATABASE_URL,
    DELIVERY,
    FEED,
    LOGIN_LIMIT,
    MODEL_RELEASE,
    OWNS_RASA,
    PRIVACY,
    RASA,
    REVIEW_DATA,
    RULES,
    SETTINGS,
    TEMPLATES,
    THROTTLE,
)
from bot.console.model_jobs import ModelRelease, default_release
from bot.console.responses import NO_STORE, json_error, wants_json
from bot.console.throttle import LoginLimit, LoginThrottle
from bot.console.websocket import websocket
from bot.db.models import utcnow
from bot.handoff.relay import WAKE_PATH, WAKE_PURPOSE
from bot.handoff.routing import HandoffRules, default_rules
from bot.privacy.config import DataLocations
from bot.rasa_api import RasaApi
from bot.review.service import TrainingData
from bot.settings import Settings, settings_or_exit
from bot.web import security
from bot.web.errors import error_middleware, log_client_mistakes_as_warnings

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
RASA_TIMEOUT = 4.0  # below SQLite's 5 s lock wait: a resolve holds its transaction while Rasa answers
ID = r"{id:\d{1,12}}"
DATABASE_DOWN = "The console's database is not reachable right now. Try again in a moment."


def content_security_policy(request: web.Request) -> str:
    host = request.host
    return security.content_security_policy(connect=(f"ws://{host}", f"wss://{host}"))


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
    return response


def _answer(request: web.Request, status: int, message: str, extra: Mapping[str, Any]) -> web.Response:
    if wants_json(request):
        return json_error(status, message, **extra)
    return pages.error_page(request, status, message)


errors = error_middleware(_answer, database_down=DATABASE_DOWN)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers=NO_STORE)


async def wake(request: web.Request) -> web.Response:
    """Rasa's process says a customer wrote (bot.handoff.relay): poll now rather than within the second."""
    expected = request.app[SETTINGS].service_token(WAKE_PURPOSE)
    header = request.headers.get("Authorization", "")
    sent = header[7:] if header.startswith("Bearer ") else ""
    if not sent or not sent.isascii() or not hmac.compare_digest(sent.encode(), expected.encode()):
        return json_error(401, "A valid service token is required.")
    request.app[FEED].wake()
    return web.Response(status=204, headers=NO_STORE)


async def _start(app: web.Application) -> None:
    await app[FEED].start()


async def _disconnect(app: web.Application) -> None:
    await app[FEED].disconnect_all()


async def _stop(app: web.Application) -> None:
    await app[FEED].stop()
    if app[OWNS_RASA]:
        await app[RASA].close()
    await app[LOGIN_LIMIT].limiter.close()


def create_app(
    settings: Settings,
    *,
    rasa: RasaApi | None = None,
    database_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
    rules: HandoffRules | None = None,
    throttle: LoginThrottle | None = None,
    login_limit: LoginLimit | None = None,
    poll_seconds: float = POLL_SECONDS,
    privacy_data: DataLocations | None = None,
    review_data: TrainingData | None = None,
    model_release: ModelRelease | None = None,
) -> web.Application:
    """The console. `rasa`, `clock`, `rules`, `throttle` and `login_limit` default to the real ones (tests pass
    their own); `privacy_data`, what an admin's erasure clears, defaults to the stores `settings` name;
    `review_data`, where the NLU inbox writes accepted examples, to the project's data/nlu and domain;
    `model_release`, the models the model page checks and publishes, to the settings' models and state folders."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[security_headers, errors, auth.authenticate])
    url = database_url or settings.database_url
    clock = clock or utcnow
    app[SETTINGS] = settings
    app[DATABASE_URL] = url
    app[OWNS_RASA] = rasa is None
    app[RASA] = rasa or RasaApi(settings.rasa_url, settings.rasa_api_token, timeout=RASA_TIMEOUT)
    app[CLOCK] = clock
    app[RULES] = rules or default_rules()
    app[TEMPLATES] = pages.templates()
    app[THROTTLE] = throttle or LoginThrottle()
    app[LOGIN_LIMIT] = login_limit or LoginLimit.from_settings(settings)
    app[PRIVACY] = privacy_data or DataLocations(
        database_url=url,
        tracker_url=settings.tracker_db_url,
        models_dir=settings.models_dir,
        secret_key=settings.secret_key,
    )
    app[REVIEW_DATA] = review_data or TrainingData()
    app[MODEL_RELEASE] = model_release or default_release(settings)
    delivery = Delivery(url, app[RASA], clock)
    feed = Feed(url, app[RULES], delivery, clock, poll_seconds=poll_seconds)
    delivery.on_delivered = feed.delivered
    app[DELIVERY] = delivery
    app[FEED] = feed

    r = app.router
    r.add_get("/login", auth.login_form)
    r.add_post("/login", auth.login)
    r.add_post("/logout", auth.logout)
    r.add_get("/healthz", healthz)
    r.add_post(WAKE_PATH, wake)
    r.add_get("/", pages.index)
    r.add_get(f"/handoffs/{ID}", pages.handoff_page)
    r.add_get("/ws", websocket)
    r.add_get("/api/me", api.me)
    r.add_get("/api/queue", api.queue)
    r.add_get(f"/api/handoffs/{ID}", api.handoff)
    r.add_get(f"/api/handoffs/{ID}/timeline", api.timeline)
    r.add_post(f"/api/handoffs/{ID}/claim", api.claim)
    r.add_post(f"/api/handoffs/{ID}/messages", api.reply)
    r.add_post(f"/api/handoffs/{ID}/notes", api.note)
    r.add_post(f"/api/handoffs/{ID}/resolve", api.resolve)
    r.add_post(f"/api/handoffs/{ID}/hand-back", api.hand_back)
    r.add_get("/privacy", privacy.page)
    r.add_get("/api/privacy-requests", privacy.list_requests)
    r.add_post(f"/api/privacy-requests/{ID}/erase", privacy.erase)
    r.add_post(f"/api/privacy-requests/{ID}/cancel", privacy.cancel)
    r.add_get("/insights", insights.page)
    r.add_get(r"/insights/{slug:[a-z][a-z-]{0,40}}.csv", insights.csv_download)
    r.add_get("/review/inbox", review.page)
    r.add_get("/api/review/inbox", review.inbox_json)
    r.add_post(f"/api/review/messages/{ID}/annotate", review.annotate)
    r.add_post("/api/review/groups/annotate", review.annotate_group)
    r.add_get("/review/conversations", review_conversations.list_page)
    r.add_get(f"/review/conversations/{ID}", review_conversations.transcript_page)
    r.add_get("/api/review/conversations", review_conversations.list_json)
    r.add_get(f"/api/review/conversations/{ID}", review_conversations.transcript_api)
    r.add_post(f"/api/review/conversations/{ID}/tags", review_conversations.tags)
    r.add_post(f"/api/review/conversations/{ID}/reviewed", review_conversations.reviewed)
    r.add_post(f"/api/review/conversations/{ID}/note", review_conversations.note)
    r.add_post(f"/api/review/conversations/{ID}/save-test", review_conversations.save_as_test)
    r.add_get("/review/responses", editor.list_page)
    r.add_get(editor.RESPONSE_PATH, editor.response_page)
    r.add_get(editor.WORKFLOW_PATH, editor.workflow_page)
    r.add_get("/api/review/responses", editor.responses_json)
    r.add_get("/api" + editor.RESPONSE_PATH, editor.response_json_view)
    r.add_post("/api" + editor.RESPONSE_PATH, editor.save_response)
    r.add_get("/api/review/workflows", editor.workflows_json)
    r.add_get("/api" + editor.WORKFLOW_PATH, editor.workflow_json_view)
    r.add_post("/api" + editor.WORKFLOW_PATH, editor.save_workflow)
    r.add_get("/review/models", models.page)
    r.add_get("/api/review/models", models.models_json)
    r.add_get("/api/review/models/job", models.job_status)
    r.add_post("/api/review/models/check", models.start_check)
    r.add_post("/api/review/models/publish", models.publish)
    r.add_post("/api/review/models/rollback", models.rollback)
    r.add_static("/static/", pages.STATIC_DIR, name="static")
    # aiohttp 3.9's `Signal[Callable[[Application], ...]]` predates aiosignal 1.4 taking the callback's argument
    # types instead, so mypy misreads these signals' element type; the callbacks are what aiohttp calls.
    app.on_startup.append(_start)  # type: ignore[arg-type]
    app.on_shutdown.append(_disconnect)  # type: ignore[arg-type]
    app.on_cleanup.append(_stop)  # type: ignore[arg-type]
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_client_mistakes_as_warnings()
    settings = settings_or_exit()
    app = create_app(settings)
    log.info("agent console on http://%s:%s/", settings.console_host, settings.console_port)
    web.run_app(app, host=settings.console_host, port=settings.console_port, access_log=None, print=None)


if __name__ == "__main__":
    main()
