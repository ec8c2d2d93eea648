"""The console's JSON API: the queue, one conversation, and what an agent does with it.

Order matters for what the customer and the database may disagree on:
- a claim and a reply are committed first, then Rasa is told (a Rasa outage leaves a reply "saved, not
  delivered yet", retried by the feed; the claim stands);
- resolving and handing back are the other way round: written, then Rasa resumes the bot, and only then
  committed, so the database never says "back with the bot" while the bot is still paused.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console import db
from bot.console.access import visible_handoff
from bot.console.agents import AgentView
from bot.console.context import context_json, customer_context
from bot.console.delivery import agent_events
from bot.console.keys import CLOCK, DATABASE_URL, DELIVERY, FEED, RASA, RULES, SETTINGS, SIGNED_IN
from bot.console.pages import NO_QUEUES
from bot.console.present import handoff_json, iso
from bot.console.responses import ApiError, json_ok
from bot.console.timeline import merge, sentiment_points, transcript
from bot.handoff import store
from bot.handoff.agent_events import bot_notice, listen, pause, resume, set_slot
from bot.handoff.store import HandoffConflict, HandoffView
from bot.journeys import store as journeys
from bot.journeys.store import JourneyError
from bot.rasa_api import RasaUnavailable
from bot.text import storable
from bot.web.errors import read_json_object

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

RESOLVED_OUTCOME = "resolved_by_agent"
CSAT_QUESTION = "Glad that's sorted! How happy are you with how we handled it?"
CSAT_TITLES = {5: "5 - Very happy", 4: "4 - Happy", 3: "3 - Okay", 2: "2 - Unhappy", 1: "1 - Very unhappy"}
RASA_DOWN = "Rasa is unreachable; nothing changed, try again."


def _agent(request: web.Request) -> AgentView:
    """The signed-in agent, if they work queues: the CX team (`cx`) gets 403 from every handoff endpoint."""
    agent = request[SIGNED_IN].agent
    if not agent.works_queues:
        raise ApiError(403, NO_QUEUES)
    return agent


def _handoff_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _json(request: web.Request, view: HandoffView) -> dict[str, Any]:
    return handoff_json(view, request.app[RULES])


async def _body(request: web.Request) -> dict[str, Any]:
    return await read_json_object(request, empty={})


def _text(request: web.Request, body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f'"{key}" must be a string.')
    text = storable(value or "").strip()
    if not text:
        raise ApiError(400, f"Write {what} first.")
    limit = request.app[SETTINGS].max_message_chars
    if len(text) > limit:
        raise ApiError(413, f"That is too long: at most {limit} characters.", limit=limit)
    return text


def _conflict(view: HandoffView) -> ApiError:
    """Why someone else's change wins: who has the conversation now, or that it is over."""
    if view.status == "assigned":
        who = view.agent_name or "Another agent"
        return ApiError(
            409, f"{who} has already claimed this conversation.", agent_name=view.agent_name, handoff_status=view.status
        )
    return ApiError(409, f"This conversation is already {view.status.replace('_', ' ')}.", handoff_status=view.status)


# --- reading ------------------------------------------------------------------------------------------------------


async def me(request: web.Request) -> web.Response:
    signed = request[SIGNED_IN]
    return json_ok({"agent": signed.agent.as_json(), "csrf_token": signed.csrf_token})


async def queue(request: web.Request) -> web.Response:
    agent = _agent(request)
    handoffs = await db.run(request.app[DATABASE_URL], lambda s: store.open_queue(s, agent.queue_filter))
    return json_ok({"handoffs": [_json(request, h) for h in handoffs], "now": iso(request.app[CLOCK]())})


async def handoff(request: web.Request) -> web.Response:
    agent, handoff_id, now = _agent(request), _handoff_id(request), request.app[CLOCK]()

    def read(session: Session):
        view = visible_handoff(session, handoff_id, agent)
        return view, store.messages(session, handoff_id), customer_context(session, view, now=now)

    view, messages, context = await db.run(request.app[DATABASE_URL], read)
    return json_ok(
        {
            "handoff": _json(request, view),
            "messages": [m.as_json() for m in messages],
            "context": context_json(context),
            "now": iso(now),
        }
    )


