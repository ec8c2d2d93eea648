"""`/review/responses` and `/review/workflows/<name>`: the CX team (`cx`) and admins edit what the bot says, a
response's variations (the sentiment-conditioned ones too) and a workflow's texts, with the JSON API under
`/api/review/responses` and `/api/review/workflows`; agents get 403 (docs/cx-guide.md, "Editing responses").

Pages are rendered on the server; editor.js sends each edit with the version of the file it was shown, which
bot.review.editing validates, audits and writes into domain/ or workflows/ (the app's `review_data`: the project's own
unless a test gives a copy). A file changed meanwhile is a 409; an edit that would break the bot a 400 saying why.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console import db
from bot.console.editor_input import response_edit, workflow_edit
from bot.console.keys import DATABASE_URL, REVIEW_DATA, SIGNED_IN
from bot.console.pages import render
from bot.console.present import iso
from bot.console.responses import ApiError, json_ok
from bot.console.review_input import sentence
from bot.review import editing, workflow_texts
from bot.review.audit import AuditEntry, AuditError
from bot.review.editing import EditConflict, Saved
from bot.review.responses import NoSuchResponse, Response, allowed_conditions, find, list_responses
from bot.review.service import TrainingData
from bot.review.workflow_texts import NoSuchWorkflow, WorkflowTexts
from bot.review.yaml_spans import SpanError
from bot.web.errors import read_json_object

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EDITORS_ONLY = "Editing responses and workflows is for the customer-experience team and admins."
MAX_QUERY = 100
RESPONSE_PATH = r"/review/responses/{name:[A-Za-z0-9_\-]{1,120}}"
WORKFLOW_PATH = r"/review/workflows/{name:[a-z0-9][a-z0-9_\-]{0,63}}"


def _editor(request: web.Request) -> str:
    """Who edits (their username, for the audit); 403 for anyone but the CX team and admins."""
    agent = request[SIGNED_IN].agent
    if not agent.sees_insights:
        raise ApiError(403, EDITORS_ONLY)
    return agent.username


def _refusal(exc: Exception) -> ApiError:
    message = sentence(exc)
    if isinstance(exc, NoSuchResponse | NoSuchWorkflow):
        return ApiError(404, message)
    if isinstance(exc, EditConflict):
        return ApiError(409, message)
    return ApiError(400, message)


REFUSALS = (SpanError, AuditError)


# --- views as JSON ---------------------------------------------------------------------------------------------------


def response_json(r: Response) -> dict[str, Any]:
    return {
        "name": r.name,
        "file": r.file,
        "version": r.version,
        "line": r.line,
        "variations": [
            {
                **asdict(v),
                "condition": [asdict(c) for c in v.condition],
                "condition_label": " and ".join(c.label for c in v.condition) or None,
                "buttons": list(v.buttons),
                "other": list(v.other),
            }
            for v in r.variations
        ],
    }


def workflow_json(w: WorkflowTexts) -> dict[str, Any]:
    return {
        "name": w.name,
        "file": w.file,
        "version": w.version,
        "title": asdict(w.title),
        "steps": [
            {**asdict(s), "responses": list(s.responses), "buttons": [asdict(b) for b in s.buttons]} for s in w.steps
        ],
    }


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "changes": e.changes}


def history(entries: tuple[AuditEntry, ...]) -> list[dict[str, Any]]:
    """The audit rows as the pages show them: when, who, what changed, the text before and after."""
    rows = []
    for e in entries:
        c = e.changes
        text = c.get("text")
        if isinstance(text, dict):  # a response's variation
            what = f"{c.get('op', 'change')} variation {c.get('variation')}"
            before, after = text.get("before"), text.get("after")
        else:  # a workflow's text: its key
            what, before, after = str(text), c.get("before"), c.get("after")
        condition = c.get("condition")
        if isinstance(condition, dict):
            what += f" (condition: {condition.get('before') or 'none'} → {condition.get('after') or 'none'})"
        rows.append({"at": e.at, "actor": e.actor, "what": what, "before": before or "—", "after": after or "—"})
    return rows


def _matches(r: Response, q: str) -> bool:
    q = q.lower()
    return q in r.name.lower() or any(q in (v.text or "").lower() for v in r.variations)


def _query(request: web.Request) -> str:
    q = (request.query.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise ApiError(400, f"The search must be at most {MAX_QUERY} characters.")
    return q


def _listing(data: TrainingData, q: str) -> tuple[list[tuple[str, list[Response]]], int, tuple]:
    everything = list_responses(data.domain_dir, data.root)
    groups: dict[str, list[Response]] = {}
    for r in everything:
        if not q or _matches(r, q):
            groups.setdefault(r.file, []).append(r)
    workflows = workflow_texts.summaries(editing.workflows_dir(data), data.root)
    return list(groups.items()), len(everything), workflows


def _one_response(data: TrainingData, name: str) -> Response:
    try:
        return find(data.domain_dir, data.root, name)[0]
    except NoSuchResponse as exc:
        raise _refusal(exc) from None


def _one_workflow(data: TrainingData, name: str) -> WorkflowTexts:
    try:
        return workflow_texts.read(editing.workflows_dir(data), data.root, name)
    except SpanError as exc:
        raise _refusal(exc) from None


async def _recent(request: web.Request, kind: str, name: str) -> tuple[AuditEntry, ...]:
    return await db.run(request.app[DATABASE_URL], lambda s: editing.recent(s, kind, name))


# --- pages -----------------------------------------------------------------------------------------------------------


async def list_page(request: web.Request) -> web.Response:
    _editor(request)
    q = _query(request)
    groups, total, workflows = await asyncio.to_thread(_listing, request.app[REVIEW_DATA], q)
    shown = sum(len(rs) for _, rs in groups)
    return render(
        request, "responses.html", title="Responses", groups=groups, total=total, shown=shown, q=q, workflows=workflows
    )


async def _response_context(request: web.Request, name: str) -> dict[str, Any]:
    data = request.app[REVIEW_DATA]
    response = await asyncio.to_thread(_one_response, data, name)
    conditions = await asyncio.to_thread(allowed_conditions, data.domain_dir)
    recent = await _recent(request, editing.RESPONSE, name)
    return {"response": response, "conditions": conditions, "recent": recent}


async def response_page(request: web.Request) -> web.Response:
    _editor(request)
    name = request.match_info["name"]
    context = await _response_context(request, name)
    page_data = {
        "kind": "response",
        "conditions": [asdict(c) for c in context["conditions"]],
        "responses": {name: response_json(context["response"])},
    }
    return render(
        request,
        "response_edit.html",
        title=name,
        page_data=page_data,
        **{**context, "recent": history(context["recent"])},
    )


def _workflow_responses(data: TrainingData, w: WorkflowTexts) -> dict[str, Response]:
    """The responses the workflow's steps say, in the order they first appear (a name not in the domain is left
    out: the validator reports it; the page shows the name without texts)."""
    known = {r.name: r for r in list_responses(data.domain_dir, data.root)}
    names = dict.fromkeys(name for step in w.steps for name in step.responses)
    return {name: known[name] for name in names if name in known}


async def workflow_page(request: web.Request) -> web.Response:
    _editor(request)
    data = request.app[REVIEW_DATA]
    name = request.match_info["name"]
    workflow = await asyncio.to_thread(_one_workflow, data, name)
    said = await asyncio.to_thread(_workflow_responses, data, workflow)
    conditions = await asyncio.to_thread(allowed_conditions, data.domain_dir)
    recent = await _recent(request, editing.WORKFLOW, name)
    page_data = {
        "kind": "workflow",
        "workflow": workflow_json(workflow),
        "conditions": [asdict(c) for c in conditions],
        "responses": {n: response_json(r) for n, r in said.items()},
    }
    return render(
        request,
        "workflow_edit.html",
        title=workflow.title.text,
        workflow=workflow,
        said=said,
        conditions=conditions,
        recent=history(recent),
        page_data=page_data,
    )


# --- the API ---------------------------------------------------------------------------------------------------------


async def responses_json(request: web.Request) -> web.Response:
    _editor(request)
    groups, total, workflows = await asyncio.to_thread(_listing, request.app[REVIEW_DATA], _query(request))
    return json_ok(
        {
            "total": total,
            "files": [{"file": f, "responses": [response_json(r) for r in rs]} for f, rs in groups],
            "workflows": [asdict(w) for w in workflows],
        }
    )


async def response_json_view(request: web.Request) -> web.Response:
    _editor(request)
    name = request.match_info["name"]
    context = await _response_context(request, name)
    return json_ok(
        {
            "response": response_json(context["response"]),
            "conditions": [asdict(c) for c in context["conditions"]],
            "recent": [entry_json(e) for e in context["recent"]],
        }
    )


def _saved_json(saved: Saved, recent: tuple[AuditEntry, ...]) -> dict[str, Any]:
    return {
        "message": saved.message,
        "file": saved.file,
        "version": saved.version,
        "changes": saved.changes,
        "recent": [entry_json(e) for e in recent],
    }


async def save_response(request: web.Request) -> web.Response:
    """Change, add or remove one variation; the file's new version and the response as it now is."""
    by = _editor(request)
    name = request.match_info["name"]
    version, edit = response_edit(await read_json_object(request, example='{"version": "...", "op": "change"}'))
    data = request.app[REVIEW_DATA]

    def work(session: Session) -> Saved:
        return editing.save_response(session, name, edit, expected_version=version, by=by, data=data)

    try:
        saved = await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None
    response = await asyncio.to_thread(_one_response, data, name)
    recent = await _recent(request, editing.RESPONSE, name)
    return json_ok({**_saved_json(saved, recent), "response": response_json(response)})


