"""Journey actions run for real: signed trackers in, the workflows and the journey store on a real shop."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from actions.journeys import (
    JOURNEY_SLOT,
    ActionCloseJourney,
    ActionJourneyContinue,
    ActionJourneyFollowUp,
    ActionJourneyReprompt,
    ActionJourneyStart,
    ActionListJourneys,
    ActionRateJourney,
)
from bot.db.models import Customer, CustomerPlan, Journey, JourneyCsat, JourneyStep, Product
from bot.db.session import session_scope
from bot.journeys.service import default_service
from tests.actions.conftest import bot_said, run_action, tracker


@pytest.fixture(autouse=True)
def fresh_service():
    default_service.cache_clear()
    yield
    default_service.cache_clear()


def _internet_customer(url: str) -> str:
    with session_scope(url) as session:
        return session.execute(
            select(Customer.external_id)
            .join(CustomerPlan)
            .join(Product, Product.id == CustomerPlan.product_id)
            .where(Product.category == "home_internet", CustomerPlan.status == "active")
            .order_by(Customer.external_id)
            .limit(1)
        ).scalar_one()


def _someone_else(customer: str) -> str:
    return "CUST-00001" if customer != "CUST-00001" else "CUST-00002"


def _slot(events, name) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def _report(customer: str) -> tuple[list, list]:
    return run_action(ActionJourneyStart(), tracker("my internet is down", intent="report_problem", customer=customer))


def _answer(customer: str, journey: dict[str, Any], intent: str, text: str = "") -> tuple[list, list]:
    return run_action(
        ActionJourneyContinue(),
        tracker(text or intent, intent=intent, customer=customer, slots={JOURNEY_SLOT: journey}),
    )


def test_a_reported_problem_starts_a_journey_that_is_written_before_the_bot_answers(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    messages, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    assert journey["workflow"] == "no_internet" and journey["waiting_for_customer"]
    assert messages and all(m["response"].startswith("utter_wf_") for m in messages)
    with session_scope(writable_shop_url) as session:
        stored = session.get(Journey, journey["id"])
        assert stored.state == "waiting_for_customer" and stored.current_step == journey["step"]
        assert (
            session.execute(
                select(func.count()).select_from(JourneyStep).where(JourneyStep.journey_id == stored.id)
            ).scalar_one()
            >= 1
        )


def test_answers_move_the_journey_and_a_confirmed_fix_resolves_it_and_asks_for_a_rating(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    while journey and journey["step"] != "restart_router":  # answer "no" until the router restart step
        _, events = _answer(customer, journey, "deny", "no")
        journey = _slot(events, JOURNEY_SLOT)
    assert journey and journey["step"] == "restart_router"
    messages, events = _answer(customer, journey, "affirm", "yes that fixed it")
    assert _slot(events, JOURNEY_SLOT) is None
    assert messages[-1]["response"] == "utter_csat_question" and len(messages[-1]["buttons"]) == 5
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey["id"]).state == "resolved"
    asked = bot_said(messages)  # the rating question is in the conversation: its answer is taken
    messages, _ = run_action(
        ActionRateJourney(),
        tracker(
            "5 stars",
            intent="rate_journey",
            customer=customer,
            entities={"score": "5", "journey_id": str(journey["id"])},
            events=asked,
        ),
    )
    assert messages[0]["response"] == "utter_csat_thanks"
    with session_scope(writable_shop_url) as session:
        assert session.get(JourneyCsat, journey["id"]).score == 5


def test_reporting_the_same_problem_again_picks_up_the_open_journey(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, first = _report(customer)
    messages, again = _report(customer)
    assert _slot(again, JOURNEY_SLOT)["id"] == _slot(first, JOURNEY_SLOT)["id"]
    assert messages[0]["response"] == "utter_journey_resumed"


def test_a_visitor_who_is_not_signed_in_gets_the_answers_from_before_journeys(writable_shop_url: str) -> None:
    messages, events = run_action(ActionJourneyStart(), tracker("my internet is down", intent="report_problem"))
    assert [m["response"] for m in messages] == ["utter_report_problem"]
    messages, _ = run_action(ActionJourneyStart(), tracker("my parcel is late", intent="delivery_problem"))
    assert messages and messages[0]["response"] != "utter_report_problem"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i want my money back for the lamp", "want_refund"),
        ("can u just send me a new one", "want_replacement"),
        ("the kettle arrived broken", "report_problem"),
    ],
)
def test_a_visitor_asking_for_money_back_gets_the_return_policy_not_troubleshooting(
    writable_shop_url: str, text: str, intent: str
) -> None:
    messages, events = run_action(ActionJourneyStart(), tracker(text, intent=intent))
    assert [m["response"] for m in messages] == ["utter_return_policy"]
    assert not any(e.get("name") == JOURNEY_SLOT for e in events)  # nothing opened for someone unknown


def test_customers_list_and_close_only_their_own_issues(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    messages, _ = run_action(
        ActionListJourneys(), tracker("what are my open issues", intent="list_issues", customer=customer)
    )
    assert messages[0]["response"] == "utter_open_journeys"
    assert any(str(journey_id) in b["payload"] for b in messages[0]["buttons"])
    stranger = _someone_else(customer)
    messages, _ = run_action(
        ActionCloseJourney(),
        tracker("close it", intent="close_issue", customer=stranger, entities={"journey_id": str(journey_id)}),
    )
    assert messages[0]["response"] == "utter_journey_not_found"
    messages, events = run_action(
        ActionCloseJourney(),
        tracker("close it", intent="close_issue", customer=customer, entities={"journey_id": str(journey_id)}),
    )
    assert messages[0]["response"] == "utter_journey_closed"
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey_id).state == "closed"


def test_a_follow_up_only_speaks_in_the_journeys_own_conversation(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    elsewhere = tracker("", intent="journey_follow_up", entities={"journey_id": str(journey_id)})
    elsewhere.sender_id = "someone-else"
    messages, _ = run_action(ActionJourneyFollowUp(), elsewhere)
    assert messages == []


def test_coming_back_in_a_new_conversation_offers_the_open_issue(writable_shop_url: str) -> None:
    from actions.journeys import ActionSessionStart
    from bot.identity import sign_customer

    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    new_conversation = tracker(
        "", intent="greet", slots={"session_started_metadata": {"customer_token": sign_customer(customer)}}
    )
    messages, events = run_action(ActionSessionStart(), new_conversation)
    assert messages[0]["response"] == "utter_journey_welcome_back"
    assert f'"journey_id": {journey_id}' in messages[0]["buttons"][0]["payload"]
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    anonymous = tracker("", intent="greet", slots={"session_started_metadata": {}})
    messages, _ = run_action(ActionSessionStart(), anonymous)
    assert messages == []


def test_a_late_order_handed_over_by_the_status_question_opens_its_late_delivery_journey(
    writable_shop_url: str,
) -> None:
    from tests.actions.conftest import find_order

    ref = find_order(writable_shop_url, late=True)
    handed_over = tracker(
        f"can u check on {ref.number}",
        intent="order_status",
        entities={"order_id": ref.number},
        customer=ref.customer,
        slots={"order_id": ref.number},
    )
    handed_over.latest_action_name = "action_order_status"  # ActionOrderStatus's FollowupAction
    messages, events = run_action(ActionJourneyStart(), handed_over)
    journey = _slot(events, JOURNEY_SLOT)
    assert journey["workflow"] == "late_delivery" and messages
    with session_scope(writable_shop_url) as session:
        stored = session.get(Journey, journey["id"])
        assert ref.number in stored.problem_key


def test_a_delivery_complaint_without_late_delivery_words_about_a_late_order_opens_its_journey(
    writable_shop_url: str,
) -> None:
    """No late-delivery words ("tues was the date"): the delivery answer runs, finds the order late and hands it
    back; the second run (after its own FollowupAction) opens the journey instead of looping."""
    from tests.actions.conftest import find_order

    ref = find_order(writable_shop_url, late=True)
    complaint = tracker(
        f"{ref.number} - tues was the date and its thurs",
        intent="delivery_problem",
        entities={"order_id": ref.number},
        customer=ref.customer,
    )
    messages, events = run_action(ActionJourneyStart(), complaint)
    assert messages == [] and {"event": "followup", "timestamp": None, "name": "action_journey_start"} in events
    complaint.latest_action_name = "action_journey_start"
    messages, events = run_action(ActionJourneyStart(), complaint)
    assert _slot(events, JOURNEY_SLOT)["workflow"] == "late_delivery" and messages


def test_an_unsure_its_sorted_is_checked_before_the_issue_is_closed(writable_shop_url: str) -> None:
    """ "it came out on the 1st" read as "it came" (0.4): the bot asks; only a yes resolves, a no goes back."""
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    unsure = tracker(
        "it came out on the 1st", intent="problem_solved", customer=customer, slots={JOURNEY_SLOT: journey}
    )
    unsure.latest_message["intent_ranking"] = [{"name": "problem_solved", "confidence": 0.4}]
    messages, events = run_action(ActionCloseJourney(), unsure)
    assert [m["response"] for m in messages] == ["utter_confirm_solved"]
    assert _slot(events, "awaiting") == "solved_confirmation"
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey["id"]).state not in ("resolved", "closed")
    no = tracker(
        "no", intent="deny", customer=customer, slots={JOURNEY_SLOT: journey, "awaiting": "solved_confirmation"}
    )
    messages, events = run_action(ActionJourneyReprompt(), no)
    assert _slot(events, "awaiting") is None and messages
    yes = tracker(
        "yes", intent="affirm", customer=customer, slots={JOURNEY_SLOT: journey, "awaiting": "solved_confirmation"}
    )
    messages, events = run_action(ActionCloseJourney(), yes)
    assert [m["response"] for m in messages] == ["utter_journey_solved", "utter_csat_question"]
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey["id"]).state == "resolved"


def test_a_report_the_nlu_could_not_settle_goes_to_its_journey_not_to_rephrase(writable_shop_url: str) -> None:
    """ "TD105859 is late": an order number or a delivery problem, too close to call; the word "late" says which."""
    from actions.fallback import ActionHandleFallback
    from tests.actions.conftest import find_order

    ref = find_order(writable_shop_url, late=True)
    unsettled = tracker(
        f"{ref.number} is late", intent="nlu_fallback", entities={"order_id": ref.number}, customer=ref.customer
    )
    unsettled.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.35},
        {"name": "inform", "confidence": 0.43},
        {"name": "delivery_problem", "confidence": 0.41},
        {"name": "order_status", "confidence": 0.03},
    ]
    messages, events = run_action(ActionHandleFallback(), unsettled)
    assert messages == [] and events == [{"event": "followup", "timestamp": None, "name": "action_journey_start"}]
    unsettled.latest_action_name = "action_handle_fallback"
    messages, events = run_action(ActionJourneyStart(), unsettled)
    journey = _slot(events, JOURNEY_SLOT)
    assert journey["workflow"] == "late_delivery" and messages
    with session_scope(writable_shop_url) as session:
        assert ref.number in session.get(Journey, journey["id"]).problem_key


def test_words_the_nlu_could_not_settle_without_a_workflows_words_are_asked_again() -> None:
    from actions.fallback import ActionHandleFallback

    unsure = tracker("the thing with the stuff", intent="nlu_fallback")
    unsure.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.35},
        {"name": "delivery_problem", "confidence": 0.33},
        {"name": "report_problem", "confidence": 0.31},
    ]
    messages, _ = run_action(ActionHandleFallback(), unsure)
    assert [m["response"] for m in messages] == ["utter_ask_rephrase"]


def test_a_report_naming_no_order_is_about_the_order_under_discussion(writable_shop_url: str) -> None:
    """ "send me a replacement" right after the bot showed an order: not "which order?" again."""
    from tests.actions.conftest import find_order

    ref = find_order(writable_shop_url, status="delivered")
    messages, events = run_action(
        ActionJourneyStart(),
        tracker(
            "send me a replacement", intent="want_replacement", customer=ref.customer, slots={"order_id": ref.number}
        ),
    )
    journey = _slot(events, JOURNEY_SLOT)
    assert journey["workflow"] == "return_refund"
    assert "utter_wf_return_ask_order" not in [m["response"] for m in messages]
    with session_scope(writable_shop_url) as session:
        assert ref.number in session.get(Journey, journey["id"]).problem_key


def test_a_report_naming_no_order_is_about_the_order_the_customer_described_just_before(writable_shop_url: str) -> None:
    """A long story the NLU could not settle names the product; "just the money back" then starts its return."""
    from bot.shop.orders import recent_orders
    from tests.actions.conftest import find_order

    ref = find_order(writable_shop_url, status="delivered")
    with session_scope(writable_shop_url) as session:
        orders = recent_orders(session, ref.customer, limit=5)
        item = next(o for o in orders if o.number == ref.number).lines[0].product_name
    story = {
        "event": "user",
        "text": f"hiya, I got the {item} a couple of weeks ago and honestly it's just not what I expected",
        "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.4}},
    }
    messages, events = run_action(
        ActionJourneyStart(),
        tracker("just the money back thanks", intent="want_refund", customer=ref.customer, events=[story]),
    )
    journey = _slot(events, JOURNEY_SLOT)
    assert journey["workflow"] == "return_refund"
    assert "utter_wf_return_ask_order" not in [m["response"] for m in messages]
    with session_scope(writable_shop_url) as session:
        assert ref.number in session.get(Journey, journey["id"]).problem_key


def test_its_sorted_resolves_the_issue_by_the_customer_and_asks_for_a_rating(writable_shop_url: str) -> None:
    """ "never mind" withdraws an issue (closed); "it's sorted now" says it is fixed (resolved, then the survey)."""
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    sorted_now = tracker(
        "ah it's sorted now",
        intent="problem_solved",
        customer=customer,
        slots={JOURNEY_SLOT: _slot(events, JOURNEY_SLOT)},
    )
    messages, events = run_action(ActionCloseJourney(), sorted_now)
    assert [m["response"] for m in messages] == ["utter_journey_solved", "utter_csat_question"]
    with session_scope(writable_shop_url) as session:  # stored before the bot said so
        journey = session.get(Journey, journey_id)
        assert (journey.state, journey.resolved_by, journey.outcome) == ("resolved", "customer", "customer_says_solved")
    assert _slot(events, JOURNEY_SLOT) is None


def test_the_welcome_back_comes_once_per_issue_per_day(writable_shop_url: str) -> None:
    """Every new conversation opening with the same reminder is nagging: once a day per issue."""
    from datetime import timedelta

    from actions.journeys import ActionSessionStart
    from bot.db.models import utcnow
    from bot.identity import sign_customer
    from bot.journeys.store import WELCOMED_AT

    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]

    def new_conversation():
        return tracker(
            "", intent="greet", slots={"session_started_metadata": {"customer_token": sign_customer(customer)}}
        )

    first, _ = run_action(ActionSessionStart(), new_conversation())
    again, _ = run_action(ActionSessionStart(), new_conversation())
    assert [m["response"] for m in first] == ["utter_journey_welcome_back"] and again == []
    with session_scope(writable_shop_url) as session:  # a day later
        journey = session.get(Journey, journey_id)
        journey.context = {**journey.context, WELCOMED_AT: (utcnow() - timedelta(hours=25)).isoformat()}
    next_day, _ = run_action(ActionSessionStart(), new_conversation())
    assert [m["response"] for m in next_day] == ["utter_journey_welcome_back"]


def test_two_answers_at_the_same_moment_are_applied_one_after_the_other(writable_shop_url: str) -> None:
    """Two action-server threads answer the same journey at once: both turns land, in some order, with
    every step recorded and the version counting both; nothing is lost or interleaved."""
    import threading

    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    with session_scope(writable_shop_url) as session:
        before = session.get(Journey, journey["id"])
        version, steps_before = before.version, before.step_count
    barrier = threading.Barrier(2)
    results: list = []

    def answer() -> None:
        barrier.wait()
        results.append(_answer(customer, journey, "deny", "no"))

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    assert all(messages and messages[0]["response"] != "utter_service_unavailable" for messages, _ in results)
    with session_scope(writable_shop_url) as session:
        after = session.get(Journey, journey["id"])
        seqs = list(
            session.execute(
                select(JourneyStep.seq).where(JourneyStep.journey_id == after.id).order_by(JourneyStep.seq)
            ).scalars()
        )
    assert after.version == version + 2
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > steps_before


@pytest.mark.parametrize("bad_id", ["abc", "-3", "", "99999999999999999999", "1; DROP TABLE journeys"])
def test_malformed_or_unknown_journey_ids_get_a_clear_answer_not_a_crash(writable_shop_url: str, bad_id: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    messages, _ = run_action(
        ActionCloseJourney(),
        tracker("close it", intent="close_issue", customer=customer, entities={"journey_id": bad_id}),
    )
    assert messages[0]["response"] in ("utter_open_journeys", "utter_journey_not_found")
    messages, _ = run_action(
        ActionRateJourney(),
        tracker("5", intent="rate_journey", customer=customer, entities={"score": "5", "journey_id": bad_id}),
    )
    assert messages[0]["response"] in ("utter_csat_unclear", "utter_journey_not_found")
    messages, _ = run_action(
        ActionJourneyReprompt(),
        tracker("continue", intent="resume_issue", customer=customer, entities={"journey_id": bad_id}),
    )
    assert all(m["response"] != "utter_service_unavailable" for m in messages)
    messages, _ = run_action(
        ActionJourneyFollowUp(),
        tracker("", intent="journey_follow_up", entities={"journey_id": bad_id, "follow_up_id": "x"}),
    )
    assert messages == []
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey_id).state == "waiting_for_customer"  # nothing was closed


def test_an_empty_or_huge_answer_is_asked_again_not_lost(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    for text in ("", "x" * 10_000):
        messages, events = _answer(customer, journey, "inform", text)
        assert messages and all(m["response"] != "utter_service_unavailable" for m in messages)
    with session_scope(writable_shop_url) as session:
        texts = list(session.execute(select(JourneyStep.text).where(JourneyStep.journey_id == journey["id"])).scalars())
    assert all(t is None or len(t) <= 500 for t in texts)


def test_a_database_that_is_down_gets_a_clear_answer_from_journeys_and_recommendations(monkeypatch) -> None:
    from actions.recommendations import ActionRecommendProducts
    from bot.settings import get_settings

    monkeypatch.setenv("TANDEM_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        journey = {
            "id": 1,
            "workflow": "no_internet",
            "title": "x",
            "step": "restart_router",
            "waiting_for_customer": True,
        }
        answered = _answer("CUST-00001", journey, "affirm", "yes")
        reported = _report("CUST-00001")
        suggested = run_action(
            ActionRecommendProducts(),
            tracker(
                "recommend a laptop",
                intent="ask_recommendation",
                entities={"product_category": "laptops"},
                customer="CUST-00001",
            ),
        )
    finally:
        get_settings.cache_clear()
    for messages, events in (answered, reported, suggested):
        assert [m["response"] for m in messages] == ["utter_service_unavailable"]
        assert {"event": "slot", "timestamp": None, "name": "flow_failure", "value": "service_unavailable"} in events


# --- buttons about journeys are checked against the journey's stored state ----------------------------------------


def _resolved(customer: str) -> tuple[int, list]:
    """A journey the customer confirmed fixed, and the messages that asked for its rating."""
    _, events = _report(customer)
    journey = _slot(events, JOURNEY_SLOT)
    while journey and journey["step"] != "restart_router":
        _, events = _answer(customer, journey, "deny", "no")
        journey = _slot(events, JOURNEY_SLOT)
    messages, _ = _answer(customer, journey, "affirm", "yes that fixed it")
    assert messages[-1]["response"] == "utter_csat_question"
    return journey["id"], messages


def _rate(customer: str, journey_id: int, events: list) -> list:
    messages, _ = run_action(
        ActionRateJourney(),
        tracker(
            f'/rate_journey{{"score": 1, "journey_id": {journey_id}}}',
            intent="rate_journey",
            customer=customer,
            entities={"score": "1", "journey_id": str(journey_id)},
            events=events,
        ),
    )
    return [m["response"] for m in messages]


def test_a_rating_is_taken_only_for_a_survey_asked_in_this_conversation(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    journey_id, asked = _resolved(customer)
    assert _rate(customer, journey_id, []) == ["utter_csat_not_asked"]
    with session_scope(writable_shop_url) as session:
        assert session.get(JourneyCsat, journey_id) is None
    stranger = _someone_else(customer)
    assert _rate(stranger, journey_id, bot_said(asked)) == ["utter_journey_not_found"]  # replayed by someone else
    with session_scope(writable_shop_url) as session:
        assert session.get(JourneyCsat, journey_id) is None
    assert _rate(customer, journey_id, bot_said(asked)) == ["utter_csat_thanks"]


def test_a_rating_for_a_journey_that_is_not_resolved_changes_nothing(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    # Even a survey that was shown (say, replayed into the conversation) needs a resolved journey.
    from actions.surveys import csat_buttons

    shown = [{"event": "bot", "text": "rate", "data": {"buttons": csat_buttons(journey_id)}}]
    assert _rate(customer, journey_id, shown) == ["utter_journey_not_found"]
    with session_scope(writable_shop_url) as session:
        assert session.get(JourneyCsat, journey_id) is None


def test_continue_or_close_buttons_of_a_resolved_journey_change_nothing(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    journey_id, _ = _resolved(customer)
    for action, intent in ((ActionCloseJourney(), "close_issue"), (ActionJourneyReprompt(), "resume_issue")):
        messages, _ = run_action(
            action,
            tracker(
                f'/{intent}{{"journey_id": {journey_id}}}',
                intent=intent,
                customer=customer,
                entities={"journey_id": str(journey_id)},
            ),
        )
        assert [m["response"] for m in messages] == ["utter_journey_already_ended"]
        assert messages[0]["state"] == "resolved"
    with session_scope(writable_shop_url) as session:
        assert session.get(Journey, journey_id).state == "resolved"


def test_another_customers_journey_cannot_be_continued(writable_shop_url: str) -> None:
    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    stranger = _someone_else(customer)
    messages, _ = run_action(
        ActionJourneyReprompt(),
        tracker(
            f'/resume_issue{{"journey_id": {journey_id}}}',
            intent="resume_issue",
            customer=stranger,
            entities={"journey_id": str(journey_id)},
        ),
    )
    assert [m["response"] for m in messages] == ["utter_journey_not_found"]


def test_a_follow_up_fires_only_while_the_scheduler_sends_it(writable_shop_url: str) -> None:
    from datetime import timedelta

    from bot.db.models import JourneyFollowUp, utcnow

    customer = _internet_customer(writable_shop_url)
    _, events = _report(customer)
    journey_id = _slot(events, JOURNEY_SLOT)["id"]
    _, other_events = run_action(
        ActionJourneyStart(), tracker("my parcel is late", intent="delivery_problem", customer=customer)
    )
    with session_scope(writable_shop_url) as session:
        rows = [
            JourneyFollowUp(journey_id=journey_id, kind="nudge", due_at=utcnow() + timedelta(days=1), status=status)
            for status in ("pending", "sent", "sending")
        ]
        session.add_all(rows)
        session.flush()
        pending, sent, sending = (r.id for r in rows)

    def fire(follow_up_id: int, journey: int = journey_id) -> list:
        t = tracker(
            "", intent="journey_follow_up", entities={"journey_id": str(journey), "follow_up_id": str(follow_up_id)}
        )
        t.sender_id = "test-conversation"
        return run_action(ActionJourneyFollowUp(), t)[0]

    with session_scope(writable_shop_url) as session:
        steps = session.execute(select(func.count()).select_from(JourneyStep)).scalar_one()
    assert fire(pending) == [] and fire(sent) == []  # not due yet / already sent: a replay
    other = _slot(other_events, JOURNEY_SLOT)
    if other:  # a follow-up of one journey does not fire another
        assert fire(sending, other["id"]) == []
    with session_scope(writable_shop_url) as session:
        assert session.execute(select(func.count()).select_from(JourneyStep)).scalar_one() == steps
    assert fire(sending) != []  # the scheduler's own send goes through (a nudge: the step's question again)
