"""`/review/conversations`: the conversation review for the CX team (`cx`) and admins, its transcript pages and its JSON
API under `/api/review/conversations`; agents get 403 (docs/cx-guide.md, "Reviewing conversations"; issue 18).

Lists and transcripts are rendered on the server from bot.review (personal data already replaced there); the
transcript page's script (review-conversation.js) tags, marks reviewed, leaves a note and saves the conversation as a
test story, each answered only once bot.review has stored it with its audit record. Saved stories go into the app's
`REVIEW_TESTS` file: by default config/review.yml's `conversations.test_file` under the root of the app's
`review_data` (the project, unless a test gives a copy), checked against that copy's domain.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console import db
from bot.console.conversation_input import (
    ConversationQuery,
    conversation_query,
    note_body,
    reviewed_body,
    save_test_body,
    tags_body,
)
from bot.console.keys import DATABASE_URL, REVIEW_DATA, SETTINGS, SIGNED_IN
from bot.console.pages import error_page, render
from bot.console.present import iso
from bot.console.responses import ApiError, json_ok
from bot.console.review_input import sentence
from bot.review.audit import AuditError
from bot.review.config import review_config
from bot.review.conversation_marks import ReviewState, mark_reviewed, review_state, set_note, set_tags
from bot.review.conversations import (
    ConversationError,
    ConversationPage,
    ConversationSummary,
    NoSuchConversation,
    channels,
    outcomes,
    search,
)
from bot.review.nlu_files import NluFileError
from bot.review.saved_tests import SavedStory, StoryFile, save_test
from bot.review.service import choices
from bot.review.transcript import TURNS, Line, Transcript, transcript
from bot.web.errors import read_json_object

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

REVIEW_TESTS = web.AppKey("review_tests", StoryFile)  # where Save as test writes (tests give a copy)
REVIEW_ONLY = "The conversation review is for the customer-experience team and admins."
REFUSALS = (ConversationError, AuditError, NluFileError)


def _reviewer(request: web.Request) -> str:
    agent = request[SIGNED_IN].agent
    if not agent.sees_insights:
        raise ApiError(403, REVIEW_ONLY)
    return agent.username


def _refusal(exc: Exception) -> ApiError:
    return ApiError(404 if isinstance(exc, NoSuchConversation) else 400, sentence(exc))


def story_file(app: web.Application) -> StoryFile:
    if REVIEW_TESTS in app:
        return app[REVIEW_TESTS]
    data = app[REVIEW_DATA]
    return StoryFile(data.root / review_config().conversations.test_file, data.domain_dir, data.root)


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


# --- JSON --------------------------------------------------------------------------------------------------------


def summary_json(c: ConversationSummary) -> dict[str, Any]:
    data = asdict(c)
    data["started_at"], data["last_event_at"] = iso(c.started_at), iso(c.last_event_at)
    for key in ("intents", "journeys", "tags"):
        data[key] = list(data[key])
    return data


def page_json(p: ConversationPage) -> dict[str, Any]:
    return {
        "conversations": [summary_json(c) for c in p.items],
        "page": p.page,
        "pages": p.pages,
        "page_size": p.page_size,
        "total": p.total,
    }


def line_json(line: Line) -> dict[str, Any]:
    data = asdict(line)
    data["at"] = iso(line.at) if line.at else None
    data["placeholders"] = [asdict(p) for p in line.placeholders]
    data["entities"] = [asdict(e) for e in line.entities]
    return data


def state_json(s: ReviewState) -> dict[str, Any]:
    return {
        "reviewed": s.reviewed,
        "reviewed_by": s.reviewed_by,
        "reviewed_at": iso(s.reviewed_at) if s.reviewed_at else None,
        "note": s.note,
        "note_by": s.note_by,
        "note_at": iso(s.note_at) if s.note_at else None,
        "tags": list(s.tags),
        "saved_tests": [
            {
                "story": t.story,
                "file": t.file,
                "corrected": t.corrected,
                "saved_by": t.saved_by,
                "saved_at": iso(t.saved_at),
            }
            for t in s.saved_tests
        ],
    }


def transcript_json(t: Transcript, s: ReviewState) -> dict[str, Any]:
    return {
        "id": t.conversation_id,
        "sender_id": t.sender_id,
        "channel": t.channel,
        "started_at": iso(t.started_at),
        "source": t.source,
        "lines": [line_json(line) for line in t.lines],
        "review": state_json(s),
    }


# --- reading -----------------------------------------------------------------------------------------------------


async def _search(request: web.Request, q: ConversationQuery) -> ConversationPage:
    def read(session: Session) -> ConversationPage:
        return search(session, q.filter, page=q.page, page_size=q.page_size)

    try:
        return await db.run(request.app[DATABASE_URL], read)
    except ConversationError as exc:  # a page size over the configured limit
        raise ApiError(400, sentence(exc)) from None


async def list_json(request: web.Request) -> web.Response:
    _reviewer(request)
    return json_ok(page_json(await _search(request, conversation_query(request.query))))


def _href(q: ConversationQuery, page: int) -> str:
    return "/review/conversations?" + urlencode(q.query(page))


async def list_page(request: web.Request) -> web.Response:
    _reviewer(request)
    try:
        q = conversation_query(request.query)
        found = await _search(request, q)
    except ApiError as exc:
        return error_page(request, exc.status, exc.message, title="Check the filters")

    def options(session: Session) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return channels(session), outcomes(session)

    known_channels, known_outcomes = await db.run(request.app[DATABASE_URL], options)
    intents = await asyncio.to_thread(choices, request.app[REVIEW_DATA])
    return render(
        request,
        "review_conversations.html",
        title="Conversation review",
        found=found,
        query=q,
        typed=q.typed,
        channels=known_channels,
        outcomes=known_outcomes,
        intents=["nlu_fallback", *intents.intents],
        tags=review_config().conversations.tag_suggestions,
        previous=_href(q, q.page - 1) if q.page > 1 else None,
        next=_href(q, q.page + 1) if q.page < found.pages else None,
    )


async def _transcript(request: web.Request, conversation_id: int) -> tuple[Transcript, ReviewState]:
    tracker_url = request.app[SETTINGS].tracker_db_url

    def read(session: Session) -> tuple[Transcript, ReviewState]:
        return transcript(session, conversation_id, tracker_url), review_state(session, conversation_id)

    try:
        return await db.run(request.app[DATABASE_URL], read)
    except ConversationError as exc:
        raise _refusal(exc) from None


async def transcript_api(request: web.Request) -> web.Response:
    _reviewer(request)
    t, s = await _transcript(request, _id(request))
    return json_ok(transcript_json(t, s))


async def transcript_page(request: web.Request) -> web.Response:
    _reviewer(request)
    try:
        t, s = await _transcript(request, _id(request))
    except ApiError as exc:
        return error_page(request, exc.status, exc.message)
    options = await asyncio.to_thread(choices, request.app[REVIEW_DATA])
    suggestions = review_config().conversations.tag_suggestions
    return render(
        request,
        "review_transcript.html",
        title=f"Conversation {t.conversation_id}",
        t=t,
        state=s,
        from_turns=t.source == TURNS,
        intents=options.intents,
        suggestions=suggestions,
        test_file=story_file(request.app).shown,
        page_data={"id": t.conversation_id, "review": state_json(s), "suggestions": list(suggestions)},
    )


# --- changing ----------------------------------------------------------------------------------------------------


async def _change(request: web.Request, work: Any) -> ReviewState:
    try:
        return await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None


async def tags(request: web.Request) -> web.Response:
    by, cid = _reviewer(request), _id(request)
    wanted = tags_body(await read_json_object(request, example='{"tags": ["misunderstood"]}'))
    state = await _change(request, lambda session: set_tags(session, cid, wanted, by=by))
    return json_ok({"review": state_json(state), "message": "Tags saved."})


async def reviewed(request: web.Request) -> web.Response:
    by, cid = _reviewer(request), _id(request)
    value = reviewed_body(await read_json_object(request, example='{"reviewed": true}'))
    state = await _change(request, lambda session: mark_reviewed(session, cid, value, by=by))
    text = f"Marked reviewed by {by}." if value else "No longer marked reviewed."
    return json_ok({"review": state_json(state), "message": text})


async def note(request: web.Request) -> web.Response:
    by, cid = _reviewer(request), _id(request)
    text = note_body(await read_json_object(request, example='{"note": "The bot missed the order number."}'))
    state = await _change(request, lambda session: set_note(session, cid, text, by=by))
    return json_ok({"review": state_json(state), "message": "Note saved." if state.note else "Note removed."})


async def save_as_test(request: web.Request) -> web.Response:
    """The conversation (its intents corrected where the body says) appended to the test file as a story."""
    by, cid = _reviewer(request), _id(request)
    wanted = save_test_body(await read_json_object(request, example='{"corrections": {"3": "order_status"}}'))
    file = story_file(request.app)
    tracker_url = request.app[SETTINGS].tracker_db_url

    def work(session: Session) -> tuple[SavedStory, ReviewState]:
        saved = save_test(
            session, cid, by=by, tracker_url=tracker_url, file=file, corrections=wanted.corrections, name=wanted.name
        )
        return saved, review_state(session, cid)

    try:
        saved, state = await db.run(request.app[DATABASE_URL], work)
    except REFUSALS as exc:
        raise _refusal(exc) from None
    return json_ok(
        {
            "story": saved.story,
            "file": saved.file,
            "diff": saved.diff(),
            "review": state_json(state),
            "message": f"Saved as the test story “{saved.story}” in {saved.file}; ./tandem test runs it.",
        }
    )
