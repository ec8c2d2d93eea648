"""The admins' queue of customers' privacy requests (docs/privacy.md): the pending ones listed, the oldest due
first with the overdue and the due-soon flagged, an erasure carried out from the console, a request cancelled.
Admins only; agents get 403.

An erasure is done before it is acknowledged: `bot.privacy.service.erase_customer` commits the shop database's part
(with the audit row and the request marked done) last, and only then does the admin get 200; if a store fails, the
customer and the request are still there and "Erase now" can simply be pressed again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console import db
from bot.console.agents import AgentView
from bot.console.keys import CLOCK, DATABASE_URL, PRIVACY, SIGNED_IN
from bot.console.pages import error_page, render
from bot.console.present import iso
from bot.console.responses import ApiError, json_ok
from bot.privacy import requests as privacy_requests
from bot.privacy.model_scrub import ModelScrubFailed
from bot.privacy.requests import PrivacyRequestClosed, PrivacyRequestNotFound, PrivacyRequestView
from bot.privacy.service import ErasureReport, UnknownCustomer, erase_customer
from bot.privacy.tracker_store import TrackerStoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

ADMINS_ONLY = "Only an admin can see and handle customers' privacy requests."
STORE_DOWN = "The erasure could not finish ({}); nothing in the shop database changed. Try again in a moment."
KIND_LABELS = {"erasure": "Erase my data", "export": "Copy of my data"}


def _admin(request: web.Request) -> AgentView:
    agent = request[SIGNED_IN].agent
    if not agent.is_admin:
        raise ApiError(403, ADMINS_ONLY)
    return agent


def _request_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def request_json(view: PrivacyRequestView, now: datetime) -> dict[str, Any]:
    """A request as the page shows it at `now` (the customer is null once erased)."""
    return {
        "id": view.id,
        "reference": view.reference,
        "kind": view.kind,
        "kind_label": KIND_LABELS.get(view.kind, view.kind),
        "status": view.status,
        "customer_external_id": view.customer_external_id,
        "customer_name": view.customer_name,
        "requested_at": iso(view.requested_at),
        "due_at": iso(view.due_at),
        "overdue": view.is_overdue(now),
        "due_soon": view.is_due_soon(now),
        "handled_at": iso(view.handled_at) if view.handled_at else None,
        "handled_by": view.handled_by,
    }


def _pending(session: Session, request_id: int, now: datetime) -> PrivacyRequestView:
    """The request if it still waits: 404 when there is none, 409 when someone already handled it."""
    try:
        view = privacy_requests.get_request(session, request_id)
    except PrivacyRequestNotFound:
        raise ApiError(404, "There is no such privacy request.") from None
    if not view.is_pending:
        raise ApiError(409, _closed_message(view), request=request_json(view, now))
    return view


def _closed_message(view: PrivacyRequestView) -> str:
    by = f" by {view.handled_by}" if view.handled_by else ""
    return f"Request {view.reference} was already {view.status}{by}."


async def _pending_list(request: web.Request) -> list[PrivacyRequestView]:
    return await db.run(request.app[DATABASE_URL], privacy_requests.pending_requests)


def _queue_json(pending: list[PrivacyRequestView], now: datetime) -> dict[str, Any]:
    """The pending requests at `now`, the oldest due first, and how many of them are overdue."""
    return {
        "requests": [request_json(v, now) for v in pending],
        "overdue_count": sum(v.is_overdue(now) for v in pending),
        "now": iso(now),
    }


async def page(request: web.Request) -> web.Response:
    """The pending requests; privacy.js draws them and handles Erase now / Cancel."""
    if not request[SIGNED_IN].agent.is_admin:
        return error_page(request, 403, ADMINS_ONLY)
    pending, now = await _pending_list(request), request.app[CLOCK]()
    return render(
        request,
        "privacy.html",
        title="Privacy requests",
        page_data={"agent": request[SIGNED_IN].agent.as_json(), **_queue_json(pending, now)},
    )


async def list_requests(request: web.Request) -> web.Response:
    _admin(request)
    pending = await _pending_list(request)
    return json_ok(_queue_json(pending, request.app[CLOCK]()))


async def erase(request: web.Request) -> web.Response:
    """Erase the customer of a pending erasure request from every store, then mark the request done."""
    admin, request_id, now = _admin(request), _request_id(request), request.app[CLOCK]()
    url = request.app[DATABASE_URL]
    view = await db.run(url, lambda s: _pending(s, request_id, now))
    if view.kind != "erasure":
        raise ApiError(409, f"Request {view.reference} asks for a copy of the data, not for its erasure.")
    report: ErasureReport | None = None
    if view.customer_external_id is not None:
        try:
            report = await asyncio.to_thread(
                erase_customer, view.customer_external_id, by=admin.username, via="console", where=request.app[PRIVACY]
            )
        except UnknownCustomer:  # erased by someone else meanwhile: the request is closed below
            report = None
        except (TrackerStoreUnavailable, ModelScrubFailed) as exc:
            log.warning("erasure for %s failed, nothing changed in the shop database: %s", view.reference, exc)
            raise ApiError(503, STORE_DOWN.format(type(exc).__name__)) from None

    def close(session: Session) -> PrivacyRequestView:
        # The erasure marks the customer's pending erasure requests done in its own transaction; this closes one
        # whose customer was already gone.
        try:
            return privacy_requests.mark_done(session, request_id, by=admin.username, now=now)
        except PrivacyRequestClosed:
            return privacy_requests.get_request(session, request_id)

    done = await db.run(url, close)
    log.info("privacy request %s: erasure by %s via the console", view.reference, admin.username)
    return json_ok(
        {
            "request": request_json(done, now),
            "erased": bool(report and report.erased_now),
            "customer_external_id": view.customer_external_id,
            "removed": dict(report.removed) if report else {},
        }
    )


async def cancel(request: web.Request) -> web.Response:
    """Drop a pending request (the customer changed their mind, or asked twice); nothing is erased."""
    admin, request_id, now = _admin(request), _request_id(request), request.app[CLOCK]()

    def drop(session: Session) -> PrivacyRequestView:
        _pending(session, request_id, now)
        try:
            return privacy_requests.cancel(session, request_id, by=admin.username, now=now)
        except PrivacyRequestClosed:
            raise ApiError(409, _closed_message(privacy_requests.get_request(session, request_id))) from None

    cancelled = await db.run(request.app[DATABASE_URL], drop)
    return json_ok({"request": request_json(cancelled, now)})
