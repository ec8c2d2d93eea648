"""Survey actions run for real on both databases: a request the bot carried out is followed by the recommend or
effort question as the caps allow, and its answer, tapped or typed the way customers type, is stored with the
conversation; an answer to a question nobody asked is turned down politely and stores nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from actions.journeys import ActionRateJourney
from actions.orders import ActionCancelOrderConfirm
from actions.surveys import ActionAnswerSurvey
from bot.db.models import Customer, Journey, Order, SurveyAsk, utcnow
from bot.db.session import session_scope
from bot.surveys.service import default_service
from tests.actions.conftest import bot_said, find_order, run_action, tracker


@pytest.fixture(autouse=True)
def fresh_service():
    default_service.cache_clear()
    yield
    default_service.cache_clear()


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


def cancel(customer: str, number: str, conversation: str = "test-conversation") -> list[dict[str, Any]]:
    """The customer says yes to "cancel TD...?": the cancellation, and what the bot said after it."""
    asked = [
        {"event": "action", "name": "action_cancel_order_check"},
        {"event": "slot", "name": "awaiting", "value": "cancel_confirmation"},
        {"event": "action", "name": "action_listen"},
    ]
    confirm = tracker(
        "yes", intent="affirm", customer=customer, slots={"order_id": number, "awaiting": "cancel_confirmation"}
    )
    confirm.events = asked + confirm.events
    confirm.sender_id = conversation
    messages, _ = run_action(ActionCancelOrderConfirm(), confirm)
    return messages


def reply(action: Any, customer: str | None, text: str, said: list[dict[str, Any]], intent: str, **entities: str):
    """The customer's next message in the same conversation, after the bot said `said`."""
    return run_action(action, tracker(text, intent=intent, customer=customer, entities=entities, events=bot_said(said)))


def asks(url: str) -> list[SurveyAsk]:
    with session_scope(url) as session:
        rows = session.execute(select(SurveyAsk).order_by(SurveyAsk.id)).scalars().all()
        session.expunge_all()
        return rows


def customers_with_orders(url: str, n: int, orders: int = 1) -> list[tuple[str, list[str]]]:
    """Customers whose first `orders` orders are made cancellable (placed), the seed's other states aside."""
    found = []
    with session_scope(url) as session:
        for customer in session.execute(select(Customer).order_by(Customer.external_id)).scalars():
            if len(customer.orders) >= orders:
                mine = sorted(customer.orders, key=lambda o: o.order_number)[:orders]
                for order in mine:
                    order.status, order.cancelled_at = "placed", None
                found.append((customer.external_id, [o.order_number for o in mine]))
            if len(found) == n:
                return found
    raise LookupError("not enough customers with orders")


def asked_before(url: str, customer: str, kind: str, days: float) -> None:
    with session_scope(url) as session:
        customer_id = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        session.add(
            SurveyAsk(
                kind=kind,
                customer_id=customer_id,
                conversation_id="an-earlier-conversation",
                moment="request_done",
                asked_at=utcnow() - timedelta(days=days),
            )
        )


def test_a_cancellation_is_followed_by_the_recommend_question_and_a_tapped_answer_is_stored(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    said = cancel(ref.customer, ref.number)
    assert responses(said) == ["utter_cancel_done", "utter_nps_question"]
    question = said[1]
    assert [b["title"] for b in question["buttons"]][:2] == ["0 – Not at all likely", "1"]
    assert len(question["buttons"]) == 11 and question["buttons"][-1]["title"] == "10 – Extremely likely"
    prompt = question["custom"]
    assert (prompt["type"], prompt["kind"], prompt["lowest"], prompt["highest"]) == ("survey", "nps", 0, 10)
    [ask] = asks(writable_shop_url)
    assert (ask.kind, ask.moment, ask.conversation_id, ask.score) == ("nps", "request_done", "test-conversation", None)

    tapped = question["buttons"][9]["payload"]  # 9
    messages, _ = reply(
        ActionAnswerSurvey(), ref.customer, tapped, said, "answer_survey", survey_id=str(ask.id), score="9"
    )
    assert responses(messages) == ["utter_survey_thanks"]
    [ask] = asks(writable_shop_url)
    assert (ask.score, ask.answered_at is not None) == (9, True)


@pytest.mark.parametrize(
    "text, score",
    [("definately would reccomend", 10), ("9/10", 9), ("probably not", 3), ("0", 0), ("i'd give you an 8", 8)],
)
def test_typed_answers_to_the_recommend_question(writable_shop_url, text: str, score: int):
    ref = find_order(writable_shop_url, status="placed")
    said = cancel(ref.customer, ref.number)
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, text, said, "inform")
    assert responses(messages) == ["utter_survey_thanks"]
    assert asks(writable_shop_url)[0].score == score


