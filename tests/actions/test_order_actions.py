"""Order actions answer from the real database, only about the signed-in customer's own orders."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.orders import (
    ActionCancelOrderAbort,
    ActionCancelOrderCheck,
    ActionCancelOrderConfirm,
    ActionDeliveryProblem,
    ActionOrderStatus,
    ActionRefundStatus,
    ActionReturnInfo,
)
from bot.db.models import Order
from bot.db.session import session_scope
from bot.identity import sign_customer
from tests.actions.conftest import OrderRef, customer_with_orders, find_order, run_action, tracker


def responses(messages):
    return [m["response"] for m in messages]


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_order_status_by_number_reports_the_real_status(shop_url):
    ref = find_order(shop_url, status="shipped", late=False)
    messages, events = run_action(
        ActionOrderStatus(),
        tracker(f"where is {ref.number}", entities={"order_id": ref.number.lower()}, customer=ref.customer),
    )
    assert responses(messages) == ["utter_order_shipped"]
    assert messages[0]["order_id"] == ref.number
    with session_scope(shop_url) as session:
        order = session.execute(select(Order).where(Order.order_number == ref.number)).scalar_one()
        assert messages[0]["tracking"] == order.tracking_number
        assert messages[0]["carrier"] == order.carrier
    assert slot_events(events)["order_id"] == ref.number


def test_a_late_order_asked_about_is_handed_to_the_late_delivery_journey(shop_url):
    """One problem, one treatment: "where is TD..." about a late order starts the same journey as "it's late"."""
    ref = find_order(shop_url, late=True)
    messages, events = run_action(
        ActionOrderStatus(), tracker(entities={"order_id": ref.number}, customer=ref.customer)
    )
    assert messages == []  # the journey answers, with what it schedules
    assert slot_events(events)["order_id"] == ref.number
    assert {"event": "followup", "name": "action_journey_start"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


def test_delivered_and_cancelled_orders_say_so(shop_url):
    for status in ("delivered", "cancelled"):
        ref = find_order(shop_url, status=status)
        messages, _ = run_action(ActionOrderStatus(), tracker(entities={"order_id": ref.number}, customer=ref.customer))
        assert responses(messages) == [f"utter_order_{status}"]


def test_an_unknown_order_gets_a_clear_answer(shop_url):
    customer = customer_with_orders(shop_url, 1)
    messages, events = run_action(ActionOrderStatus(), tracker(entities={"order_id": "TD999999"}, customer=customer))
    assert responses(messages) == ["utter_order_not_found"]
    assert messages[0]["order_id"] == "TD999999"
    assert slot_events(events)["order_id"] is None
    assert slot_events(events)["flow_failure"] == "order_not_found"


def test_another_customers_order_is_never_shown(shop_url):
    ref = find_order(shop_url, status="delivered")
    other = next(c for c in (f"CUST-{i:05d}" for i in range(1, 80)) if c != ref.customer)
    messages, _ = run_action(ActionOrderStatus(), tracker(entities={"order_id": ref.number}, customer=other))
    assert responses(messages) == ["utter_order_not_found"]


def test_an_id_typed_in_the_chat_does_not_identify_the_customer(shop_url):
    ref = find_order(shop_url, status="delivered")
    # No signed token, but a customer id in the slots and plain metadata: still anonymous.
    messages, _ = run_action(
        ActionOrderStatus(),
        tracker(f"i am {ref.customer}", entities={"order_id": ref.number}, slots={"customer_id": ref.customer}),
    )
    assert responses(messages) == ["utter_sign_in_needed"]
    forged = sign_customer(ref.customer, secret="someone-elses-secret")
    messages, _ = run_action(ActionOrderStatus(), tracker(entities={"order_id": ref.number}, token=forged))
    assert responses(messages) == ["utter_sign_in_needed"]


def test_without_a_number_the_customer_picks_from_their_orders(shop_url):
    customer = customer_with_orders(shop_url, 2)
    messages, events = run_action(ActionOrderStatus(), tracker("where's my order", customer=customer))
    assert responses(messages) == ["utter_which_order"]
    buttons = messages[0]["buttons"]
    assert 2 <= len(buttons) <= 5
    assert all(b["payload"].startswith('/order_status{"order_id":"TD') for b in buttons)
    assert slot_events(events)["awaiting"] == "order_for_status"


def test_asked_which_order_the_customer_may_name_what_is_in_it(shop_url):
    """ "which order?" -> "the <item> one": that order, as if its number had been typed."""
    from bot.shop.orders import recent_orders

    customer = customer_with_orders(shop_url, 2)
    with session_scope(shop_url) as session:
        orders = recent_orders(session, customer, limit=5)
    wanted = next(o for o in orders if sum(o.lines[0].product_name in p.lines[0].product_name for p in orders) == 1)
    answer = tracker(
        f"the {wanted.lines[0].product_name} one",
        intent="inform",
        customer=customer,
        slots={"awaiting": "order_for_status"},
    )
    messages, events = run_action(ActionOrderStatus(), answer)
    assert "utter_which_order" not in responses(messages)
    assert slot_events(events)["order_id"] == wanted.number and slot_events(events)["awaiting"] is None


def test_a_delivery_complaint_about_a_late_order_goes_to_its_journey_in_any_words(shop_url):
    """ "u said it wud be here by tues": no late-delivery words, but a late order; one problem, one treatment."""
    ref = find_order(shop_url, late=True)
    messages, events = run_action(
        ActionDeliveryProblem(),
        tracker(
            "u said it wud be here by tues",
            intent="delivery_problem",
            entities={"order_id": ref.number},
            customer=ref.customer,
        ),
    )
    assert messages == [] and {"event": "followup", "timestamp": None, "name": "action_journey_start"} in events


def test_cancel_asks_for_confirmation_and_changes_nothing_yet(writable_shop_url):
    ref = find_order(writable_shop_url, status="processing")
    messages, events = run_action(
        ActionCancelOrderCheck(),
        tracker(intent="cancel_order", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert responses(messages) == ["utter_confirm_cancel"]
    # A step that worked clears any earlier failure (the sentiment policy reads it).
    assert slot_events(events) == {"order_id": ref.number, "awaiting": "cancel_confirmation", "flow_failure": None}
    with session_scope(writable_shop_url) as session:
        assert (
            session.execute(select(Order.status).where(Order.order_number == ref.number)).scalar_one() == "processing"
        )


def _confirmation_tracker(ref, answer_intent="affirm"):
    asked = [
        {"event": "action", "name": "action_cancel_order_check"},
        {"event": "slot", "name": "awaiting", "value": "cancel_confirmation"},
        {"event": "action", "name": "action_listen"},
    ]
    return tracker(
        "yes",
        intent=answer_intent,
        customer=ref.customer,
        slots={"order_id": ref.number, "awaiting": "cancel_confirmation"},
        events=asked,
    )


def test_confirmed_cancellation_is_persisted(writable_shop_url):
    ref = find_order(writable_shop_url, status="placed")
    messages, events = run_action(ActionCancelOrderConfirm(), _confirmation_tracker(ref))
    # A request carried out: a survey follows, as the caps allow (tests/actions/test_survey_actions.py).
    assert responses(messages) == ["utter_cancel_done", "utter_nps_question"]
    assert slot_events(events)["awaiting"] is None
    with session_scope(writable_shop_url) as session:
        order = session.execute(select(Order).where(Order.order_number == ref.number)).scalar_one()
        assert order.status == "cancelled" and order.cancelled_at is not None


def test_a_stale_yes_cancels_nothing(writable_shop_url):
    ref = find_order(writable_shop_url, status="processing")
    stale = tracker(
        "yes",
        intent="affirm",
        customer=ref.customer,
        slots={"order_id": ref.number, "awaiting": "cancel_confirmation"},
        events=[
            {"event": "action", "name": "action_cancel_order_check"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "my wifi is down", "metadata": {}},
            {"event": "action", "name": "utter_report_problem"},
            {"event": "action", "name": "action_listen"},
        ],
    )
    messages, _ = run_action(ActionCancelOrderConfirm(), stale)
    assert responses(messages) == ["utter_nothing_to_confirm"]
    with session_scope(writable_shop_url) as session:
        assert (
            session.execute(select(Order.status).where(Order.order_number == ref.number)).scalar_one() == "processing"
        )


def test_shipped_orders_cannot_be_cancelled(shop_url):
    ref = find_order(shop_url, status="shipped")
    messages, events = run_action(
        ActionCancelOrderCheck(),
        tracker(intent="cancel_order", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert responses(messages) == ["utter_cannot_cancel_shipped"]
    # No confirmation is asked; "what can I do instead?" is answered next (data/rules/orders.yml).
    assert slot_events(events)["awaiting"] == "cancel_alternatives"
    assert slot_events(events)["flow_failure"] == "cannot_cancel_shipped"


def test_keeping_the_order_leaves_it(writable_shop_url):
    ref = find_order(writable_shop_url, status="processing")
    messages, _ = run_action(ActionCancelOrderAbort(), _confirmation_tracker(ref, "deny"))
    assert responses(messages) == ["utter_cancel_kept"]
    with session_scope(writable_shop_url) as session:
        assert (
            session.execute(select(Order.status).where(Order.order_number == ref.number)).scalar_one() == "processing"
        )


def test_returns_and_refunds_use_the_customers_orders(shop_url):
    ref = find_order(shop_url, status="cancelled")
    messages, _ = run_action(ActionRefundStatus(), tracker(intent="refund_status", customer=ref.customer))
    assert responses(messages) == ["utter_refunds"]
    assert ref.number in messages[0]["refunds"]
    ref = find_order(shop_url, status="delivered")
    messages, _ = run_action(ActionReturnInfo(), tracker(intent="return_item", customer=ref.customer))
    assert responses(messages)[0] in ("utter_returnable_orders", "utter_no_returnable_orders")


def test_a_database_that_is_down_gets_a_clear_answer(monkeypatch):
    from bot.settings import get_settings

    monkeypatch.setenv("TANDEM_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        messages, events = run_action(
            ActionOrderStatus(), tracker(entities={"order_id": "TD123456"}, customer="CUST-00001")
        )
    finally:
        get_settings.cache_clear()
    assert responses(messages) == ["utter_service_unavailable"]
    assert events == [{"event": "slot", "timestamp": None, "name": "flow_failure", "value": "service_unavailable"}]


def test_a_cancel_button_for_another_customers_order_changes_nothing(writable_shop_url):
    ref = find_order(writable_shop_url, status="processing")
    other = next(c for c in (f"CUST-{i:05d}" for i in range(1, 40)) if c != ref.customer)
    forged = tracker(
        f'/cancel_order{{"order_id":"{ref.number}"}}',
        intent="cancel_order",
        entities={"order_id": ref.number},
        customer=other,
    )
    messages, events = run_action(ActionCancelOrderCheck(), forged)
    assert "utter_confirm_cancel" not in responses(messages)
    assert slot_events(events).get("awaiting") is None
    # Even a "yes" that pretends the question was asked about that order cancels nothing of someone else's.
    messages, _ = run_action(ActionCancelOrderConfirm(), _confirmation_tracker(OrderRef(other, ref.number)))
    assert "utter_cancel_done" not in responses(messages)
    with session_scope(writable_shop_url) as session:
        assert (
            session.execute(select(Order.status).where(Order.order_number == ref.number)).scalar_one() == "processing"
        )


# --- a new delivery address ----------------------------------------------------------------------------------------


def test_an_order_still_in_the_warehouse_opens_the_address_form(shop_url):
    from actions.orders import ActionChangeAddressCheck

    ref = find_order(shop_url, status="placed")
    messages, events = run_action(
        ActionChangeAddressCheck(),
        tracker(
            "can i change the address on it",
            intent="change_address",
            entities={"order_id": ref.number},
            customer=ref.customer,
        ),
    )
    assert messages == []  # the form asks for the address (data/rules/order_changes.yml)
    assert slot_events(events)["order_id"] == ref.number and slot_events(events)["new_address"] is None
    assert slot_events(events)["awaiting"] == "new_address"


def test_a_request_that_already_gives_the_whole_address_changes_it_without_asking(writable_shop_url):
    from actions.orders import ActionChangeAddressCheck

    ref = find_order(writable_shop_url, status="placed")
    text = f"pls send {ref.number} to my work instead its 3 station approach guildford gu1 4ex"
    messages, events = run_action(
        ActionChangeAddressCheck(),
        tracker(text, intent="change_address", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert responses(messages)[0] == "utter_address_changed"
    assert messages[0]["address"] == "3 station approach guildford gu1 4ex"
    assert slot_events(events)["awaiting"] is None  # no form: nothing left to ask
    with session_scope(writable_shop_url) as session:
        stored = session.execute(select(Order.shipping_address).where(Order.order_number == ref.number)).scalar_one()
    assert stored == "3 station approach guildford gu1 4ex"


def test_a_shipped_order_keeps_its_address_even_when_the_request_gives_a_new_one(writable_shop_url):
    from actions.orders import ActionChangeAddressCheck

    ref = find_order(writable_shop_url, status="shipped")
    with session_scope(writable_shop_url) as session:
        before = session.execute(select(Order.shipping_address).where(Order.order_number == ref.number)).scalar_one()
    messages, _ = run_action(
        ActionChangeAddressCheck(),
        tracker(
            f"change {ref.number} to 27 Harbour Street, Whitby YO21 3PU",
            intent="change_address",
            entities={"order_id": ref.number},
            customer=ref.customer,
        ),
    )
    assert responses(messages) == ["utter_cannot_change_address_shipped"]
    with session_scope(writable_shop_url) as session:
        after = session.execute(select(Order.shipping_address).where(Order.order_number == ref.number)).scalar_one()
    assert after == before


def test_a_shipped_order_keeps_its_address_and_the_customer_hears_what_they_can_do(shop_url):
    from actions.orders import ActionChangeAddressCheck

    ref = find_order(shop_url, status="shipped")
    messages, events = run_action(
        ActionChangeAddressCheck(),
        tracker(intent="change_address", entities={"order_id": ref.number}, customer=ref.customer),
    )
    assert responses(messages) == ["utter_cannot_change_address_shipped"]
    assert messages[0]["tracking"] and messages[0]["carrier"]
    assert slot_events(events)["flow_failure"] == "cannot_change_address_shipped"


def test_the_form_takes_only_an_address_a_courier_could_find():
    from actions.orders import ValidateChangeAddressForm

    form = ValidateChangeAddressForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_new_address("to my work please", dispatcher, tracker(), {}) == {"new_address": None}
    assert responses(dispatcher.messages) == ["utter_address_not_understood"]
    assert form.validate_new_address("27 High St, Leeds LS1 4HT", CollectingDispatcher(), tracker(), {}) == {
        "new_address": "27 High St, Leeds LS1 4HT"
    }


def test_the_new_address_is_stored_before_done_is_said(writable_shop_url):
    from actions.orders import ActionChangeAddress

    ref = find_order(writable_shop_url, status="processing")
    messages, events = run_action(
        ActionChangeAddress(),
        tracker(
            "27 high st\nleeds LS1 4HT",
            intent="inform",
            customer=ref.customer,
            slots={"order_id": ref.number, "new_address": "27 high st\nleeds LS1 4HT"},
        ),
    )
    assert responses(messages) == ["utter_address_changed", "utter_nps_question"]  # then a survey, as the caps allow
    assert messages[0]["address"] == "27 high st, leeds LS1 4HT"
    with session_scope(writable_shop_url) as session:
        stored = session.execute(select(Order.shipping_address).where(Order.order_number == ref.number)).scalar_one()
    assert stored == "27 high st, leeds LS1 4HT"
    assert slot_events(events)["new_address"] is None


def test_an_order_that_shipped_while_the_customer_typed_keeps_its_address(writable_shop_url):
    from actions.orders import ActionChangeAddress

    ref = find_order(writable_shop_url, status="placed")
    with session_scope(writable_shop_url) as session:
        session.execute(select(Order).where(Order.order_number == ref.number)).scalar_one().status = "shipped"
    messages, events = run_action(
        ActionChangeAddress(),
        tracker(customer=ref.customer, slots={"order_id": ref.number, "new_address": "27 High St, Leeds LS1 4HT"}),
    )
    assert responses(messages) == ["utter_cannot_change_address_shipped"]
    assert slot_events(events)["flow_failure"] == "cannot_change_address_shipped"


def test_a_database_that_fails_on_commit_takes_back_the_done(monkeypatch, writable_shop_url):
    """Persisted before acknowledged: if the change cannot be stored, "Done" is not said."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from actions.orders import ActionChangeAddress

    ref = find_order(writable_shop_url, status="placed")

    def failing_commit(self):
        raise OperationalError("COMMIT", {}, Exception("the disk is full"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    messages, _ = run_action(
        ActionChangeAddress(),
        tracker(customer=ref.customer, slots={"order_id": ref.number, "new_address": "27 High St, Leeds LS1 4HT"}),
    )
    assert responses(messages) == ["utter_service_unavailable"]
