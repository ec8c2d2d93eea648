"""The journey store writes down each turn of a customer's problem, on SQLite and PostgreSQL.

The workflow runner is not under test here: its `StepResult`s are built by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import models
from bot.db.models import Customer, Journey, JourneyCsat, JourneyFollowUp, JourneyStep
from bot.journeys import store
from bot.journeys.open_issues import JourneyOpenIssues
from bot.journeys.store import (
    FOLLOW_UP_INTENT,
    JourneyConflict,
    JourneyNotFound,
    JourneyNotOpen,
)
from bot.journeys.types import (
    JOURNEY_STATES,
    OPEN_STATES,
    BotMessage,
    FollowUpRequest,
    StepResult,
    UserInput,
)

T0 = datetime(2031, 3, 2, 9, 0, 0)


# --- helpers shared by the journey tests ------------------------------------------------------------------------


def customer_id(session: Session, external_id: str = "CUST-00001") -> int:
    return session.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one()


def step_result(
    state: str = "waiting_for_customer",
    current_step: str | None = "ask_router_lights",
    steps: tuple[str, ...] = ("start", "ask_router_lights"),
    *,
    workflow: str = "no_internet",
    follow_ups: tuple[FollowUpRequest, ...] = (),
    context: dict | None = None,
    **fields,
) -> StepResult:
    return StepResult(
        workflow=workflow,
        current_step=current_step,
        state=state,
        messages=(BotMessage("utter_ask_router_lights", buttons=({"title": "yes", "payload": "/affirm"},)),),
        steps_taken=steps,
        context=context or {},
        follow_ups=follow_ups,
        **fields,
    )


def said(
    text: str = "my internet is down",
    intent: str = "report_problem",
    sentiment: float | None = -0.6,
    channel: str = "web",
    **entities,
) -> UserInput:
    return UserInput(intent=intent, entities=entities, text=text, sentiment=sentiment, channel=channel)


def open_one(
    session: Session,
    cid: int,
    *,
    now: datetime = T0,
    problem_key: str = "no_internet",
    conversation_id: str = "conv-1",
    result: StepResult | None = None,
    channel: str = "web",
):
    return store.open_journey(
        session,
        cid,
        result or step_result(),
        problem_key=problem_key,
        channel=channel,
        conversation_id=conversation_id,
        user_input=said(channel=channel),
        now=now,
    )


def turn(
    session: Session,
    journey_id: int,
    result: StepResult,
    *,
    now: datetime,
    user_input: UserInput | None = None,
    conversation_id: str = "conv-1",
    channel: str = "web",
    expected_version: int | None = None,
):
    return store.record_turn(
        session,
        journey_id,
        result,
        user_input=user_input or said("yes", "affirm", 0.1, channel),
        channel=channel,
        conversation_id=conversation_id,
        now=now,
        expected_version=expected_version,
    )


def steps_of(session: Session, journey_id: int) -> list[JourneyStep]:
    return list(
        session.execute(
            select(JourneyStep).where(JourneyStep.journey_id == journey_id).order_by(JourneyStep.seq)
        ).scalars()
    )


def follow_ups_of(session: Session, journey_id: int) -> list[JourneyFollowUp]:
    return list(
        session.execute(
            select(JourneyFollowUp)
            .where(JourneyFollowUp.journey_id == journey_id)
            .order_by(JourneyFollowUp.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )


# --- tests ----------------------------------------------------------------------------------------------------------


def test_the_schema_knows_the_same_journey_states_as_the_runner_contract() -> None:
    assert models.JOURNEY_STATES == JOURNEY_STATES
    assert models.OPEN_JOURNEY_STATES == OPEN_STATES


def test_opening_a_journey_writes_it_with_its_steps_and_follow_ups(session) -> None:
    cid = customer_id(session)
    result = step_result(
        context={"router": "TP-1"}, follow_ups=(FollowUpRequest(3600, response="utter_check_in", step="check"),)
    )
    view = open_one(session, cid, result=result)

    assert (view.workflow, view.state, view.current_step, view.steps, view.version) == (
        "no_internet",
        "waiting_for_customer",
        "ask_router_lights",
        2,
        1,
    )
    assert view.context == {"router": "TP-1"} and view.is_open
    assert (view.last_conversation_id, view.last_channel, view.opened_at) == ("conv-1", "web", T0)
    assert store.get(session, view.id, cid) == view

    first, last = steps_of(session, view.id)
    assert (first.seq, first.step, last.seq, last.step) == (1, "start", 2, "ask_router_lights")
    assert (first.intent, first.text, first.sentiment, first.channel, first.conversation_id) == (
        "report_problem",
        "my internet is down",
        -0.6,
        "web",
        "conv-1",
    )
    assert last.intent is None and last.sentiment is None  # the message belongs to the turn's first step
    assert first.messages == [] and last.messages[0]["response"] == "utter_ask_router_lights"
    assert last.messages[0]["buttons"] == [{"title": "yes", "payload": "/affirm"}]
    assert {s.state_after for s in (first, last)} == {"waiting_for_customer"}

    (fu,) = follow_ups_of(session, view.id)
    assert (fu.kind, fu.status, fu.due_at, fu.response, fu.step, fu.scheduled_at_step) == (
        "follow_up",
        "pending",
        T0 + timedelta(hours=1),
        "utter_check_in",
        "check",
        "ask_router_lights",
    )


def test_a_turn_appends_its_steps_and_moves_the_journey_on_across_channels(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    later = T0 + timedelta(days=1)
    result = step_result(
        "waiting_for_customer", "ask_restart", ("check_lights", "ask_restart"), context={"lights": "red"}
    )
    view = turn(
        session,
        opened.id,
        result,
        now=later,
        conversation_id="whatsapp-77",
        channel="whatsapp",
        expected_version=opened.version,
    )

    assert (view.current_step, view.steps, view.version, view.updated_at) == ("ask_restart", 4, 2, later)
    assert view.context == {"lights": "red"}
    assert (view.last_conversation_id, view.last_channel) == ("whatsapp-77", "whatsapp")
    records = steps_of(session, opened.id)
    assert [s.seq for s in records] == [1, 2, 3, 4]
    assert (records[2].channel, records[2].conversation_id, records[2].intent) == ("whatsapp", "whatsapp-77", "affirm")


def test_an_unexpected_answer_is_one_step_record_that_asked_again(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    again = step_result(steps=(), unexpected_answer=True)
    view = turn(
        session,
        opened.id,
        again,
        now=T0 + timedelta(minutes=1),
        user_input=said("what's the weather", "chitchat", None),
    )
    (record,) = steps_of(session, opened.id)[2:]
    assert (record.step, record.unexpected, record.intent, record.sentiment) == (
        "ask_router_lights",
        True,
        "chitchat",
        None,
    )
    assert view.steps == 3


def test_a_long_message_is_truncated_in_the_step_record(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    turn(session, opened.id, step_result(steps=("ask_router_lights",)), now=T0, user_input=said("x" * 5000, "inform"))
    assert len(steps_of(session, opened.id)[-1].text) == store.TEXT_LIMIT


def test_moving_on_cancels_follow_ups_of_the_old_step_and_keeps_those_of_the_current_one(session) -> None:
    cid = customer_id(session)
    waiting = step_result(
        "waiting_for_company",
        "await_engineer",
        ("book_engineer", "await_engineer"),
        follow_ups=(FollowUpRequest(86400, response="utter_did_engineer_come"),),
    )
    opened = open_one(session, cid, result=waiting)
    # An interruption: the journey stays at its step, so the follow-up still makes sense.
    turn(session, opened.id, step_result("waiting_for_company", "await_engineer", ()), now=T0 + timedelta(hours=1))
    assert [f.status for f in follow_ups_of(session, opened.id)] == ["pending"]
    # The engineer came early: the journey moves on, the check-in is obsolete; the new step's one is kept.
    moved = step_result(
        "waiting_for_customer",
        "ask_fixed",
        ("ask_fixed",),
        follow_ups=(FollowUpRequest(600, response="utter_still_there"),),
    )
    turn(session, opened.id, moved, now=T0 + timedelta(hours=2))
    assert [(f.response, f.status) for f in follow_ups_of(session, opened.id)] == [
        ("utter_did_engineer_come", "cancelled"),
        ("utter_still_there", "pending"),
    ]


def test_the_customer_answering_cancels_pending_nudges_and_resets_the_count(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    journey = session.get(Journey, opened.id)
    journey.unanswered_nudges = 1
    session.add(
        JourneyFollowUp(
            journey_id=opened.id,
            kind="nudge",
            due_at=T0 + timedelta(days=1),
            status="pending",
            attempts=0,
            scheduled_at_step="ask_router_lights",
            created_at=T0,
        )
    )
    session.flush()
    # The scheduler's own trigger is not an answer: the nudge stays and the count is kept.
    view = turn(
        session,
        opened.id,
        step_result(steps=()),
        now=T0 + timedelta(hours=1),
        user_input=UserInput(intent=FOLLOW_UP_INTENT),
    )
    assert view.unanswered_nudges == 1
    assert [f.status for f in follow_ups_of(session, opened.id)] == ["pending"]
    view = turn(session, opened.id, step_result(steps=("ask_router_lights",)), now=T0 + timedelta(hours=2))
    assert view.unanswered_nudges == 0
    assert [f.status for f in follow_ups_of(session, opened.id)] == ["cancelled"]


def test_resolution_cancels_every_pending_message_and_ends_the_journey(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid, result=step_result(follow_ups=(FollowUpRequest(60, response="utter_x"),)))
    resolved = step_result("resolved", None, ("ask_fixed", "resolve"), outcome="fixed_by_restart")
    view = turn(session, opened.id, resolved, now=T0 + timedelta(hours=3))
    assert (view.state, view.outcome, view.resolved_by, view.resolved_at) == (
        "resolved",
        "fixed_by_restart",
        "customer",
        T0 + timedelta(hours=3),
    )
    assert not view.is_open
    assert [f.status for f in follow_ups_of(session, opened.id)] == ["cancelled"]
    with pytest.raises(JourneyNotOpen):
        turn(session, opened.id, step_result(), now=T0 + timedelta(hours=4))
    assert store.get(session, opened.id, cid).steps == view.steps  # nothing written


def test_escalation_keeps_its_reason_for_the_kpis(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    view = turn(
        session, opened.id, step_result("escalated", None, ("escalate",), escalation_reason="router_faulty"), now=T0
    )
    assert (view.state, view.escalation_reason, view.is_open) == ("escalated", "router_faulty", True)
    view = store.mark_resolved(session, opened.id, "alice", "router_replaced", now=T0 + timedelta(hours=5))
    assert (view.state, view.escalation_reason, view.resolved_by, view.outcome) == (
        "resolved",
        "router_faulty",
        "agent:alice",
        "router_replaced",
    )
    assert steps_of(session, opened.id)[-1].step == "resolved_by_agent"
    with pytest.raises(JourneyNotOpen):
        store.mark_resolved(session, opened.id, "bob", "again")


def test_a_customer_cannot_read_or_close_another_customers_journey(session) -> None:
    mine, theirs = customer_id(session, "CUST-00001"), customer_id(session, "CUST-00002")
    journey = open_one(session, mine)
    assert store.get(session, journey.id, theirs) is None
    assert store.open_journeys(session, theirs) == [] and store.find_open(session, theirs) is None
    with pytest.raises(JourneyNotFound):
        store.close(session, journey.id, theirs, "customer")
    with pytest.raises(JourneyNotFound):
        store.record_csat(session, journey.id, theirs, 1)
    assert store.get(session, journey.id, mine).state == "waiting_for_customer"


def test_open_journeys_come_newest_activity_first_and_find_open_narrows_by_workflow(session) -> None:
    cid = customer_id(session)
    internet = open_one(session, cid, now=T0)
    delivery = open_one(
        session,
        cid,
        now=T0 + timedelta(hours=1),
        problem_key="late_delivery:ORD-1",
        result=step_result(workflow="late_delivery", current_step="ask_order"),
    )
    assert [j.id for j in store.open_journeys(session, cid)] == [delivery.id, internet.id]
    turn(session, internet.id, step_result(steps=("ask_router_lights",)), now=T0 + timedelta(hours=2))
    assert [j.id for j in store.open_journeys(session, cid)] == [internet.id, delivery.id]
    assert store.find_open(session, cid).id == internet.id
    assert store.find_open(session, cid, "late_delivery").id == delivery.id
    assert store.find_open(session, cid, problem_key="late_delivery:ORD-1").id == delivery.id
    assert store.find_open(session, cid, "return_refund") is None
    store.close(session, delivery.id, cid, "customer")
    assert [j.id for j in store.open_journeys(session, cid)] == [internet.id]
    assert {j.id for j in store.customer_journeys(session, cid)} == {internet.id, delivery.id}


def test_closing_records_who_closed_cancels_follow_ups_and_is_idempotent(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid, result=step_result(follow_ups=(FollowUpRequest(60, response="utter_x"),)))
    view = store.close(session, opened.id, cid, "customer", now=T0 + timedelta(hours=1))
    assert (view.state, view.closed_at, view.resolved_at) == ("closed", T0 + timedelta(hours=1), None)
    assert (steps_of(session, opened.id)[-1].step, steps_of(session, opened.id)[-1].text) == ("closed", "by customer")
    assert [f.status for f in follow_ups_of(session, opened.id)] == ["cancelled"]
    assert store.close(session, opened.id, cid, "customer") == view


def test_csat_is_one_validated_answer_per_resolved_journey(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    with pytest.raises(JourneyNotOpen):
        store.record_csat(session, opened.id, cid, 5)
    turn(session, opened.id, step_result("resolved", None, ("resolve",)), now=T0)
    for bad in (0, 6, True, 4.5):
        with pytest.raises(ValueError):
            store.record_csat(session, opened.id, cid, bad)
    store.record_csat(session, opened.id, cid, 2, "slow")
    store.record_csat(session, opened.id, cid, 4, "actually fine", now=T0 + timedelta(minutes=5))
    answer = session.get(JourneyCsat, opened.id)
    assert (answer.score, answer.comment, answer.at) == (4, "actually fine", T0 + timedelta(minutes=5))


def test_the_same_problem_within_the_window_reopens_the_solved_journey(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid, problem_key="no_internet:router-TP1")
    resolved = turn(session, opened.id, step_result("resolved", None, ("resolve",), outcome="fixed"), now=T0)
    window = timedelta(days=14)

    assert store.reopen_or_none(session, cid, "no_internet:router-OTHER", T0 + timedelta(days=1), window) is None
    assert (
        store.reopen_or_none(
            session, customer_id(session, "CUST-00002"), "no_internet:router-TP1", T0 + timedelta(days=1), window
        )
        is None
    )
    view = store.reopen_or_none(
        session,
        cid,
        "no_internet:router-TP1",
        T0 + timedelta(days=3),
        window,
        channel="email",
        conversation_id="mail-9",
    )
    assert view is not None and view.id == opened.id
    assert (view.state, view.reopened_count, view.resolved_at, view.outcome, view.current_step) == (
        "open",
        1,
        None,
        None,
        None,
    )
    assert (view.last_channel, view.version) == ("email", resolved.version + 1)
    reopened = steps_of(session, opened.id)[-1]
    assert (reopened.step, reopened.state_after, reopened.channel) == ("reopened", "open", "email")
    # Open again: a second report continues it (find_open) rather than reopening anything.
    assert store.reopen_or_none(session, cid, "no_internet:router-TP1", T0 + timedelta(days=3), window) is None


def test_the_same_problem_after_the_window_starts_a_new_journey(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    store.close(session, opened.id, cid, "customer", now=T0)
    assert store.reopen_or_none(session, cid, "no_internet", T0 + timedelta(days=15), timedelta(days=14)) is None
    reopened = store.reopen_or_none(session, cid, "no_internet", T0 + timedelta(days=13), timedelta(days=14))
    assert reopened.id == opened.id


def test_a_second_open_journey_for_the_same_problem_is_a_conflict(session) -> None:
    cid = customer_id(session)
    open_one(session, cid)
    with pytest.raises(JourneyConflict):
        open_one(session, cid, conversation_id="conv-2")


def test_a_turn_computed_on_an_old_version_is_a_conflict_and_writes_nothing(session) -> None:
    cid = customer_id(session)
    opened = open_one(session, cid)
    turn(session, opened.id, step_result(steps=("ask_router_lights",)), now=T0, expected_version=opened.version)
    with pytest.raises(JourneyConflict):
        turn(session, opened.id, step_result("resolved", None, ("resolve",)), now=T0, expected_version=opened.version)
    view = store.get(session, opened.id, cid)
    assert (view.state, view.version, view.steps) == ("waiting_for_customer", 2, 3)


def test_a_state_outside_the_contract_is_refused(session) -> None:
    with pytest.raises(ValueError, match="unknown journey state"):
        open_one(session, customer_id(session), result=step_result("pending"))


def test_only_unresolved_journeys_count_as_open_issues_for_promotions(session) -> None:
    cid = customer_id(session)
    issues = JourneyOpenIssues()
    assert not issues.has_open_issue(session, cid)
    opened = open_one(session, cid, result=step_result("escalated", None, ("escalate",), escalation_reason="x"))
    assert issues.has_open_issue(session, cid)
    assert not issues.has_open_issue(session, customer_id(session, "CUST-00002"))
    store.mark_resolved(session, opened.id, "alice", "fixed")
    assert not issues.has_open_issue(session, cid)
