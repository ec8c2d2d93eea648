"""`/review/models`: the Rasa models for the CX team (`cx`) and admins, and its JSON API under `/api/review/models`;
agents get 403 (docs/cx-guide.md, "Checking and publishing from the console"; issue 18).

The page lists the registry's models (bot.model_release.registry) with their checks; its buttons start one
background job at a time (bot.model_release.jobs): check the current data, publish a model whose check passed, roll
back. A job is reserved and its start audited (bot.review.audit) before it is acknowledged with 202; a second
request while one runs gets 409 with the running job. models.js polls `/api/review/models/job` for the progress.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.console import db
from bot.console.keys import DATABASE_URL, MODEL_RELEASE, SIGNED_IN
from bot.console.model_jobs import (
    ModelRelease,
    audit_end,
    check_work,
    publish_work,
    rollback_work,
    started_entry,
)
from bot.console.model_views import STEP_LABELS, check_json, model_json
from bot.console.pages import render
from bot.console.responses import ApiError, json_ok
from bot.model_release.instances import RasaInstance
from bot.model_release.jobs import Job, JobBusy, JobView
from bot.model_release.registry import ModelView, RegistryError
from bot.model_release.service import Workspace
from bot.review import audit
from bot.web.errors import read_json_object

MODELS_ONLY = "Checking and publishing models is for the customer-experience team and admins."
NAME_LIMIT = 200


def _reviewer(request: web.Request) -> str:
    """Who acts (their username, for the audit); 403 for anyone but the CX team and admins."""
    agent = request[SIGNED_IN].agent
    if not agent.sees_insights:
        raise ApiError(403, MODELS_ONLY)
    return agent.username


def _release(request: web.Request) -> tuple[ModelRelease, Workspace]:
    release = request.app[MODEL_RELEASE]
    if release.workspace is None:
        raise ApiError(503, f"The model page is unavailable: {release.problem}")
    return release, release.workspace


def job_json(job: JobView | None) -> dict[str, Any] | None:
    if job is None:
        return None
    data = job.to_json()
    for step in data["steps"]:
        step["label"] = STEP_LABELS.get(step["step"], step["step"])
    if job.kind == "check" and job.outcome:
        data["check"] = check_json(job.outcome)
    return data


def _busy(exc: JobBusy) -> ApiError:
    return ApiError(409, f"Another job is running: {exc}.", job=job_json(exc.job))


# --- reading ---------------------------------------------------------------------------------------------------------


def _overview(release: ModelRelease, ws: Workspace) -> dict[str, Any]:
    """Everything the page shows (read in a thread: the registry and the job record are files)."""
    registry = ws.registry
    try:
        views = registry.models()
        current, previous = registry.current(), registry.previous()
    except RegistryError as exc:
        raise ApiError(503, f"The model registry cannot be read: {exc}") from None
    target = previous.name if previous else None
    instances: list[RasaInstance] = ws.instances()
    return {
        "models": [model_json(v, target) for v in views],
        "serving": current.name if current else None,
        "rollback_to": target,
        "instances": [{"name": i.name, "url": i.url} for i in instances],
        "job": job_json(release.jobs.latest()),
        "history": [job_json(j) for j in release.jobs.history()],
    }


async def page(request: web.Request) -> web.Response:
    _reviewer(request)
    release, ws = _release(request)
    overview = await asyncio.to_thread(_overview, release, ws)
    return render(request, "models.html", title="Models", page_data={"job": overview["job"]}, **overview)


async def models_json(request: web.Request) -> web.Response:
    _reviewer(request)
    release, ws = _release(request)
    return json_ok(await asyncio.to_thread(_overview, release, ws))


async def job_status(request: web.Request) -> web.Response:
    """The latest job with its steps and percentages (a job of a console that died: `interrupted`)."""
    _reviewer(request)
    release, _ = _release(request)
    return json_ok({"job": job_json(await asyncio.to_thread(release.jobs.latest))})


# --- starting a job --------------------------------------------------------------------------------------------------


async def _launch(request: web.Request, job: Job, work: Any) -> web.Response:
    """Audit the start (before anyone is told it started), then run the job in its thread; 202 with the job."""
    url = request.app[DATABASE_URL]
    entry = started_entry(job.view)
    try:
        await db.run(url, lambda session: audit.record(session, **entry))
    except BaseException as exc:
        await asyncio.to_thread(job.abandon, f"not started: its audit record could not be written ({exc})")
        raise
    job.run(work, audit_end(url))
    return json_ok({"job": job_json(job.view)}, status=202)


def _reserve(release: ModelRelease, kind: str, by: str, model: str | None, previous: str | None) -> Job:
    try:
        return release.jobs.reserve(kind, by, model=model, previous=previous)
    except JobBusy as exc:
        raise _busy(exc) from None


async def start_check(request: web.Request) -> web.Response:
    """Validate, train, run the conversation tests and the NLU regression check, in the background."""
    by = _reviewer(request)
    release, ws = _release(request)

    def reserve() -> Job:
        current = ws.registry.current()
        return _reserve(release, "check", by, None, current.name if current else None)

    job = await asyncio.to_thread(reserve)
    return await _launch(request, job, check_work(release, ws, by))


def _publishable(ws: Workspace, name: str) -> tuple[ModelView, ModelView | None]:
    """The model to publish and the one serving; 404/409 with the reason (a failed check's reasons listed)."""
    registry = ws.registry
    view = registry.find(name)
    if view is None:
        raise ApiError(404, f"There is no model {name!r}.")
    check = view.check or {}
    if view.serving:
        raise ApiError(409, f"{view.name} serves already.")
    if not view.exists:
        raise ApiError(409, f"The file of {view.name} is gone: check the data again to train it.")
    if not check:
        raise ApiError(409, f"{view.name} has not been checked: check the current data first.")
    if not check.get("passed"):
        reasons = [str(r) for r in check.get("reasons") or ["its check failed"]]
        raise ApiError(
            409,
            f"{view.name} failed its check, so it may not be published: {reasons[0]}",
            reasons=reasons,
            check=check_json(check),
        )
    return view, registry.current()


async def publish(request: web.Request) -> web.Response:
    """Publish a model whose check passed: every running Rasa loads it, in the background."""
    by = _reviewer(request)
    release, ws = _release(request)
    body = await read_json_object(request, example='{"model": "tandem-1a2b3c"}')
    name = body.get("model")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LIMIT:
        raise ApiError(400, 'Say which model to publish: {"model": "<its name>"}.')

    def reserve() -> Job:
        view, current = _publishable(ws, name.strip())
        return _reserve(release, "publish", by, view.name, current.name if current else None)

    job = await asyncio.to_thread(reserve)
    assert job.view.model is not None
    return await _launch(request, job, publish_work(ws, job.view.model, by))


async def rollback(request: web.Request) -> web.Response:
    """The model that served before serves again, in the background."""
    by = _reviewer(request)
    release, ws = _release(request)

    def reserve() -> Job:
        registry = ws.registry
        current, target = registry.current(), registry.previous()
        if current is None or target is None:
            raise ApiError(409, "There is nothing to roll back to: no model served before the one serving now.")
        if not target.exists:
            raise ApiError(409, f"The file of {target.name}, which served before, is gone.")
        return _reserve(release, "rollback", by, target.name, current.name)

    job = await asyncio.to_thread(reserve)
    return await _launch(request, job, rollback_work(ws, by))
