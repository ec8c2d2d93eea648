"""Surveys through the real stack (REST channel -> Rasa -> action server -> PostgreSQL), typed the way customers
type: after the bot cancels an order it asks the recommend question (or the effort question, when the customer
has an open issue); typed answers, typos and all, are stored with the conversation; a detour is answered and the
question's buttons still work after it; an answer nobody asked for is thanked for and not stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Journey, SurveyAsk
from bot.db.session import session_scope
from bot.identity import sign_customer
from tests.e2e.test_rest_end_to_end import say, texts

pytestmark = pytest.mark.slow

TAKEN: set[str] = set()  # customers this module used: each test starts with one nobody surveyed


def fresh_customer(url: str, *, open_issue: bool = False) -> tuple[str, str, str]:
    """A customer no test surveyed and no journey involves, whose newest order is made one that can still be
    cancelled (placed) and who has another order to ask about; with `open_issue`, an open journey is added (so NPS
    is not asked: CES is). From the end of the customer list: the other tests take theirs from the start."""
    with session_scope(url) as session:
        busy = select(SurveyAsk.customer_id).union(select(Journey.customer_id))
        for customer in session.execute(
            select(Customer).where(Customer.id.not_in(busy)).order_by(Customer.external_id.desc())
        ).scalars():
            orders = sorted(customer.orders, key=lambda o: o.order_number)
            if customer.external_id in TAKEN or len(orders) < 2:
                continue
            TAKEN.add(customer.external_id)
            orders[-1].status, orders[-1].cancelled_at = "placed", None
            if open_issue:
                session.add(
                    Journey(
                        customer_id=customer.id, workflow="no_internet", problem_key="no_internet:e2e", state="open"
                    )
                )
            return customer.external_id, orders[-1].order_number, orders[0].order_number
    raise LookupError("no customer left to survey")


def cancel(url: str, sender: str, token: str, number: str) -> list[dict[str, Any]]:
    _, reply = say(url, sender, f"hi can u cancel my order {number} please", token)
    assert "cancel" in texts(reply).lower(), reply
    status, reply = say(url, sender, "yes please", token)
    assert status == 200 and "cancelled" in texts(reply), reply
    return reply


def buttons(reply: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The question's buttons (Rasa sends the widget's prompt, `custom`, as a message of its own)."""
    return next(m["buttons"] for m in reply if m.get("buttons"))


def answers(url: str, sender: str) -> list[tuple[str, int | None]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(SurveyAsk.kind, SurveyAsk.score).where(SurveyAsk.conversation_id == sender).order_by(SurveyAsk.id)
        ).all()
    return [(k, s) for k, s in rows]


@pytest.mark.parametrize(
    "typed, score",
    [("definately would reccomend", 10), ("9/10", 9), ("probably not", 3), ("i'd say a 7", 7)],
)
def test_the_recommend_question_follows_a_cancellation_and_takes_typed_answers(stack, postgres_shop, typed, score):
    customer, number, _ = fresh_customer(postgres_shop)
    token, sender = sign_customer(customer), f"e2e-survey-nps-{score}"
    reply = cancel(stack["url"], sender, token, number)
    assert "How likely are you to recommend us" in texts(reply)
    assert buttons(reply)[0]["title"] == "0 – Not at all likely" and len(buttons(reply)) == 11
    _, reply = say(stack["url"], sender, typed, token)
    assert "Thanks for your feedback" in texts(reply), reply
    assert answers(postgres_shop, sender) == [("nps", score)]


@pytest.mark.parametrize("typed, score", [("pretty easy", 6), ("very difficult", 1), ("7", 7)])
def test_with_an_issue_open_the_effort_question_is_asked_instead(stack, postgres_shop, typed, score):
    customer, number, _ = fresh_customer(postgres_shop, open_issue=True)
    token, sender = sign_customer(customer), f"e2e-survey-ces-{score}"
    reply = cancel(stack["url"], sender, token, number)
    assert "How easy was it to get help today" in texts(reply)
    _, reply = say(stack["url"], sender, typed, token)
    assert "Thanks for your feedback" in texts(reply), reply
    assert answers(postgres_shop, sender) == [("ces", score)]


def test_a_detour_is_answered_and_the_buttons_still_work_after_it(stack, postgres_shop):
    customer, number, other = fresh_customer(postgres_shop, open_issue=True)
    token, sender = sign_customer(customer), "e2e-survey-detour"
    reply = cancel(stack["url"], sender, token, number)
    tap = {b["title"].split(" ")[0]: b["payload"] for b in buttons(reply)}
    _, reply = say(stack["url"], sender, f"actually where is my other order {other}?", token)
    assert other in texts(reply) and "Thanks for your feedback" not in texts(reply), reply
    assert answers(postgres_shop, sender) == [("ces", None)]
    _, reply = say(stack["url"], sender, tap["6"], token)
    assert "Thanks for your feedback" in texts(reply), reply
    assert answers(postgres_shop, sender) == [("ces", 6)]
    _, reply = say(stack["url"], sender, "cheers, bye", token)
    assert reply and answers(postgres_shop, sender) == [("ces", 6)]


def test_an_answer_nobody_asked_for_is_thanked_for_and_not_stored(stack, postgres_shop):
    customer, _, _ = fresh_customer(postgres_shop)
    token, sender = sign_customer(customer), "e2e-survey-not-asked"
    _, reply = say(stack["url"], sender, "i'd definitely recommend you to my friends", token)
    assert "no question waiting" in texts(reply), reply
    assert answers(postgres_shop, sender) == []
