"""Handoffs in SQL: the queue, claims, what was said, agents' presence and who owns a conversation.

Every function takes the caller's session and does not commit: the caller commits before it tells anyone
(the customer, the agent) that something happened. Claims are a compare-and-set on `version`, so two agents
clicking "claim" at once cannot both get the conversation; a partial unique index keeps one open handoff
per conversation even when two messages race to open it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import (
    OPEN_HANDOFF_STATUSES,
    Agent,
    Customer,
    Handoff,
    HandoffMessage,
    Order,
    utcnow,
)

# Statuses a person can still pick up; `assigned` ones are being handled.
QUEUED_STATUSES = ("waiting", "follow_up")
CLOSED_STATUSES = ("handed_back", "resolved", "cancelled")
MESSAGE_LIMIT = 10_000  # characters of one stored message (the channel refuses longer ones anyway)
# Orders that count towards a customer's value (what they kept).
_VALUE_ORDER_STATUSES = ("placed", "processing", "shipped", "out_for_delivery", "delivered")


class HandoffError(Exception):
    """Base of the handoff store's errors; the message is safe to show to an agent."""


class HandoffNotFound(HandoffError, LookupError):
    pass


class HandoffConflict(HandoffError):
    """Someone else changed the handoff first (claimed it, closed it)."""


@dataclass(frozen=True)
class HandoffView:
    """A handoff as it was when read: safe to keep after the session is gone."""

    id: int
    conversation_id: str
    channel: str | None
    customer_id: int | None
    customer_external_id: str | None
    customer_name: str | None
    journey_id: int | None
    reason: str
    queue: str
    priority: int
    sentiment: float | None
    customer_value: Decimal | None
    status: str
    agent_id: int | None
    agent_name: str | None
    expected_wait_seconds: int | None
    summary: str | None
    requested_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    version: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_HANDOFF_STATUSES

    @property
    def pauses_bot(self) -> bool:
        """The bot stays quiet while the customer waits for or talks to a person (not for a later follow-up)."""
        return self.status in ("waiting", "assigned")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat() + "Z"
            elif isinstance(value, Decimal):
                data[key] = float(value)
        return data


@dataclass(frozen=True)
class MessageView:
    id: int
    handoff_id: int
    conversation_id: str
    kind: str
    author: str | None
    agent_id: int | None
    text: str
    at: datetime
    delivered_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat() + "Z"
        data["delivered_at"] = self.delivered_at.isoformat() + "Z" if self.delivered_at else None
        return data


def _select_handoffs():
    return (
        select(Handoff, Customer.external_id, Customer.name, Agent.display_name)
        .outerjoin(Customer, Customer.id == Handoff.customer_id)
        .outerjoin(Agent, Agent.id == Handoff.agent_id)
    )


def _view(row: Any) -> HandoffView:
    h, external_id, customer_name, agent_name = row
    return HandoffView(
        id=h.id,
        conversation_id=h.conversation_id,
        channel=h.channel,
        customer_id=h.customer_id,
        customer_external_id=external_id,
        customer_name=customer_name,
        journey_id=h.journey_id,
        reason=h.reason,
        queue=h.queue,
        priority=h.priority,
        sentiment=h.sentiment,
        customer_value=h.customer_value,
        status=h.status,
        agent_id=h.agent_id,
        agent_name=agent_name,
        expected_wait_seconds=h.expected_wait_seconds,
        summary=h.summary,
        requested_at=h.requested_at,
        claimed_at=h.claimed_at,
        closed_at=h.closed_at,
        updated_at=h.updated_at,
        version=h.version,
    )


def _message_view(m: HandoffMessage, conversation_id: str) -> MessageView:
    return MessageView(m.id, m.handoff_id, conversation_id, m.kind, m.author, m.agent_id, m.text, m.at, m.delivered_at)


# --- reading ------------------------------------------------------------------------------------------------------


def get(session: Session, handoff_id: int) -> HandoffView | None:
    row = session.execute(_select_handoffs().where(Handoff.id == handoff_id)).first()
    return _view(row) if row else None


def require(session: Session, handoff_id: int) -> HandoffView:
    view = get(session, handoff_id)
    if view is None:
        raise HandoffNotFound(f"no handoff {handoff_id}")
    return view


