"""The console's HTML pages: the live queue and a conversation. Jinja2 with autoescape; what changes live is
drawn by the page's script from JSON (as text, never as HTML)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.console import db
from bot.console.access import visible_handoff
from bot.console.context import customer_context
from bot.console.keys import CLOCK, DATABASE_URL, RULES, SETTINGS, SIGNED_IN, TEMPLATES
from bot.console.present import customer_label, handoff_json
from bot.console.responses import NO_STORE

CONSOLE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"
NO_QUEUES = "Your role reads the insights and works no queue of conversations."


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else "—"


def _day(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y") if moment else "—"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"£{Decimal(value):,.2f}"


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["money"] = _money
    return env


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    signed = request.get(SIGNED_IN)
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(agent=signed.agent if signed else None, csrf=signed.csrf_token if signed else "", **context)
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)


def error_page(request: web.Request, status: int, message: str, title: str | None = None) -> web.Response:
    titles = {401: "Please sign in", 403: "Not yours to see", 404: "Not found", 503: "Temporarily unavailable"}
    return render(
        request, "error.html", status=status, title=title or titles.get(status, "Something went wrong"), message=message
    )


def _page_data(request: web.Request, **extra: Any) -> dict[str, Any]:
    signed = request[SIGNED_IN]
    rules = request.app[RULES]
    return {
        "agent": signed.agent.as_json(),
        "queues": {q.key: q.name for q in rules.queues},
        "max_chars": request.app[SETTINGS].max_message_chars,
        **extra,
    }


async def index(request: web.Request) -> web.Response:
    """The live queue; filled and kept current by queue.js over the websocket. The CX team, who take no
    conversations, land on the insights instead (signing in goes to "/")."""
    agent = request[SIGNED_IN].agent
    if not agent.works_queues:
        raise web.HTTPFound(agent.home)
    return render(request, "queue.html", title="Queue", page_data=_page_data(request))


async def handoff_page(request: web.Request) -> web.Response:
    """One conversation: what the database knows is on the page; the timeline and chart load after."""
    agent = request[SIGNED_IN].agent
    if not agent.works_queues:
        return error_page(request, 403, NO_QUEUES)
    handoff_id = int(request.match_info["id"])
    now = request.app[CLOCK]()

    def read(session):
        view = visible_handoff(session, handoff_id, agent)
        return view, customer_context(session, view, now=now)

    view, context = await db.run(request.app[DATABASE_URL], read)
    return render(
        request,
        "conversation.html",
        title=customer_label(view),
        handoff=view,
        context=context,
        queue_name=request.app[RULES].queue_name(view.queue),
        page_data=_page_data(request, handoff=handoff_json(view, request.app[RULES])),
    )
