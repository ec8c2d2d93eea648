"""`/review/inbox`: the NLU inbox for the CX team (`cx`) and admins, and its JSON API under `/api/review/`; agents get
403 (docs/cx-guide.md, "The NLU inbox"; issue 18).

The page is rendered on the server like the insights: the inbox's table is brought up to date first
(bot.review.messages.refresh), then a page of distinct redacted messages is read and grouped by meaning outside any
database session (the encoder takes a second to load). review.js sends the annotations, which bot.review.service
records, audits and writes into data/nlu/ (the app's `review_data`: the project's own unless a test gives a copy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console import db
from bot.console.keys import DATABASE_URL, REVIEW_DATA, SIGNED_IN
from bot.console.pages import error_page, render
from bot.console.present import iso
from bot.console.responses import ApiError, json_ok
from bot.console.review_input import InboxQuery, group_annotation, inbox_query, sentence, single_annotation
from bot.insights.unknown import shared_embeddings
from bot.review.annotations import AlreadyAnnotated, AnnotationError, AnnotationView, NoSuchMessage, list_annotations
from bot.review.audit import AuditError
from bot.review.config import REASONS, review_config
from bot.review.examples import ExampleError
from bot.review.inbox import InboxError, InboxGroup, InboxItem, InboxPage, group_items, inbox_items, reason_counts
from bot.review.messages import refresh
from bot.review.nlu_files import DuplicateExample, NluFileError
from bot.review.redact import Placeholder
from bot.review.service import Annotated, Choices, GroupAnnotated, annotate_message, choices
from bot.review.service import annotate_group as annotate_many
from bot.web.errors import read_json_object

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REVIEW_ONLY = "The NLU inbox is for the customer-experience team and admins."
REASON_LABELS = {
    "fallback": "fallback",
    "low_confidence": "low confidence",
    "narrow_margin": "narrow margin",
    "handoff": "answered by an agent",
}
RECENT = 8  # the latest decisions shown under the inbox


def _reviewer(request: web.Request) -> str:
    """Who annotates (their username, for the audit); 403 for anyone but the CX team and admins."""
    agent = request[SIGNED_IN].agent
    if not agent.sees_insights:
        raise ApiError(403, REVIEW_ONLY)
    return agent.username


# --- reading the inbox ----------------------------------------------------------------------------------------------


def _grouped(items: Sequence[InboxItem]) -> tuple[tuple[InboxGroup, ...], str | None]:
    embeddings = shared_embeddings()  # loads the encoder on first use: in this thread, not on the event loop
    return group_items(items, embeddings, review_config().inbox.same_meaning)


async def _inbox(request: web.Request, q: InboxQuery) -> tuple[InboxPage, dict[str, int]]:
    """The inbox up to date, then one page of it grouped by meaning, and the messages per reason."""
    url = request.app[DATABASE_URL]
    await db.run(url, refresh)

    def read(session: Session) -> tuple[tuple[InboxItem, ...], int, int, dict[str, int]]:
        items, distinct, messages = inbox_items(session, q.filter, page=q.page, page_size=q.page_size)
        return items, distinct, messages, reason_counts(session, q.filter)

    try:
        items, distinct, messages, counts = await db.run(url, read)
    except InboxError as exc:  # a page size over the configured limit
        raise ApiError(400, sentence(exc)) from None
    groups, note = await asyncio.to_thread(_grouped, items)
    size = q.page_size or review_config().inbox.page_size
    return InboxPage(groups, q.page, size, distinct, messages, note, q.filter), counts


def _segments(text: str, placeholders: Sequence[Placeholder]) -> list[dict[str, Any]]:
    """The text cut at its placeholders, so the page marks what redaction put in (as text, never HTML)."""
    out, at = [], 0
    for p in sorted(placeholders, key=lambda p: p.start):
        if p.start > at:
            out.append({"text": text[at : p.start], "kind": None})
        out.append({"text": text[p.start : p.end], "kind": p.kind})
        at = p.end
    if at < len(text):
        out.append({"text": text[at:], "kind": None})
    return out


def item_json(item: InboxItem) -> dict[str, Any]:
    return {
        "message_id": item.message_id,
        "text": item.text,
        "placeholders": [asdict(p) for p in item.placeholders],
        "count": item.count,
        "reasons": list(item.reasons),
        "intent": item.intent,
        "confidence": item.confidence,
        "margin": item.margin,
        "last_at": iso(item.last_at),
    }


def _choices_json(c: Choices) -> dict[str, list[str]]:
    return {
        "intents": list(c.intents),
        "entities": list(c.entities),
        "nlu_files": list(c.nlu_topics),
        "domain_files": list(c.domain_topics),
    }


def page_json(p: InboxPage, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "groups": [{"count": g.count, "items": [item_json(i) for i in g.items]} for g in p.groups],
        "page": p.page,
        "pages": p.pages,
        "page_size": p.page_size,
        "distinct": p.distinct,
        "messages": p.messages,
        "reason_counts": counts,
        "note": p.note,
    }


def _recent(session: Session) -> Sequence[AnnotationView]:
    return list_annotations(session, limit=RECENT)


def _href(q: InboxQuery, page: int) -> str:
    return "/review/inbox?" + urlencode(q.query(page))


async def page(request: web.Request) -> web.Response:
    _reviewer(request)
    try:
        q = inbox_query(request.query)
        inbox, counts = await _inbox(request, q)
    except ApiError as exc:
        return error_page(request, exc.status, exc.message, title="Check the filters")
    options = await asyncio.to_thread(choices, request.app[REVIEW_DATA])
    recent = await db.run(request.app[DATABASE_URL], _recent)
    groups = [
        {
            "count": g.count,
            "reasons": [r for r in REASONS if any(r in i.reasons for i in g.items)],
            "items": [
                {**item_json(i), "segments": _segments(i.text, i.placeholders), "seen": i.last_at} for i in g.items
            ],
        }
        for g in inbox.groups
    ]
    return render(
        request,
        "review.html",
        title="NLU inbox",
        inbox=inbox,
        groups=groups,
        counts=counts,
        reasons=[(r, REASON_LABELS[r]) for r in REASONS],
        query=q,
        previous=_href(q, q.page - 1) if q.page > 1 else None,
        next=_href(q, q.page + 1) if q.page < inbox.pages else None,
        first=_href(q, 1),
        options=options,
        recent=recent,
        page_data={"choices": _choices_json(options), **page_json(inbox, counts)},
    )


async def inbox_json(request: web.Request) -> web.Response:
    """A page of the inbox with the query of the page, and what an annotation may name."""
    _reviewer(request)
    q = inbox_query(request.query)
    inbox, counts = await _inbox(request, q)
    options = await asyncio.to_thread(choices, request.app[REVIEW_DATA])
    return json_ok({**page_json(inbox, counts), "choices": _choices_json(options)})


# --- annotating ------------------------------------------------------------------------------------------------------


def annotation_json(done: Annotated) -> dict[str, Any]:
    view = done.annotation
    return {
        "id": view.id,
        "message_id": view.message_id,
        "action": view.action,
        "intent": view.intent,
        "predicted_intent": view.predicted_intent,
        "text": view.text,
        "example": view.example if view.accepted else None,
        "annotated_by": view.annotated_by,
        "annotated_at": iso(view.annotated_at),
        "nlu_file": view.nlu_file,
        "files": list(done.files),
    }


def result_text(done: Annotated) -> str:
    """What happened, in the words the page shows."""
    view = done.annotation
    if not view.accepted:
        return f"Discarded “{view.text}”: it leaves the inbox and is not added to the training data."
    text = f"Added “{view.example}” to {view.nlu_file} as an example of {view.intent}"
    if len(done.files) > 1:
        text += f"; the new intent is listed in {done.files[1]}"
    return text + "."


def _refusal(exc: Exception) -> ApiError:
    """A refused annotation as an answer: what is missing 404, what someone (or the data) has already 409, else 400."""
    message = sentence(exc)
    if isinstance(exc, NoSuchMessage):
        return ApiError(404, message)
    if isinstance(exc, AlreadyAnnotated | DuplicateExample):
        return ApiError(409, message)
    return ApiError(400, message)


REFUSALS = (AnnotationError, NluFileError, AuditError, ExampleError)


async def annotate(request: web.Request) -> web.Response:
    """Accept one message (confirm, another intent, a new one; entities marked) or discard it."""
    by = _reviewer(request)
    message_id = int(request.match_info["id"])
    wanted = single_annotation(await read_json_object(request, example='{"intent": "order_status"}'))
    data = request.app[REVIEW_DATA]

    def work(session: Session) -> Annotated:
        return annotate_message(
            session,
            message_id,
            by=by,
            intent=wanted.intent,
            discard=wanted.discard,
            entities=wanted.entities,
            nlu_file=wanted.nlu_file,
            domain_file=wanted.domain_file,
            data=data,
        )

    await db.run(request.app[DATABASE_URL], refresh)  # as `tandem review annotate`: a message not listed yet is known
    try:
        done = await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None
    return json_ok({"annotation": annotation_json(done), "message": result_text(done)})


async def annotate_group(request: web.Request) -> web.Response:
    """The same decision on every message of a group; those refused are listed, the others are annotated."""
    by = _reviewer(request)
    wanted = group_annotation(await read_json_object(request, example='{"message_ids": [1, 2], "discard": true}'))
    data = request.app[REVIEW_DATA]

    def work(session: Session) -> GroupAnnotated:
        return annotate_many(
            session,
            wanted.message_ids,
            by=by,
            intent=wanted.intent,
            discard=wanted.discard,
            nlu_file=wanted.nlu_file,
            domain_file=wanted.domain_file,
            data=data,
        )

    await db.run(request.app[DATABASE_URL], refresh)
    try:
        result = await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None
    refused = [{"message_id": r.message_id, "error": r.reason} for r in result.refused]
    if not result.done:
        raise ApiError(409, f"None of the messages was annotated: {refused[0]['error']}", refused=refused)
    n = len(result.done)
    if result.done[0].annotation.accepted:
        files = sorted({str(d.annotation.nlu_file) for d in result.done})
        intent = wanted.intent or "the intent the bot gave each"
        text = f"Added {n} example{'s' if n != 1 else ''} of {intent} to {', '.join(files)}."
        listed = [d.files[1] for d in result.done if len(d.files) > 1]
        text += f" The new intent is listed in {listed[0]}." if listed else ""
    else:
        text = f"Discarded {n} message{'s' if n != 1 else ''}."
    if refused:
        text += f" {len(refused)} not annotated: {refused[0]['error']}"
    return json_ok({"annotations": [annotation_json(d) for d in result.done], "refused": refused, "message": text})
