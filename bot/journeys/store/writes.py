"""Writing journeys down: what the workflow runner decided, in the caller's session, safe against races."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.models import Journey, JourneyCsat, JourneyFollowUp, JourneyStep, utcnow
from bot.journeys.store.views import (
    FINAL_STATES,
    FOLLOW_UP_INTENT,
    JourneyConflict,
    JourneyNotFound,
    JourneyNotOpen,
    JourneyView,
    journey_view,
)
from bot.journeys.types import JOURNEY_STATES, StepResult, UserInput

TEXT_LIMIT = 500  # characters of the customer's message kept in a step record
CAS_RETRIES = 3  # SQLite, no expected version: re-read and retry after losing the race to another writer


def _jsonable(value: Any) -> Any:
    """Mappings and tuples (the frozen contract types) as the dicts and lists a JSON column stores."""
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _truncate(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _check_state(result: StepResult) -> None:
    if result.state not in JOURNEY_STATES:
        raise ValueError(f"unknown journey state {result.state!r} (one of {', '.join(JOURNEY_STATES)})")


def customer_answered(user_input: UserInput | None) -> bool:
    """True when the turn is the customer speaking (not the scheduler's follow-up trigger)."""
    return user_input is not None and user_input.intent != FOLLOW_UP_INTENT


# --- locking ----------------------------------------------------------------------------------------------------


def _load(session: Session, journey_id: int, customer_id: int | None = None, *, lock: bool = False) -> Journey:
    stmt = select(Journey).where(Journey.id == journey_id)
    if customer_id is not None:
        stmt = stmt.where(Journey.customer_id == customer_id)
    if lock:
        # PostgreSQL: waits for a concurrent writer, then reads its committed row. SQLite ignores it.
        stmt = stmt.with_for_update()
    journey = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if journey is None:
        raise JourneyNotFound(f"no journey {journey_id} for this customer")
    return journey


def _take(session: Session, journey: Journey, expected_version: int | None) -> Journey:
    """Bump the journey's version with a compare-and-set: the first write of every change.

    On SQLite this UPDATE also takes the database's write lock, so the re-read after a lost race sees the
    winner's committed row. With `expected_version`, any change since the caller read the journey is a
    conflict; without it the change is applied to whatever the state is now (serialized, nothing lost).
    """
    for _ in range(CAS_RETRIES):
        if expected_version is not None and journey.version != expected_version:
            raise JourneyConflict(
                journey.id,
                f"journey {journey.id} changed meanwhile (version {journey.version}, expected {expected_version})",
            )
        done = session.execute(
            update(Journey)
            .where(Journey.id == journey.id, Journey.version == journey.version)
            .values(version=Journey.version + 1)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            set_committed_value(journey, "version", journey.version + 1)
            return journey
        journey = _load(session, journey.id, lock=True)
    raise JourneyConflict(journey.id, f"journey {journey.id} keeps changing; try again")


def _flush(session: Session, journey_id: int | None) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if "problem_key" in str(exc.orig):
            raise JourneyConflict(journey_id, "this customer already has an open journey for this problem") from exc
        raise


# --- writing ------------------------------------------------------------------------------------------------------


def _append_steps(session: Session, journey: Journey, records: Iterable[dict[str, Any]]) -> None:
    seq = journey.step_count
    for record in records:
        seq += 1
        session.add(JourneyStep(journey_id=journey.id, seq=seq, **record))
    journey.step_count = seq


def _turn_records(
    result: StepResult,
    user_input: UserInput | None,
    channel: str | None,
    conversation_id: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """One record per step passed through; the customer's message on the first, the bot's answer on the last.

    A turn that moved no step (an unexpected answer asked again, an interruption) still gets one record.
    """
    steps = result.steps_taken or (result.current_step or "turn",)
    said = user_input or UserInput()
    last = len(steps) - 1
    return [
        {
            "step": step,
            "at": now,
            "channel": channel,
            "conversation_id": conversation_id,
            "intent": said.intent if i == 0 else None,
            "text": _truncate(said.text) if i == 0 else None,
            "sentiment": said.sentiment if i == 0 else None,
            "state_after": result.state,
            "messages": _jsonable(result.messages) if i == last else [],
            "unexpected": bool(result.unexpected_answer) and i == last,
        }
        for i, step in enumerate(steps)
    ]


def _event_record(step: str, state_after: str, now: datetime, **fields: Any) -> dict[str, Any]:
    """A step record for something that happened to the journey outside a workflow turn."""
    return {"step": step, "at": now, "state_after": state_after, "messages": [], "unexpected": False, **fields}


def _schedule(session: Session, journey: Journey, result: StepResult, now: datetime) -> None:
    for request in result.follow_ups:
        session.add(
            JourneyFollowUp(
                journey_id=journey.id,
                kind="follow_up",
                due_at=now + timedelta(seconds=request.delay_seconds),
                response=request.response,
                workflow=request.workflow,
                step=request.step,
                scheduled_at_step=result.current_step,
                status="pending",
                attempts=0,
                created_at=now,
            )
        )


def _cancel_pending(session: Session, journey_id: int, *kinds: str) -> int:
    """Cancel the journey's pending follow-ups of these kinds (all kinds when none are named)."""
    stmt = (
        update(JourneyFollowUp)
        .where(JourneyFollowUp.journey_id == journey_id, JourneyFollowUp.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    if kinds:
        stmt = stmt.where(JourneyFollowUp.kind.in_(kinds))
    return session.execute(stmt).rowcount


def _cancel_moved_on(session: Session, journey_id: int, current_step: str | None) -> int:
    """Cancel pending follow-ups scheduled at another step than the journey's current one: it moved on."""
    return session.execute(
        update(JourneyFollowUp)
        .where(
            JourneyFollowUp.journey_id == journey_id,
            JourneyFollowUp.status == "pending",
            JourneyFollowUp.kind == "follow_up",
            JourneyFollowUp.scheduled_at_step.is_distinct_from(current_step),
        )
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    ).rowcount


def _apply(journey: Journey, result: StepResult, now: datetime, *, by_customer: bool) -> None:
    journey.workflow = result.workflow
    journey.state = result.state
    journey.current_step = result.current_step
    journey.context = _jsonable(result.context)
    if result.state == "escalated":
        journey.escalation_reason = result.escalation_reason or journey.escalation_reason or "unspecified"
    elif result.escalation_reason:
        journey.escalation_reason = result.escalation_reason
    if result.outcome:
        journey.outcome = result.outcome
    if result.state == "resolved":
        journey.resolved_at = now
        journey.resolved_by = "customer" if by_customer else "bot"
    if result.state == "closed":
        journey.closed_at = now
    journey.updated_at = now
    journey.quiet_since = now


def open_journey(
    session: Session,
    customer_id: int,
    result: StepResult,
    *,
    problem_key: str,
    channel: str | None,
    conversation_id: str | None,
    user_input: UserInput | None,
    now: datetime,
) -> JourneyView:
    """Start the journey of a newly reported problem with the runner's first turn (steps, follow-ups).

    Raises `JourneyConflict` when the customer already has an open journey for `problem_key` (another
    message opened it a moment ago): roll back and continue that one.
    """
    _check_state(result)
    channel = channel or (user_input.channel if user_input else None)
    journey = Journey(
        customer_id=customer_id,
        workflow=result.workflow,
        problem_key=problem_key,
        state=result.state,
        opened_at=now,
        reopened_count=0,
        last_conversation_id=conversation_id,
        last_channel=channel,
        unanswered_nudges=0,
        step_count=0,
        version=1,
    )
    _apply(journey, result, now, by_customer=customer_answered(user_input))
    session.add(journey)
    _flush(session, None)
    _append_steps(session, journey, _turn_records(result, user_input, channel, conversation_id, now))
    _schedule(session, journey, result, now)
    _flush(session, journey.id)
    return journey_view(journey)


def record_turn(
    session: Session,
    journey_id: int,
    result: StepResult,
    *,
    user_input: UserInput | None,
    channel: str | None,
    conversation_id: str | None,
    now: datetime,
    expected_version: int | None = None,
) -> JourneyView:
    """Write one turn of an open journey: its steps, new state and context, follow-ups due and made obsolete.

    Pass the `version` of the view the runner started from as `expected_version`: if another turn got there
    first, `JourneyConflict` is raised and nothing is written. The journey's pending follow-ups scheduled at
    another step are cancelled (it moved on); pending nudges are cancelled when the customer answered or the
    journey no longer waits on them; every pending message is cancelled once the journey is resolved/closed.
    """
    _check_state(result)
    journey = _load(session, journey_id, lock=True)
    if journey.state in FINAL_STATES:
        raise JourneyNotOpen(f"journey {journey_id} is {journey.state}")
    journey = _take(session, journey, expected_version)
    if journey.state in FINAL_STATES:  # resolved by the turn that won the race
        raise JourneyNotOpen(f"journey {journey_id} is {journey.state}")
    by_customer = customer_answered(user_input)
    channel = channel or (user_input.channel if user_input else None)
    _apply(journey, result, now, by_customer=by_customer)
    if conversation_id:
        journey.last_conversation_id = conversation_id
    if channel:
        journey.last_channel = channel
    if by_customer:
        journey.unanswered_nudges = 0
    if result.state in FINAL_STATES:
        _cancel_pending(session, journey.id)
    else:
        _cancel_moved_on(session, journey.id, result.current_step)
        if by_customer or result.state != "waiting_for_customer":
            _cancel_pending(session, journey.id, "nudge")
    _schedule(session, journey, result, now)
    _append_steps(session, journey, _turn_records(result, user_input, channel, conversation_id, now))
    _flush(session, journey.id)
    return journey_view(journey)


def reopen_or_none(
    session: Session,
    customer_id: int,
    problem_key: str,
    now: datetime,
    window: timedelta,
    *,
    channel: str | None = None,
    conversation_id: str | None = None,
) -> JourneyView | None:
    """The same problem reported again soon after it was solved: reopen its journey instead of a new one.

    Reopens the latest resolved/closed journey of `problem_key` that ended within `window` before `now`
    (state `open`, `reopened_count` + 1, a "reopened" step record, no current step: the runner starts the
    workflow again with the journey's context). None when there is none: open a new journey then.
    """
    ended = func.coalesce(Journey.resolved_at, Journey.closed_at)
    journey_id = session.execute(
        select(Journey.id)
        .where(
            Journey.customer_id == customer_id,
            Journey.problem_key == problem_key,
            Journey.state.in_(FINAL_STATES),
            ended >= now - window,
        )
        .order_by(ended.desc(), Journey.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if journey_id is None:
        return None
    journey = _take(session, _load(session, journey_id, customer_id, lock=True), None)
    if journey.state not in FINAL_STATES:  # a concurrent message reopened it first: continue that
        return journey_view(journey)
    journey.state = "open"
    journey.current_step = None
    journey.reopened_count += 1
    journey.resolved_at = None
    journey.resolved_by = None
    journey.closed_at = None
    journey.outcome = None
    journey.unanswered_nudges = 0
    journey.updated_at = now
    journey.quiet_since = now
    if conversation_id:
        journey.last_conversation_id = conversation_id
    if channel:
        journey.last_channel = channel
    _append_steps(
        session,
        journey,
        [_event_record("reopened", "open", now, channel=channel, conversation_id=conversation_id)],
    )
    _flush(session, journey.id)
    return journey_view(journey)


def close(session: Session, journey_id: int, customer_id: int, by: str, *, now: datetime | None = None) -> JourneyView:
    """Close a journey (the customer no longer needs help, or it is done). Closing twice changes nothing."""
    now = now or utcnow()
    journey = _load(session, journey_id, customer_id, lock=True)
    if journey.state == "closed":
        return journey_view(journey)
    journey = _take(session, journey, None)
    journey.state = "closed"
    journey.closed_at = now
    journey.current_step = None
    journey.updated_at = now
    _cancel_pending(session, journey.id)
    _append_steps(session, journey, [_event_record("closed", "closed", now, text=f"by {by}"[:TEXT_LIMIT])])
    _flush(session, journey.id)
    return journey_view(journey)


WELCOMED_AT = "_welcomed_at"  # context key: when a new conversation last offered to continue this journey


def claim_welcome(
    session: Session, journey_id: int, customer_id: int, *, every: timedelta, now: datetime | None = None
) -> bool:
    """Whether a new conversation may offer to continue this journey now ("welcome back"), at most once per
    `every`; claiming it records the offer, so two conversations starting at once offer it once."""
    now = now or utcnow()
    journey = _load(session, journey_id, customer_id, lock=True)
    last = (journey.context or {}).get(WELCOMED_AT)
    try:
        if last and now - datetime.fromisoformat(str(last)) < every:
            return False
    except ValueError:  # an unreadable mark: offer, and write a good one
        pass
    journey = _take(session, journey, None)
    journey.context = {**(journey.context or {}), WELCOMED_AT: now.isoformat()}
    _flush(session, journey.id)
    return True


def mark_resolved(
    session: Session, journey_id: int, by_agent: str, outcome: str, *, now: datetime | None = None
) -> JourneyView:
    """An agent marks an open journey resolved (the customer confirmed elsewhere, or the fix is certain)."""
    return _resolve(
        session,
        _load(session, journey_id, lock=True),
        f"agent:{by_agent}",
        outcome,
        "resolved_by_agent",
        "agent",
        by_agent,
        now or utcnow(),
    )


def resolve_by_customer(
    session: Session, journey_id: int, customer_id: int, *, now: datetime | None = None
) -> JourneyView:
    """The customer says the problem is gone ("it's sorted now"), wherever the workflow was."""
    return _resolve(
        session,
        _load(session, journey_id, customer_id, lock=True),
        "customer",
        "customer_says_solved",
        "resolved_by_customer",
        None,
        "the customer says it is solved",
        now or utcnow(),
    )


def _resolve(
    session: Session, journey: Journey, by: str, outcome: str, step: str, channel: str | None, text: str, now: datetime
) -> JourneyView:
    journey_id = journey.id
    journey = _take(session, journey, None)
    if journey.state in FINAL_STATES:
        raise JourneyNotOpen(f"journey {journey_id} is {journey.state}")
    journey.state = "resolved"
    journey.resolved_at = now
    journey.resolved_by = by[:64]
    journey.outcome = outcome
    journey.current_step = None
    journey.updated_at = now
    _cancel_pending(session, journey.id)
    _append_steps(session, journey, [_event_record(step, "resolved", now, channel=channel, text=text)])
    _flush(session, journey.id)
    return journey_view(journey)


def record_csat(
    session: Session,
    journey_id: int,
    customer_id: int,
    score: int,
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Store the customer's 1-5 answer to the survey after resolution (answering again replaces it)."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValueError(f"CSAT score must be an integer 1..5, got {score!r}")
    journey = _load(session, journey_id, customer_id)
    if journey.resolved_at is None:
        raise JourneyNotOpen(f"journey {journey_id} is not resolved: nothing to rate yet")
    answer = session.get(JourneyCsat, journey.id)
    if answer is None:
        answer = JourneyCsat(journey_id=journey.id)
        session.add(answer)
    answer.score = score
    answer.comment = _truncate(comment)
    answer.at = now or utcnow()
    session.flush()