def lock_for_delivery(session: Session, handoff_id: int) -> HandoffView:
    """The handoff, its row locked until the transaction ends (`SELECT ... FOR UPDATE` on PostgreSQL), so that of
    several console processes one at a time sends its replies; the others then find them delivered."""
    session.execute(select(Handoff.id).where(Handoff.id == handoff_id).with_for_update()).scalar_one_or_none()
    return require(session, handoff_id)


def active_for_conversation(session: Session, conversation_id: str) -> HandoffView | None:
    """The conversation's open handoff (waiting, assigned or follow-up), if any."""
    row = session.execute(
        _select_handoffs().where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_HANDOFF_STATUSES))
    ).first()
    return _view(row) if row else None


def latest_for_conversation(session: Session, conversation_id: str) -> HandoffView | None:
    row = session.execute(
        _select_handoffs().where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc()).limit(1)
    ).first()
    return _view(row) if row else None


def open_queue(session: Session, queues: Sequence[str] | None = None) -> list[HandoffView]:
    """Open handoffs, most urgent first: waiting by priority then wait, then follow-ups, then assigned ones.

    `queues=None` means every queue (admins); an empty list means none.
    """
    stmt = _select_handoffs().where(Handoff.status.in_(OPEN_HANDOFF_STATUSES))
    if queues is not None:
        stmt = stmt.where(Handoff.queue.in_(list(queues)))
    rank = {"waiting": 0, "follow_up": 1, "assigned": 2}
    views = [_view(row) for row in session.execute(stmt)]
    return sorted(views, key=lambda v: (rank[v.status], -v.priority, v.requested_at, v.id))


def ahead_of(session: Session, queue: str, priority: int, requested_at: datetime, *, exclude_id: int = 0) -> int:
    """How many waiting handoffs of `queue` a person takes before one with this priority and request time."""
    return session.execute(
        select(func.count(Handoff.id)).where(
            Handoff.queue == queue,
            Handoff.status == "waiting",
            Handoff.id != exclude_id,
            or_(
                Handoff.priority > priority,
                (Handoff.priority == priority) & (Handoff.requested_at <= requested_at),
            ),
        )
    ).scalar_one()


def changed_since(session: Session, since: datetime) -> list[HandoffView]:
    """Handoffs changed at or after `since` (the console's change feed)."""
    stmt = _select_handoffs().where(Handoff.updated_at >= since).order_by(Handoff.updated_at, Handoff.id)
    return [_view(row) for row in session.execute(stmt)]


def for_customer(session: Session, customer_id: int, *, limit: int = 20) -> list[HandoffView]:
    stmt = _select_handoffs().where(Handoff.customer_id == customer_id).order_by(Handoff.id.desc()).limit(limit)
    return [_view(row) for row in session.execute(stmt)]


def messages(session: Session, handoff_id: int) -> list[MessageView]:
    conversation_id = session.execute(
        select(Handoff.conversation_id).where(Handoff.id == handoff_id)
    ).scalar_one_or_none()
    if conversation_id is None:
        raise HandoffNotFound(f"no handoff {handoff_id}")
    rows = session.execute(
        select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id).order_by(HandoffMessage.id)
    ).scalars()
    return [_message_view(m, conversation_id) for m in rows]


def messages_after(session: Session, after_id: int, *, limit: int = 500) -> list[MessageView]:
    """Messages newer than the cursor `after_id`, oldest first (the console's live feed)."""
    rows = session.execute(
        select(HandoffMessage, Handoff.conversation_id)
        .join(Handoff, Handoff.id == HandoffMessage.handoff_id)
        .where(HandoffMessage.id > after_id)
        .order_by(HandoffMessage.id)
        .limit(limit)
    )
    return [_message_view(m, conversation_id) for m, conversation_id in rows]


def last_message_id(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(HandoffMessage.id), 0))).scalar_one()


