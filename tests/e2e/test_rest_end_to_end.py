"""The whole stack as a customer meets it: the widget's REST channel -> Rasa -> action server -> PostgreSQL.

Real processes, the trained project model, a seeded shop; nothing is mocked.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Customer, MarketingPreference, Order
from bot.db.session import session_scope
from bot.identity import sign_customer
from tests.e2e.conftest import actions_down

pytestmark = pytest.mark.slow


def say(url: str, sender: str, text: str, token: str | None = None, raw: bytes | None = None) -> tuple[int, Any]:
    body = (
        raw
        if raw is not None
        else json.dumps(
            {"sender": sender, "message": text, "metadata": {"customer_token": token} if token else {}}
        ).encode()
    )
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def texts(reply: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text", "") for m in reply)


def an_order(url: str, status: str) -> tuple[str, Order]:
    with session_scope(url) as session:
        order, customer = session.execute(
            select(Order, Customer.external_id)
            .join(Customer)
            .where(Order.status == status)
            .order_by(Order.order_number)
        ).first()
        session.expunge(order)
        return customer, order


def test_where_is_my_order_answers_with_the_real_status(stack, postgres_shop):
    customer, order = an_order(postgres_shop, "shipped")
    status, reply = say(stack["url"], "e2e-status", f"where is my order {order.order_number}?", sign_customer(customer))
    assert status == 200
    answer = texts(reply)
    assert order.order_number in answer
    assert order.tracking_number in answer and order.carrier in answer


def test_an_unknown_order_gets_a_clear_answer(stack, postgres_shop):
    customer, _ = an_order(postgres_shop, "delivered")
    status, reply = say(stack["url"], "e2e-unknown", "where is my order TD000001", sign_customer(customer))
    assert status == 200
    assert "couldn't find an order TD000001" in texts(reply) or "no order TD000001" in texts(reply)


def test_cancelling_takes_a_confirmation_and_is_persisted(stack, postgres_shop):
    customer, order = an_order(postgres_shop, "processing")
    token = sign_customer(customer)
    _, reply = say(stack["url"], "e2e-cancel", f"please cancel order {order.order_number}", token)
    assert "cancel order" in texts(reply).lower()
    assert [b["payload"] for b in reply[-1]["buttons"]] == ["/affirm", "/deny"]
    _, reply = say(stack["url"], "e2e-cancel", "/affirm", token)
    assert order.order_number in texts(reply) and "cancelled" in texts(reply)
    with session_scope(postgres_shop) as session:
        assert session.execute(select(Order.status).where(Order.id == order.id)).scalar_one() == "cancelled"


def test_a_forged_token_is_refused(stack, postgres_shop):
    customer, order = an_order(postgres_shop, "delivered")
    status, reply = say(
        stack["url"], "e2e-forged", f"where is {order.order_number}", sign_customer(customer, secret="forger")
    )
    assert status == 401 and "invalid" in reply["error"]


def test_an_anonymous_visitor_sees_no_account_data(stack, postgres_shop):
    _, order = an_order(postgres_shop, "delivered")
    status, reply = say(stack["url"], "e2e-anon", f"where is my order {order.order_number}")
    assert status == 200
    assert "sign in" in texts(reply).lower()
    assert order.order_number not in texts(reply)


@pytest.mark.parametrize(
    "raw, status, reason",
    [
        (b"{not json", 400, "JSON"),
        (json.dumps({"sender": "x", "message": "   "}).encode(), 400, "empty"),
        (json.dumps({"sender": "x", "message": "a" * 10_000}).encode(), 413, "too long"),
    ],
)
def test_bad_input_gets_a_clear_error(stack, raw, status, reason):
    code, reply = say(stack["url"], "", "", raw=raw)
    assert code == status and reason in reply["error"]


def test_html_in_a_message_comes_back_as_plain_data(stack):
    status, reply = say(stack["url"], "e2e-html", "<script>alert(1)</script> hi")
    assert status == 200 and reply  # answered; the widget renders text, never HTML


def test_two_messages_of_one_conversation_at_once_both_get_answers(stack, postgres_shop):
    customer, order = an_order(postgres_shop, "delivered")
    token = sign_customer(customer)
    with ThreadPoolExecutor(2) as pool:
        replies = list(
            pool.map(lambda t: say(stack["url"], "e2e-twice", t, token), [f"status of {order.order_number}", "hello"])
        )
    assert all(code == 200 and reply for code, reply in replies)
    status, reply = say(stack["url"], "e2e-twice", "thanks!", token)
    assert status == 200 and reply


def test_when_the_action_server_is_down_the_customer_still_hears_back(stack, postgres_shop):
    customer, order = an_order(postgres_shop, "delivered")
    with actions_down(stack):
        status, reply = say(
            stack["url"], "e2e-down", f"where is my order {order.order_number}", sign_customer(customer)
        )
    assert status == 200
    assert "try again" in texts(reply).lower()
    # The apology is in the conversation, after the message it answers: a reload, an agent, the insights see it.
    url = f"{stack['rasa_base']}/conversations/e2e-down/tracker?token={stack['rasa_token']}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        events = json.loads(answer.read())["events"]
    said = [(e["event"], e.get("text")) for e in events if e["event"] in ("user", "bot")]
    assert said[-2][0] == "user" and order.order_number in said[-2][1]
    assert said[-1] == ("bot", texts(reply))


def test_a_customer_types_a_new_address_and_asks_about_the_shop_and_it_is_all_real(stack, postgres_shop):
    """Typed, no buttons: the address goes to the order in the database before "done" is said, a question about
    paying is answered from the policy, and "stop the emails" is stored against the account."""
    customer, order = an_order(postgres_shop, "placed")
    token = sign_customer(customer)
    _, reply = say(
        stack["url"],
        "e2e-address",
        f"hi, i've moved house. can {order.order_number} come to my new place instead?",
        token,
    )
    assert f"new delivery address for order {order.order_number}" in texts(reply)
    _, reply = say(stack["url"], "e2e-address", "it's 9 Orchard Road, Bath BA1 2QT", token)
    assert f"order {order.order_number} will now go to 9 Orchard Road, Bath BA1 2QT" in texts(reply)
    with session_scope(postgres_shop) as session:
        stored = session.execute(select(Order.shipping_address).where(Order.id == order.id)).scalar_one()
    assert stored == "9 Orchard Road, Bath BA1 2QT"

    _, reply = say(stack["url"], "e2e-address", "can i pay with apple pay?", token)
    assert "Apple Pay" in texts(reply)
    _, reply = say(stack["url"], "e2e-address", "also pls stop sending me marketing emails", token)
    assert "unsubscribed" in texts(reply)
    with session_scope(postgres_shop) as session:
        cid = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        assert session.get(MarketingPreference, cid).subscribed is False


def test_a_customer_changes_what_is_in_an_order_in_their_own_words(stack, postgres_shop):
    """Typed, no buttons: the bot lists the order, "add 2 chargers" gets the chargers it could be, "the anker 20w
    one" picks one, and the order in the database holds it before "done" is said; "take the charger off again"
    in one message undoes it."""
    customer, order = an_order(postgres_shop, "placed")
    token = sign_customer(customer)

    def stored() -> dict[str, int]:
        with session_scope(postgres_shop) as session:
            row = session.get(Order, order.id)
            return {line.product.name: line.quantity for line in row.lines}

    before = stored()
    _, reply = say(stack["url"], "e2e-items", f"hi can i add something to {order.order_number} before it ships?", token)
    assert f"Order {order.order_number} holds" in texts(reply) and "What would you like to change?" in texts(reply)
    _, reply = say(stack["url"], "e2e-items", "add 2 chargers", token)
    assert "Which one shall I add?" in texts(reply) and "Anker Nano 20W USB-C charger" in texts(reply)
    _, reply = say(stack["url"], "e2e-items", "the anker 20w one", token)
    assert f"Done: added 2 × Anker Nano 20W USB-C charger in order {order.order_number}" in texts(reply)
    assert stored() == {**before, "Anker Nano 20W USB-C charger": 2}
    _, reply = say(stack["url"], "e2e-items", f"actually take the charger off {order.order_number} again", token)
    assert "Done: removed Anker Nano 20W USB-C charger" in texts(reply)
    assert stored() == before
