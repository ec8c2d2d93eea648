"""Starting a handoff: route it, rank it, promise a wait the customer can trust, and store it first.

Called by the actions (ask for a person, repeated misunderstanding, the sentiment policy's offer accepted,
a workflow's escalate step) through `start_handoff`, which commits before the action tells the customer
anything, so a customer is never promised a person the queue does not know about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.handoff import store
from bot.handoff.routing import HandoffRules, default_rules
from bot.handoff.store import HandoffView
from bot.journeys.store import open_journeys
from bot.shop.customers import customer_pk

# Why a person was wanted (handoff_reason): the customer asked, the sentiment policy's triggers
# (bot.sentiment.escalation), the bot kept failing, a workflow escalated, or the customer asked for something
# only a person does (a complaint, closing the account).
ASKED = "asked"
BOT_STUCK = "bot_stuck"
WORKFLOW_ESCALATION = "workflow_escalation"
COMPLAINT = "complaint"
ACCOUNT_CLOSURE = "account_closure"


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    reason: str
    channel: str | None = None
    customer_external_id: str | None = None  # verified (signed token); None for a visitor
    sentiment: float | None = None  # the conversation's mean sentiment so far, -1..1
    intents: Sequence[str] = ()  # the conversation's latest topical intents, newest first
    journey_id: int | None = None
    workflow: str | None = None


@dataclass(frozen=True)
class HandoffStart:
    """What the customer is told: waiting (with position and wait) or a follow-up because nobody is online."""

    handoff: HandoffView
    created: bool
    queue_name: str
    agents_online: int
    position: int  # 1 = next
    expected_wait_minutes: int | None
    follow_up_hours: float

    @property
    def waiting(self) -> bool:
        return self.handoff.status in ("waiting", "assigned")

    def widget_notice(self) -> dict:
        """The `handoff` custom payload of docs/widget-protocol.md."""
        notice: dict[str, Any] = {"type": "handoff", "status": self.handoff.status, "queue": self.queue_name}
        if self.handoff.status == "waiting":
            notice["position"] = self.position
            if self.expected_wait_minutes is not None:
                notice["expected_wait_minutes"] = self.expected_wait_minutes
        if self.handoff.status == "assigned" and self.handoff.agent_name:
            notice["agent_name"] = self.handoff.agent_name
        return notice


def expected_wait_seconds(
    session: Session, rules: HandoffRules, queue: str, ahead: int, agents: int, now: datetime
) -> int | None:
    """(handoffs ahead + 1) / agents online x the queue's median handling time; None when nobody is online."""
    if agents <= 0:
        return None
    handle = store.handle_seconds(session, queue, days=rules.history_days, now=now)
    if handle is None:
        handle = rules.default_handle_minutes * 60
    return int(math.ceil((ahead + 1) / agents * handle))


def start_handoff(session: Session, request: HandoffRequest, *, rules: HandoffRules | None = None) -> HandoffStart:
    """Start the handoff and commit, so the queue knows of it before the customer is told a person comes.

    A request that names no journey takes the customer's most recently updated open one with it."""
    if request.journey_id is None and request.customer_external_id:
        customer_id = customer_pk(session, request.customer_external_id)
        journeys = open_journeys(session, customer_id) if customer_id is not None else []
        if journeys:
            latest = max(journeys, key=lambda j: j.updated_at)
            request = replace(request, journey_id=latest.id, workflow=latest.workflow)
    start = request_handoff(session, request, rules=rules)
    session.commit()
    return start


def request_handoff(
    session: Session, request: HandoffRequest, *, rules: HandoffRules | None = None, now: datetime | None = None
) -> HandoffStart:
    """Open (or rejoin) the conversation's handoff: waiting when someone works its queue, else a follow-up."""
    rules = rules or default_rules()
    now = now or utcnow()
    queue = rules.route(workflow=request.workflow, intents=tuple(request.intents))
    customer_id = customer_pk(session, request.customer_external_id)
    spend: Decimal | None = store.customer_spend(session, customer_id, now=now) if customer_id is not None else None
    priority = rules.priority(reason=request.reason, sentiment=request.sentiment, spend=spend)
    agents = store.agents_online(session, queue, within_seconds=rules.agent_online_seconds, now=now)
    handoff, created = store.open_handoff(
        session,
        conversation_id=request.conversation_id,
        channel=request.channel,
        customer_id=customer_id,
        journey_id=request.journey_id,
        reason=request.reason,
        queue=queue,
        priority=priority,
        status="waiting" if agents else "follow_up",
        sentiment=request.sentiment,
        customer_value=spend,
        now=now,
    )
    ahead = store.ahead_of(session, handoff.queue, handoff.priority, handoff.requested_at, exclude_id=handoff.id)
    wait = (
        expected_wait_seconds(session, rules, handoff.queue, ahead, agents, now)
        if handoff.status == "waiting"
        else None
    )
    if created and wait is not None:
        store.set_expected_wait(session, handoff.id, wait)
        handoff = store.require(session, handoff.id)
    return HandoffStart(
        handoff=handoff,
        created=created,
        queue_name=rules.queue_name(handoff.queue),
        agents_online=agents,
        position=ahead + 1,
        expected_wait_minutes=max(1, math.ceil(wait / 60)) if wait is not None else None,
        follow_up_hours=rules.follow_up_promise_hours,
    )


@dataclass(frozen=True)
class Availability:
    """Whether a person can be reached now: agents online for the default queue, else the follow-up promise."""

    agents_online: int
    follow_up_hours: float


def availability(session: Session, *, rules: HandoffRules | None = None, now: datetime | None = None) -> Availability:
    rules = rules or default_rules()
    agents = store.agents_online(
        session, rules.default_queue, within_seconds=rules.agent_online_seconds, now=now or utcnow()
    )
    return Availability(agents, rules.follow_up_promise_hours)


def cancel_follow_up(session: Session, conversation_id: str, *, now: datetime | None = None) -> HandoffView | None:
    """The customer no longer wants a person to get back to them; None when there was nothing to cancel."""
    handoff = store.active_for_conversation(session, conversation_id)
    if handoff is None or handoff.status != "follow_up":
        return None
    closed = store.close(session, handoff.id, "cancelled", now=now)
    store.add_message(session, handoff.id, "system", "The customer cancelled the request.", now=now)
    return closed