def undelivered_agent_messages(session: Session, handoff_id: int) -> list[MessageView]:
    """Agent messages Rasa has not taken yet (it was down): sent again, in order, on the next reply."""
    conversation_id = session.execute(select(Handoff.conversation_id).where(Handoff.id == handoff_id)).scalar_one()
    rows = session.execute(
        select(HandoffMessage)
        .where(
            HandoffMessage.handoff_id == handoff_id,
            HandoffMessage.kind == "agent",
            HandoffMessage.delivered_at.is_(None),
        )
        .order_by(HandoffMessage.id)
    ).scalars()
    return [_message_view(m, conversation_id) for m in rows]


def handoffs_awaiting_delivery(session: Session) -> list[int]:
    """Handoffs a person is talking in whose replies Rasa has not taken yet, oldest reply first."""
    rows = session.execute(
        select(HandoffMessage.handoff_id)
        .join(Handoff, Handoff.id == HandoffMessage.handoff_id)
        .where(HandoffMessage.kind == "agent", HandoffMessage.delivered_at.is_(None), Handoff.status == "assigned")
        .order_by(HandoffMessage.id)
    ).scalars()
    return list(dict.fromkeys(rows))


def queues_of(session: Session, handoff_ids: Iterable[int]) -> dict[int, str]:
    """Handoff id -> its queue."""
    ids = set(handoff_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Handoff.id, Handoff.queue).where(Handoff.id.in_(ids))).all())


# --- writing ------------------------------------------------------------------------------------------------------


def open_handoff(
    session: Session,
    *,
    conversation_id: str,
    reason: str,
    queue: str,
    priority: int,
    status: str = "waiting",
    channel: str | None = None,
    customer_id: int | None = None,
    journey_id: int | None = None,
    sentiment: float | None = None,
    customer_value: Decimal | None = None,
    expected_wait_seconds: int | None = None,
    now: datetime | None = None,
) -> tuple[HandoffView, bool]:
    """Open a handoff, or return the conversation's open one (asking twice does not queue twice).

    Returns (handoff, created).
    """
    if status not in QUEUED_STATUSES:
        raise ValueError(f"a handoff opens as waiting or follow_up, not {status!r}")
    existing = active_for_conversation(session, conversation_id)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    handoff = Handoff(
        conversation_id=conversation_id,
        channel=channel,
        customer_id=customer_id,
        journey_id=journey_id,
        reason=reason[:64],
        queue=queue,
        priority=max(0, min(100, int(priority))),
        sentiment=sentiment,
        customer_value=customer_value,
        status=status,
        expected_wait_seconds=expected_wait_seconds,
        requested_at=now,
        updated_at=now,
        version=1,
    )
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:
        # Another message opened one for this conversation at the same moment: join it.
        existing = active_for_conversation(session, conversation_id)
        if existing is None:
            raise
        return existing, False
    return require(session, handoff.id), True


def set_expected_wait(session: Session, handoff_id: int, seconds: int | None) -> None:
    session.execute(update(Handoff).where(Handoff.id == handoff_id).values(expected_wait_seconds=seconds))


