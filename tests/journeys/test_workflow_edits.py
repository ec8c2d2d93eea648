"""CX teams edit workflows while journeys wait at their steps: a journey whose step is gone must not crash a turn."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import JourneyFollowUp
from bot.db.session import session_scope
from bot.journeys.service import default_service
from bot.journeys.types import FollowUpRequest
from tests.journeys.test_store import customer_id, open_one, step_result

GONE = "a_step_an_edit_removed"


def waiting_at_a_removed_step(url: str) -> tuple[int, int]:
    """A late-delivery journey saved at a step (with a follow-up being sent) that the workflow no longer has."""
    result = step_result(
        "waiting_for_company",
        GONE,
        ("start", GONE),
        workflow="late_delivery",
        follow_ups=(FollowUpRequest(60, response="utter_wf_follow_up_hello"),),
    )
    with session_scope(url) as session:
        journey = open_one(session, customer_id(session), result=result)
        follow_up = session.execute(
            select(JourneyFollowUp).where(JourneyFollowUp.journey_id == journey.id)
        ).scalar_one()
        follow_up.status = "sending"  # claimed by the scheduler, which is triggering it now
        return journey.id, follow_up.id


def test_a_follow_up_at_a_step_the_workflow_lost_says_nothing_and_changes_nothing(fresh_shop_db):
    journey_id, follow_up_id = waiting_at_a_removed_step(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        turn = default_service().follow_up(session, "CUST-00001", journey_id, follow_up_id, conversation_id="conv-1")
    assert turn.messages == ()
    assert turn.journey is not None and (turn.journey.current_step, turn.journey.state) == (GONE, "waiting_for_company")


def test_asking_again_at_a_step_the_workflow_lost_says_nothing(fresh_shop_db):
    journey_id, _ = waiting_at_a_removed_step(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        turn = default_service().prompt_again(session, "CUST-00001", journey_id)
    assert turn.messages == ()