async def workflows_json(request: web.Request) -> web.Response:
    _editor(request)
    data = request.app[REVIEW_DATA]
    found = await asyncio.to_thread(workflow_texts.summaries, editing.workflows_dir(data), data.root)
    return json_ok({"workflows": [asdict(w) for w in found]})


async def workflow_json_view(request: web.Request) -> web.Response:
    _editor(request)
    name = request.match_info["name"]
    workflow = await asyncio.to_thread(_one_workflow, request.app[REVIEW_DATA], name)
    recent = await _recent(request, editing.WORKFLOW, name)
    return json_ok({"workflow": workflow_json(workflow), "recent": [entry_json(e) for e in recent]})


async def save_workflow(request: web.Request) -> web.Response:
    """Change one text of a workflow (its title, a button's title)."""
    by = _editor(request)
    name = request.match_info["name"]
    version, key, text = workflow_edit(await read_json_object(request, example='{"version": "...", "key": "title"}'))
    data = request.app[REVIEW_DATA]

    def work(session: Session) -> Saved:
        return editing.save_workflow_text(session, name, key, text, expected_version=version, by=by, data=data)

    try:
        saved = await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None
    workflow = await asyncio.to_thread(_one_workflow, data, name)
    recent = await _recent(request, editing.WORKFLOW, name)
    return json_ok({**_saved_json(saved, recent), "workflow": workflow_json(workflow)})