def _compare_and_set(session: Session, view: HandoffView, **values: Any) -> HandoffView:
    done = session.execute(
        update(Handoff)
        .where(Handoff.id == view.id, Handoff.version == view.version)
        .values(version=Handoff.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise HandoffConflict(f"handoff {view.id} was changed by someone else; reload it")
    session.expire_all()
    return require(session, view.id)


def claim(session: Session, handoff_id: int, agent_id: int, *, now: datetime | None = None) -> HandoffView:
    """A person takes the conversation. Claiming one's own claim again is harmless; anyone else's is refused."""
    view = require(session, handoff_id)
    if view.status == "assigned" and view.agent_id == agent_id:
        return view
    if view.status not in QUEUED_STATUSES:
        holder = f" by {view.agent_name}" if view.status == "assigned" and view.agent_name else ""
        raise HandoffConflict(f"handoff {handoff_id} is already {view.status.replace('_', ' ')}{holder}")
    now = now or utcnow()
    return _compare_and_set(session, view, status="assigned", agent_id=agent_id, claimed_at=now, updated_at=now)


def close(
    session: Session,
    handoff_id: int,
    status: str,
    *,
    agent_id: int | None = None,
    summary: str | None = None,
    now: datetime | None = None,
) -> HandoffView:
    """End a handoff: handed back to the bot, resolved by the agent, or cancelled by the customer."""
    if status not in CLOSED_STATUSES:
        raise ValueError(f"a handoff closes as one of {', '.join(CLOSED_STATUSES)}, not {status!r}")
    view = require(session, handoff_id)
    if not view.is_open:
        raise HandoffConflict(f"handoff {handoff_id} is already {view.status.replace('_', ' ')}")
    if agent_id is not None and view.agent_id not in (None, agent_id):
        raise HandoffConflict(f"handoff {handoff_id} is handled by {view.agent_name or 'another agent'}")
    now = now or utcnow()
    values: dict[str, Any] = {"status": status, "closed_at": now, "updated_at": now}
    if summary is not None:
        values["summary"] = summary.strip()[:MESSAGE_LIMIT] or None
    if agent_id is not None and view.agent_id is None:
        values["agent_id"] = agent_id
    return _compare_and_set(session, view, **values)


def add_message(
    session: Session,
    handoff_id: int,
    kind: str,
    text: str,
    *,
    author: str | None = None,
    agent_id: int | None = None,
    now: datetime | None = None,
) -> MessageView:
    """Record what was said (or noted) during a handoff; the handoff counts as changed for the console."""
    text = (text or "").strip()
    if not text:
        raise ValueError("an empty message is not recorded")
    now = now or utcnow()
    message = HandoffMessage(
        handoff_id=handoff_id, kind=kind, text=text[:MESSAGE_LIMIT], author=author, agent_id=agent_id, at=now
    )
    session.add(message)
    done = session.execute(update(Handoff).where(Handoff.id == handoff_id).values(updated_at=now))
    if done.rowcount != 1:
        raise HandoffNotFound(f"no handoff {handoff_id}")
    session.flush()
    conversation_id = session.execute(select(Handoff.conversation_id).where(Handoff.id == handoff_id)).scalar_one()
    return _message_view(message, conversation_id)


def mark_delivered(session: Session, message_ids: Iterable[int], *, now: datetime | None = None) -> None:
    ids = list(message_ids)
    if ids:
        session.execute(update(HandoffMessage).where(HandoffMessage.id.in_(ids)).values(delivered_at=now or utcnow()))


# --- agents' presence and the expected wait -----------------------------------------------------------------------


def touch_agent(session: Session, agent_id: int, *, now: datetime | None = None) -> None:
    """The agent's console is open and connected (called on every heartbeat)."""
    session.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=now or utcnow()))


def agents_online(session: Session, queue: str, *, within_seconds: float, now: datetime | None = None) -> int:
    """Active agents whose console checked in recently and who work `queue` (admins work every queue)."""
    now = now or utcnow()
    agents = session.execute(
        select(Agent.role, Agent.queues).where(
            Agent.active.is_(True), Agent.last_seen_at >= now - timedelta(seconds=within_seconds)
        )
    ).all()
    return sum(1 for role, queues in agents if role == "admin" or queue in (queues or []))


def handle_seconds(session: Session, queue: str, *, days: float, now: datetime | None = None) -> float | None:
    """Median time from claim to close of this queue's recent handoffs; None with fewer than five."""
    now = now or utcnow()
    rows = session.execute(
        select(Handoff.claimed_at, Handoff.closed_at).where(
            Handoff.queue == queue,
            Handoff.claimed_at.is_not(None),
            Handoff.closed_at.is_not(None),
            Handoff.closed_at >= now - timedelta(days=days),
        )
    ).all()
    durations = [(closed - claimed).total_seconds() for claimed, closed in rows if closed >= claimed]
    return statistics.median(durations) if len(durations) >= 5 else None


def customer_spend(session: Session, customer_id: int, *, days: int = 365, now: datetime | None = None) -> Decimal:
    """What the customer spent (orders kept) in the last `days`: the value input of a handoff's priority."""
    now = now or utcnow()
    total = session.execute(
        select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.customer_id == customer_id,
            Order.status.in_(_VALUE_ORDER_STATUSES),
            Order.placed_at >= now - timedelta(days=days),
        )
    ).scalar_one()
    return Decimal(str(total)).quantize(Decimal("0.01"))
