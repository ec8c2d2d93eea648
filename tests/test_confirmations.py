"""What the bot confirms, it has done: every response that confirms a change is covered by a test that checks
the change in the database, and a new confirming response cannot slip in without one.

A response "confirms" when its words say a change was made ("Done:", "I've cancelled", "I won't suggest",
"Thanks for the feedback"). Each is listed here with the test that stores-then-says it; workflow operations'
confirmations are checked for every path by `assert_messages_complete` in tests/journeys/test_workflow_paths.py
(the operation's stored result travels with the message, written before the bot answers).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain_files import load_domain
from bot.journeys.workflows import load_workflows
from bot.journeys.workflows.schema import OperationStep

ROOT = Path(__file__).resolve().parents[1]
CONFIRMS = re.compile(
    r"^(Done|All done|Recorded)\b|\bI've (cancelled|closed|marked|passed|asked|booked|credited|sent|issued|refunded|emailed|"
    r"stopped|removed|noted|dropped|recorded|updated)|\bI'll (stop|drop|leave it)|\bThanks for (the|your) "
    r"(feedback|rating)|\bI won't\b|\bhas been (cancelled|refunded)",
    re.IGNORECASE,
)
# response -> the test (file::name) that checks the database after the bot said it.
TESTED = {
    "utter_handoff_waiting": "tests/actions/test_handoff_actions.py::test_with_an_agent_online_the_customer_waits_with_a_position_and_the_bot_pauses",
    "utter_handoff_offline": "tests/actions/test_handoff_actions.py::test_nobody_online_the_request_is_stored_as_a_follow_up_and_the_bot_keeps_helping",
    "utter_handoff_cancelled": "tests/actions/test_handoff_actions.py::test_the_customer_cancels_a_follow_up",
    "utter_cancel_done": "tests/actions/test_order_actions.py::test_confirmed_cancellation_is_persisted",
    "utter_not_interested": "tests/actions/test_recommendation_actions.py::test_not_interested_drops_what_was_just_suggested_or_the_category_named",
    "utter_not_interested_items": "tests/actions/test_recommendation_actions.py::test_not_interested_in_a_card_that_was_shown_is_taken",
    "utter_journey_solved": "tests/actions/test_journey_actions.py::test_its_sorted_resolves_the_issue_by_the_customer_and_asks_for_a_rating",
    "utter_journey_closed": "tests/actions/test_journey_actions.py::test_customers_list_and_close_only_their_own_issues",
    "utter_csat_thanks": "tests/actions/test_journey_actions.py::test_answers_move_the_journey_and_a_confirmed_fix_resolves_it_and_asks_for_a_rating",
    "utter_survey_thanks": "tests/actions/test_survey_actions.py::test_a_cancellation_is_followed_by_the_recommend_question_and_a_tapped_answer_is_stored",
    "utter_consent_granted": "tests/actions/test_recommendation_actions.py::test_a_customer_turns_personalization_off_and_on_in_the_chat",
    "utter_consent_withdrawn": "tests/actions/test_recommendation_actions.py::test_a_customer_turns_personalization_off_and_on_in_the_chat",
    "utter_wf_device_repair_declined": "tests/journeys/test_workflow_paths.py::test_device_wont_turn_on",
    "utter_wf_billing_needs_person": "tests/journeys/test_workflow_paths.py::test_wrong_charge",
    # Asked right after the refund operation; its amount and reference are the stored result's.
    "utter_wf_refund_confirm": "tests/journeys/test_workflow_paths.py::test_late_delivery",
    "utter_complaint_recorded": "tests/actions/test_handoff_actions.py::test_a_complaint_or_a_closed_account_is_recorded_for_a_person_before_the_customer_hears_it",
    "utter_account_close_recorded": "tests/actions/test_handoff_actions.py::test_a_complaint_or_a_closed_account_is_recorded_for_a_person_before_the_customer_hears_it",
    "utter_address_changed": "tests/actions/test_order_actions.py::test_the_new_address_is_stored_before_done_is_said",
    "utter_order_changed": "tests/actions/test_order_edit_actions.py::test_the_change_is_stored_before_done_is_said",
    "utter_unsubscribed": "tests/actions/test_feedback_actions.py::test_unsubscribing_is_stored_against_the_account_before_it_is_confirmed",
    "utter_feedback_recorded": "tests/actions/test_feedback_actions.py::test_feedback_is_stored_word_for_word_before_the_thanks",
    "utter_privacy_erasure_recorded": "tests/actions/test_privacy_actions.py::test_a_confirmed_deletion_is_recorded_for_a_person_with_its_reference",
}


def _confirming_responses() -> set[str]:
    responses = load_domain(ROOT / "domain")["responses"]
    return {
        name for name, variants in responses.items() if any(CONFIRMS.search(str(v.get("text") or "")) for v in variants)
    }


def _operation_confirmations() -> set[str]:
    return {
        step.response
        for workflow in load_workflows().values()
        for step in workflow.steps.values()
        if isinstance(step, OperationStep) and step.response
    }


def test_every_confirming_response_has_a_test_that_checks_the_database() -> None:
    untested = _confirming_responses() - set(TESTED) - _operation_confirmations()
    assert not untested, f"confirming responses without a test that checks the change is stored: {sorted(untested)}"


def test_each_listed_test_exists_and_names_its_response() -> None:
    for response, node in TESTED.items():
        path, name = node.split("::")
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{node} is gone"
        if path.startswith("tests/actions/"):
            body = source.split(f"def {name}(", 1)[1].split("\ndef ", 1)[0]
            assert response in body or response.rsplit("_", 1)[0] in body, f"{node} does not check {response}"