async def timeline(request: web.Request) -> web.Response:
    """The bot's transcript (Rasa) and the handoff log as one timeline, and the sentiment chart's points."""
    agent, handoff_id = _agent(request), _handoff_id(request)

    def read(session: Session):
        view = visible_handoff(session, handoff_id, agent)
        return view, store.messages(session, handoff_id)

    view, messages = await db.run(request.app[DATABASE_URL], read)
    notice: str | None = None
    try:
        events = await request.app[RASA].events(view.conversation_id)
    except RasaUnavailable as exc:
        log.info("transcript of handoff %s unavailable: %s", handoff_id, exc)
        events = []
        notice = (
            "The bot's part of the conversation is unavailable right now (Rasa is unreachable); "
            "showing what was said since the handoff."
        )
    return json_ok(
        {
            "transcript_available": notice is None,
            "notice": notice,
            "entries": [e.as_json() for e in merge(transcript(events), messages)],
            "sentiments": sentiment_points(events),
            "last_message_id": max((m.id for m in messages), default=0),
        }
    )


# --- acting -------------------------------------------------------------------------------------------------------


async def claim(request: web.Request) -> web.Response:
    agent, handoff_id, now = _agent(request), _handoff_id(request), request.app[CLOCK]()
    url = request.app[DATABASE_URL]

    def take(session: Session):
        before = visible_handoff(session, handoff_id, agent)
        return before, store.claim(session, handoff_id, agent.id, now=now)

    try:
        before, claimed = await db.run(url, take)
    except HandoffConflict:
        raise _conflict(await db.run(url, lambda s: store.require(s, handoff_id))) from None
    request.app[FEED].wake()
    notified = True
    if before.status != "assigned":  # a first claim; claiming one's own claim again tells nobody anything
        queue_name = request.app[RULES].queue_name(claimed.queue)
        notice = {"type": "handoff", "status": "assigned", "queue": queue_name, "agent_name": agent.display_name}
        try:
            await request.app[RASA].append(
                claimed.conversation_id,
                [pause(), bot_notice(f"{agent.display_name} from our team has joined the chat.", notice)],
            )
        except RasaUnavailable as exc:
            log.warning("claim of handoff %s: the customer was not told (%s)", handoff_id, exc)
            notified = False
    answer: dict[str, Any] = {"handoff": _json(request, claimed), "notified": notified}
    if not notified:
        answer["warning"] = (
            "You have the conversation, but Rasa is unreachable: the customer has not been told "
            "yet. Your replies are kept and delivered when it is back."
        )
    return json_ok(answer)


async def reply(request: web.Request) -> web.Response:
    """A message to the customer: committed first, then handed to Rasa (202 when Rasa cannot take it yet)."""
    agent, handoff_id, now = _agent(request), _handoff_id(request), request.app[CLOCK]()
    text = _text(request, await _body(request), "text", "a reply")

    def save(session: Session):
        view = visible_handoff(session, handoff_id, agent)
        if view.status != "assigned" or view.agent_id != agent.id:
            if view.status in store.QUEUED_STATUSES:
                raise ApiError(409, "Claim this conversation before replying.", handoff_status=view.status)
            raise _conflict(view)
        return store.add_message(
            session, handoff_id, "agent", text, author=agent.display_name, agent_id=agent.id, now=now
        )

    message = await db.run(request.app[DATABASE_URL], save)
    request.app[FEED].wake()
    data = message.as_json()
    try:
        await request.app[DELIVERY].deliver(handoff_id)
    except RasaUnavailable as exc:
        log.warning("reply in handoff %s saved, not delivered yet (%s)", handoff_id, exc)
        return json_ok(
            {
                "delivered": False,
                "message": data,
                "notice": "Saved, not delivered yet: Rasa is unreachable. It is sent as soon as it is back.",
            },
            status=202,
        )
    data["delivered_at"] = iso(request.app[CLOCK]())
    return json_ok({"delivered": True, "message": data}, status=201)


