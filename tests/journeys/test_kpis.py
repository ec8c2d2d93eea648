"""KPIs from hand-built journeys whose answers are known."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.db.models import JourneyFollowUp
from bot.journeys import store
from bot.journeys.kpis import ALL_WORKFLOWS, format_kpis, journey_kpis
from bot.journeys.types import FollowUpRequest
from tests.journeys.test_store import customer_id, open_one, step_result, turn

SINCE, UNTIL = datetime(2031, 1, 1), datetime(2031, 2, 1)
T = datetime(2031, 1, 10, 8, 0)
H = timedelta(hours=1)


def resolve(session, journey_id, at, conversation="conv-1", workflow="no_internet"):
    result = step_result("resolved", None, ("resolve",), workflow=workflow, outcome="fixed")
    return turn(session, journey_id, result, now=at, conversation_id=conversation)


@pytest.fixture
def journeys(session):
    """no_internet: 4 journeys, late_delivery: 2, plus one opened before the period."""
    a, b, c = (customer_id(session, f"CUST-{n:05d}") for n in (1, 2, 3))
    # no_internet 1: solved by the bot in the first conversation in 1 h -> first-contact resolution; CSAT 5.
    j1 = open_one(session, a, now=T, problem_key="ni-1")
    resolve(session, j1.id, T + 1 * H)
    store.record_csat(session, j1.id, a, 5)
    # no_internet 2: escalated, an agent resolves after 10 h; CSAT 3.
    j2 = open_one(session, b, now=T, problem_key="ni-2")
    turn(session, j2.id, step_result("escalated", None, ("escalate",), escalation_reason="router_faulty"), now=T)
    store.mark_resolved(session, j2.id, "alice", "router_replaced", now=T + 10 * H)
    store.record_csat(session, j2.id, b, 3)
    # no_internet 3: the customer came back in another conversation; solved after 3 h.
    j3 = open_one(session, c, now=T, problem_key="ni-3")
    resolve(session, j3.id, T + 3 * H, conversation="conv-2")
    # no_internet 4: still waiting.
    open_one(session, a, now=T, problem_key="ni-4")
    # late_delivery 1: solved in 2 h, reopened, solved again at 26 h.
    ld = step_result(workflow="late_delivery", current_step="ask_order")
    j5 = open_one(session, b, now=T, problem_key="ld-1", result=ld)
    resolve(session, j5.id, T + 2 * H, workflow="late_delivery")
    store.reopen_or_none(session, b, "ld-1", T + 20 * H, timedelta(days=14))
    resolve(session, j5.id, T + 26 * H, workflow="late_delivery")
    # late_delivery 2: needed a follow-up the next day; solved at 48 h.
    waits = step_result(workflow="late_delivery", current_step="await", follow_ups=(FollowUpRequest(86400),))
    j6 = open_one(session, c, now=T, problem_key="ld-2", result=waits)
    for fu in session.query(JourneyFollowUp).filter_by(journey_id=j6.id):
        fu.status, fu.sent_at = "sent", T + 24 * H
    resolve(session, j6.id, T + 48 * H, workflow="late_delivery")
    # Opened before the period: not counted.
    old = open_one(session, c, now=SINCE - H, problem_key="old")
    resolve(session, old.id, SINCE)
    return session


def test_kpis_per_workflow_and_overall_have_the_known_answers(journeys) -> None:
    rows = {r.workflow: r for r in journey_kpis(journeys, since=SINCE, until=UNTIL)}
    assert list(rows) == ["late_delivery", "no_internet", ALL_WORKFLOWS]

    ni = rows["no_internet"]
    assert (ni.journeys, ni.resolved, ni.first_contact_resolved, ni.escalated, ni.reopened) == (4, 3, 1, 1, 0)
    assert (ni.first_contact_resolution, ni.escalation_rate, ni.reopen_rate) == (0.25, 0.25, 0.0)
    assert ni.median_hours_to_resolution == pytest.approx(3.0)  # of 1, 3, 10 h
    assert ni.p90_hours_to_resolution == pytest.approx(8.6)  # linear between 3 and 10
    assert (ni.csat_average, ni.csat_responses) == (4.0, 2)

    ld = rows["late_delivery"]
    assert (ld.journeys, ld.resolved, ld.first_contact_resolved, ld.escalated, ld.reopened) == (2, 2, 0, 0, 1)
    assert ld.median_hours_to_resolution == pytest.approx(37.0)  # of 26 (from first opening) and 48 h
    assert ld.p90_hours_to_resolution == pytest.approx(45.8)
    assert (ld.csat_average, ld.csat_responses, ld.reopen_rate) == (None, 0, 0.5)

    overall = rows[ALL_WORKFLOWS]
    assert (overall.journeys, overall.resolved, overall.first_contact_resolved) == (6, 5, 1)
    assert overall.median_hours_to_resolution == pytest.approx(10.0)  # of 1, 2->26, 3, 10, 48
    assert overall.p90_hours_to_resolution == pytest.approx(39.2)
    assert (overall.escalated, overall.reopened, overall.csat_average) == (1, 1, 4.0)


def test_the_kpi_table_shows_every_workflow_with_readable_units(journeys) -> None:
    table = format_kpis(journey_kpis(journeys, since=SINCE, until=UNTIL))
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["workflow", "journeys", "resolved", "FCR"]
    no_internet = next(line for line in lines if line.startswith("no_internet"))
    assert no_internet.split() == ["no_internet", "4", "75%", "25%", "3.0", "h", "8.6", "h", "25%", "0%", "4.00", "(2)"]
    late = next(line for line in lines if line.startswith("late_delivery"))
    assert "37.0 h" in late and "45.8 h" in late and late.rstrip().endswith("-")  # no CSAT answers yet


def test_a_period_without_journeys_has_no_kpis(journeys) -> None:
    assert journey_kpis(journeys, since=UNTIL, until=UNTIL + timedelta(days=30)) == []
    assert format_kpis([]) == "No journeys in this period."
