"""Changing what is in an order through the chat: the request checked against the shop's rules, the change asked
for in the customer's words (typed or tapped), stored before "done" is said, and only on their own order."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.order_edits import (
    ActionAskOrderChange,
    ActionChangeOrder,
    ActionChangeOrderCheck,
    ValidateChangeOrderForm,
)
from bot.db.models import Order
from bot.db.session import session_scope
from tests.actions.conftest import OrderRef, find_order, run_action, tracker


def responses(messages):
    return [m["response"] for m in messages]


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def stored_lines(url: str, number: str) -> dict[str, int]:
    with session_scope(url) as session:
        order = session.execute(select(Order).where(Order.order_number == number)).scalar_one()
        return {line.product.name: line.quantity for line in order.lines}


def test_a_request_without_the_change_opens_the_form(shop_url):
    ref = find_order(shop_url, status="placed")
    messages, events = run_action(
        ActionChangeOrderCheck(),
        tracker(
            "i want to change my order", intent="change_order", entities={"order_id": ref.number}, customer=ref.customer
        ),
    )
    assert messages == []  # the form asks (action_ask_order_change)
    assert slot_events(events)["awaiting"] == "order_change" and slot_events(events)["order_id"] == ref.number


def test_a_request_that_says_the_change_goes_straight_to_it(shop_url):
    ref = find_order(shop_url, status="placed")
    text = f"can you add the anker nano 20w charger to {ref.number}"
    messages, events = run_action(
        ActionChangeOrderCheck(),
        tracker(text, intent="change_order", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert messages == []
    assert slot_events(events)["order_change"] == text
    assert any(e.get("event") == "followup" and e.get("name") == "action_change_order" for e in events)


def test_a_kind_of_product_in_the_request_is_asked_about_with_buttons(shop_url):
    ref = find_order(shop_url, status="placed")
    messages, events = run_action(
        ActionChangeOrderCheck(),
        tracker(
            "add 2 chargers to my order",
            intent="change_order",
            entities={"order_id": ref.number},
            customer=ref.customer,
        ),
    )
    assert responses(messages) == ["utter_order_change_which_product"]
    buttons = messages[0]["buttons"]
    assert len(buttons) > 1 and all(b["payload"].startswith("add 2 ") for b in buttons)  # the count is kept
    assert slot_events(events)["order_change_problem"] == "several_products:2:charger"
    assert slot_events(events)["awaiting"] == "order_change"


def test_a_shipped_order_keeps_its_items_and_the_customer_hears_why(shop_url):
    ref = find_order(shop_url, status="shipped")
    messages, events = run_action(
        ActionChangeOrderCheck(),
        tracker(
            "remove the case from my order",
            intent="change_order",
            entities={"order_id": ref.number},
            customer=ref.customer,
        ),
    )
    assert responses(messages) == ["utter_cannot_change_order_shipped"]
    assert slot_events(events)["flow_failure"] == "cannot_change_order_shipped"
    # It stays the order under discussion ("a new one then" is about it), and the bot's turn ends with the answer.
    assert slot_events(events)["order_id"] == ref.number
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}


def test_the_question_lists_what_the_order_holds_and_is_not_repeated_after_a_problem(shop_url):
    ref = find_order(shop_url, status="placed")
    messages, _ = run_action(ActionAskOrderChange(), tracker(customer=ref.customer, slots={"order_id": ref.number}))
    assert responses(messages) == ["utter_order_change_question"]
    assert all(f"{q} × {name}" in messages[0]["lines"] for name, q in stored_lines(shop_url, ref.number).items())
    messages, _ = run_action(
        ActionAskOrderChange(),
        tracker(customer=ref.customer, slots={"order_id": ref.number, "order_change_problem": "not_understood"}),
    )
    assert messages == []


def test_the_form_takes_only_words_that_say_one_change(shop_url):
    ref = find_order(shop_url, status="placed")
    form = ValidateChangeOrderForm()
    tr = tracker(customer=ref.customer, slots={"order_id": ref.number})
    dispatcher = CollectingDispatcher()
    assert form.validate_order_change("no idea really", dispatcher, tr, {}) == {
        "order_change": None,
        "order_change_problem": "not_understood",
    }
    assert responses(dispatcher.messages) == ["utter_order_change_not_understood"]
    dispatcher = CollectingDispatcher()
    assert form.validate_order_change("add a flux capacitor", dispatcher, tr, {})["order_change"] is None
    assert responses(dispatcher.messages) == ["utter_order_change_no_such_product"]
    # what a tapped button sends is taken
    assert form.validate_order_change("add Anker Nano 20W USB-C charger", CollectingDispatcher(), tr, {}) == {
        "order_change": "add Anker Nano 20W USB-C charger",
        "order_change_problem": None,
    }


def test_the_answer_to_which_one_is_read_against_the_products_offered(shop_url):
    """After "add 2 chargers" and the list, "the second one" or "the anker 20w one" picks one; the count is kept."""
    from bot.shop.catalog import products_named

    ref = find_order(shop_url, status="placed")
    _, events = run_action(
        ActionChangeOrderCheck(),
        tracker("add 2 chargers", intent="change_order", entities={"order_id": ref.number}, customer=ref.customer),
    )
    answer = tracker(
        customer=ref.customer,
        slots={"order_id": ref.number, "order_change_problem": slot_events(events)["order_change_problem"]},
    )
    with session_scope(shop_url) as session:
        offered = [p.name for p in products_named(session, "charger")]
    form, dispatcher = ValidateChangeOrderForm(), CollectingDispatcher()
    assert form.validate_order_change("the second one pls", dispatcher, answer, {}) == {
        "order_change": f"add 2 {offered[1]}",
        "order_change_problem": None,
    }
    assert form.validate_order_change("the anker 20w one", dispatcher, answer, {}) == {
        "order_change": "add 2 charger the anker 20w one",
        "order_change_problem": None,
    }
    assert dispatcher.messages == []
    # "the anker one" leaves the shop's Anker chargers: only those are offered
    narrower = form.validate_order_change("the anker one", dispatcher, answer, {})
    assert narrower["order_change"] is None and narrower["order_change_problem"] == "several_products:2:charger anker"
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert len(titles) > 1 and all("anker" in t.lower() and "charger" in t.lower() for t in titles)
    dispatcher.messages.clear()
    unclear = form.validate_order_change("hmm", dispatcher, answer, {})  # the question again
    assert unclear["order_change"] is None and responses(dispatcher.messages) == ["utter_order_change_which_product"]


def test_the_change_is_stored_before_done_is_said(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    before = stored_lines(writable_shop_url, ref.number)
    messages, events = run_action(
        ActionChangeOrder(),
        tracker(
            customer=ref.customer, slots={"order_id": ref.number, "order_change": "add Anker Nano 20W USB-C charger"}
        ),
    )
    assert responses(messages) == ["utter_order_changed", "utter_nps_question"]  # then a survey, as the caps allow
    assert messages[0]["change"] == "added 1 × Anker Nano 20W USB-C charger"
    assert "1 × Anker Nano 20W USB-C charger" in messages[0]["lines"]
    assert stored_lines(writable_shop_url, ref.number) == {**before, "Anker Nano 20W USB-C charger": 1}
    assert slot_events(events)["order_change"] is None and slot_events(events)["awaiting"] is None
    assert slot_events(events)["order_change_last"] is not None  # "actually just one" is about this product


def test_never_mind_keeps_the_order(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    before = stored_lines(writable_shop_url, ref.number)
    messages, _ = run_action(
        ActionChangeOrder(), tracker("never mind", intent="deny", customer=ref.customer, slots={"order_id": ref.number})
    )
    assert responses(messages) == ["utter_order_kept"]
    assert stored_lines(writable_shop_url, ref.number) == before


def changeable_order(url: str, lines: int) -> OrderRef:
    """An order still in the warehouse with exactly this many lines (or more, for lines=2)."""
    with session_scope(url) as session:
        query = select(Order).where(Order.status.in_(["placed", "processing"])).order_by(Order.order_number)
        for order in session.execute(query).scalars():
            if len(order.lines) == lines or (lines == 2 and len(order.lines) > 2):
                return OrderRef(order.customer.external_id, order.order_number)
    raise LookupError(f"no order in the warehouse with {lines} lines")


def test_an_item_is_removed_and_the_rest_kept(writable_shop_url):
    ref = changeable_order(writable_shop_url, lines=2)
    before = stored_lines(writable_shop_url, ref.number)
    removed = list(before)[-1]
    others = " ".join(list(before)[:-1]).lower()
    # "remove the <a word only its name has>", as a customer shortens a product's name
    word = next(w for w in removed.lower().split() if w.isalpha() and len(w) >= 4 and w not in others)
    messages, _ = run_action(
        ActionChangeOrder(),
        tracker(customer=ref.customer, slots={"order_id": ref.number, "order_change": f"please remove the {word}"}),
    )
    assert responses(messages)[0] == "utter_order_changed", messages
    assert messages[0]["change"] == f"removed {removed}"
    assert stored_lines(writable_shop_url, ref.number) == {k: q for k, q in before.items() if k != removed}


def test_removing_the_only_item_is_a_cancellation_and_is_not_done_here(writable_shop_url):
    ref = changeable_order(writable_shop_url, lines=1)
    before = stored_lines(writable_shop_url, ref.number)
    messages, _ = run_action(
        ActionChangeOrder(), tracker(customer=ref.customer, slots={"order_id": ref.number, "order_change": "remove it"})
    )
    assert responses(messages) == ["utter_order_change_last_item"]
    assert stored_lines(writable_shop_url, ref.number) == before


def test_another_customers_order_is_not_changed(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    other = find_order(writable_shop_url, status="delivered")
    assert other.customer != ref.customer
    before = stored_lines(writable_shop_url, ref.number)
    messages, _ = run_action(
        ActionChangeOrder(),
        tracker(
            customer=other.customer, slots={"order_id": ref.number, "order_change": "add Anker Nano 20W USB-C charger"}
        ),
    )
    assert responses(messages) == ["utter_order_not_found"]
    assert stored_lines(writable_shop_url, ref.number) == before


def test_a_database_that_fails_on_commit_takes_back_the_done(monkeypatch, writable_shop_url):
    """Persisted before acknowledged: if the change cannot be stored, "Done" is not said."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    ref = find_order(writable_shop_url, status="placed")
    before = stored_lines(writable_shop_url, ref.number)

    def failing_commit(self):
        raise OperationalError("COMMIT", {}, Exception("the disk is full"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    messages, _ = run_action(
        ActionChangeOrder(),
        tracker(
            customer=ref.customer, slots={"order_id": ref.number, "order_change": "add Anker Nano 20W USB-C charger"}
        ),
    )
    assert responses(messages) == ["utter_service_unavailable"]
    monkeypatch.undo()
    assert stored_lines(writable_shop_url, ref.number) == before


def test_a_database_that_is_down_at_the_question_leaves_the_answer_to_the_change_action(monkeypatch, shop_url):
    """The typed change is kept, not lost: the change action then says the shop cannot be reached."""
    from sqlalchemy.exc import OperationalError

    import bot.db.session as module

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    ref = find_order(shop_url, status="placed")
    monkeypatch.setattr(module, "session_scope", down)
    answer = ValidateChangeOrderForm().validate_order_change(
        "remove the case", CollectingDispatcher(), tracker(customer=ref.customer, slots={"order_id": ref.number}), {}
    )
    assert answer == {"order_change": "remove the case", "order_change_problem": None}