async def note(request: web.Request) -> web.Response:
    """An internal note: for agents only, never sent to the customer."""
    agent, handoff_id, now = _agent(request), _handoff_id(request), request.app[CLOCK]()
    text = _text(request, await _body(request), "text", "a note")

    def save(session: Session):
        visible_handoff(session, handoff_id, agent)
        return store.add_message(
            session, handoff_id, "note", text, author=agent.display_name, agent_id=agent.id, now=now
        )

    message = await db.run(request.app[DATABASE_URL], save)
    request.app[FEED].wake()
    return json_ok({"message": message.as_json()}, status=201)


def _csat(journey_id: int) -> dict[str, Any]:
    return {
        "type": "csat",
        "question": CSAT_QUESTION,
        "options": [
            {
                "score": score,
                "title": CSAT_TITLES[score],
                "payload": f'/rate_journey{{"journey_id": {journey_id}, "score": {score}}}',
            }
            for score in (5, 4, 3, 2, 1)
        ],
    }


def _journey_id(body: dict[str, Any]) -> int | None:
    value = body.get("journey_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise ApiError(400, '"journey_id" must be the id of one of the customer\'s open journeys, or null.')
    return value


async def _finish(request: web.Request, status: str) -> web.Response:
    """Resolve or hand back: written, Rasa resumes the bot, then committed (rolled back if Rasa fails)."""
    agent, handoff_id, now = _agent(request), _handoff_id(request), request.app[CLOCK]()
    body = await _body(request)
    summary = _text(request, body, "summary", "a summary")
    journey_id = _journey_id(body) if status == "resolved" else None
    rules = request.app[RULES]

    def write(session: Session):
        view = visible_handoff(session, handoff_id, agent)
        if not view.is_open:
            raise _conflict(view)
        if view.agent_id not in (None, agent.id):
            raise _conflict(view)
        if journey_id is not None:
            open_ids = {j.id for j in journeys.open_journeys(session, view.customer_id)} if view.customer_id else set()
            if journey_id not in open_ids:
                raise ApiError(400, "That is not one of this customer's open journeys.")
            journeys.mark_resolved(session, journey_id, by_agent=agent.username, outcome=RESOLVED_OUTCOME, now=now)
        closed = store.close(session, handoff_id, status, agent_id=agent.id, summary=summary, now=now)
        pending = store.undelivered_agent_messages(session, handoff_id)
        store.mark_delivered(session, [m.id for m in pending], now=now)
        session.flush()
        return closed, pending

    async with db.HeldTransaction(request.app[DATABASE_URL]) as tx:
        try:
            closed, pending = await tx.run(write)
        except HandoffConflict:
            await tx.rollback()
            raise _conflict(await db.run(request.app[DATABASE_URL], lambda s: store.require(s, handoff_id))) from None
        except JourneyError as exc:
            raise ApiError(409, f"The journey could not be resolved: {exc}.") from None
        ended = {"type": "handoff", "status": "ended", "queue": rules.queue_name(closed.queue)}
        if status == "resolved":
            text = (
                f"{agent.display_name} has marked this as resolved. You're back with our assistant; "
                "just type if you need anything else."
            )
        else:
            text = "You're back with our assistant. Just type to carry on; our team has left a note of what happened."
        # The domain has no `handoff_summary` slot, so the summary stays in the handoff (store), not the tracker.
        events = [*agent_events(pending), resume(), listen(), set_slot("handoff_reason", None), bot_notice(text, ended)]
        if journey_id is not None:
            events.append(bot_notice(None, _csat(journey_id)))
        try:
            await request.app[RASA].append(closed.conversation_id, events)
        except RasaUnavailable as exc:
            await tx.rollback()
            log.warning("%s of handoff %s rolled back: %s", status, handoff_id, exc)
            raise ApiError(503, RASA_DOWN) from None
        await tx.commit()
    request.app[FEED].wake()
    return json_ok({"handoff": _json(request, closed), "journey_id": journey_id})


async def resolve(request: web.Request) -> web.Response:
    return await _finish(request, "resolved")


async def hand_back(request: web.Request) -> web.Response:
    return await _finish(request, "handed_back")