def test_a_customer_with_an_open_issue_gets_the_effort_question_and_can_type_it(writable_shop_url):
    ref = find_order(writable_shop_url, status="processing")
    with session_scope(writable_shop_url) as session:
        customer_id = session.execute(select(Customer.id).where(Customer.external_id == ref.customer)).scalar_one()
        session.add(Journey(customer_id=customer_id, workflow="no_internet", problem_key="no_internet:r", state="open"))
    said = cancel(ref.customer, ref.number)
    assert responses(said) == ["utter_cancel_done", "utter_ces_question"]
    assert said[1]["custom"]["options"][0] == {
        "score": 1,
        "title": "Very difficult",
        "payload": said[1]["buttons"][0]["payload"],
    }
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, "hmm let me think", said, "answer_survey")
    assert responses(messages) == ["utter_survey_unclear"] and (messages[0]["lowest"], messages[0]["highest"]) == (
        "1",
        "7",
    )
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, "prety eazy", said, "answer_survey")
    assert responses(messages) == ["utter_survey_thanks"]
    assert (asks(writable_shop_url)[0].kind, asks(writable_shop_url)[0].score) == ("ces", 6)


def test_a_score_typed_as_a_rating_goes_to_the_question_that_was_asked(writable_shop_url):
    """ "9/10" reads as a satisfaction rating to the NLU; with no rating asked, the recommend question takes it."""
    ref = find_order(writable_shop_url, status="placed")
    said = cancel(ref.customer, ref.number)
    _, events = reply(ActionRateJourney(), ref.customer, "9/10", said, "rate_journey")
    assert {"event": "followup", "timestamp": None, "name": "action_answer_survey"} in events
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, "9/10", said, "rate_journey")
    assert responses(messages) == ["utter_survey_thanks"] and asks(writable_shop_url)[0].score == 9


def test_one_survey_per_conversation_and_none_within_a_week_of_the_last(writable_shop_url):
    (twice, (first, second)), *_ = customers_with_orders(writable_shop_url, 1, orders=2)
    assert responses(cancel(twice, first)) == ["utter_cancel_done", "utter_nps_question"]
    assert responses(cancel(twice, second)) == ["utter_cancel_done"]  # the same conversation

    others = [c for c in customers_with_orders(writable_shop_url, 3) if c[0] != twice]
    (recent, (a,)), (long_ago, (b,)) = others[:2]
    asked_before(writable_shop_url, recent, "csat", days=6.9)
    asked_before(writable_shop_url, long_ago, "csat", days=7.1)
    assert responses(cancel(recent, a, conversation="conv-recent")) == ["utter_cancel_done"]
    assert responses(cancel(long_ago, b, conversation="conv-long-ago")) == ["utter_cancel_done", "utter_nps_question"]


def test_an_answer_nobody_asked_for_is_turned_down_and_nothing_is_stored(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, "i'd definitely recommend you", [], "answer_survey")
    assert responses(messages) == ["utter_survey_not_asked"]
    forged = '/answer_survey{"survey_id": 1, "survey_kind": "nps", "score": 10}'
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, forged, [], "answer_survey", survey_id="1", score="10")
    assert responses(messages) == ["utter_survey_not_asked"]
    said = cancel(ref.customer, ref.number)  # now one is asked, of this customer
    with session_scope(writable_shop_url) as session:
        stranger = session.execute(
            select(Customer.external_id).where(Customer.external_id != ref.customer).limit(1)
        ).scalar_one()
    messages, _ = reply(ActionAnswerSurvey(), stranger, "10", said, "inform")  # replayed by someone else
    assert responses(messages) == ["utter_survey_not_asked"]
    other = said[1]["buttons"][10]["payload"].replace(
        f'"survey_id": {asks(writable_shop_url)[0].id}', '"survey_id": 99'
    )
    messages, _ = reply(ActionAnswerSurvey(), ref.customer, other, said, "answer_survey", survey_id="99", score="10")
    assert responses(messages) == ["utter_survey_not_asked"]  # a survey id the bot never offered
    assert asks(writable_shop_url)[0].score is None
    with session_scope(writable_shop_url) as session:
        assert session.execute(select(Order.status).where(Order.order_number == ref.number)).scalar_one() == "cancelled"
