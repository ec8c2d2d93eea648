"""What customers tell the shop: feedback and reviews stored in their words, marketing stopped when they ask."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.feedback import ActionFeedbackStart, ActionRecordFeedback, ValidateFeedbackForm
from actions.recommendations import ActionUnsubscribe
from bot.db.models import Customer, Feedback, MarketingPreference, Order, OrderLine, Product
from bot.db.session import session_scope
from tests.actions.conftest import customer_with_orders, run_action, tracker


def responses(messages):
    return [m["response"] for m in messages]


def test_feedback_is_stored_word_for_word_before_the_thanks(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    tr = tracker(
        "the courier was really rude",
        intent="inform",
        customer=customer,
        slots={"feedback_text": "The courier was really rude and left it in the rain"},
    )
    messages, events = run_action(ActionRecordFeedback(), tr)
    assert responses(messages) == ["utter_feedback_recorded"]
    with session_scope(writable_shop_url) as session:
        row = session.execute(select(Feedback).where(Feedback.conversation_id == tr.sender_id)).scalar_one()
        owner = session.get(Customer, row.customer_id).external_id
    assert (row.topic, row.text, owner) == ("service", "The courier was really rude and left it in the rain", customer)
    assert messages[0]["reference"] == f"FB-{row.id:05d}"
    assert {"event": "slot", "name": "feedback_text", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_a_review_of_a_named_product_is_linked_to_it(writable_shop_url):
    with session_scope(writable_shop_url) as session:
        product = session.execute(select(Product).where(Product.category == "headphones").limit(1)).scalar_one()
        name = product.name
    tr = tracker(intent="inform", slots={"feedback_text": "Comfy for hours, great noise cancelling", "product": name})
    run_action(ActionRecordFeedback(), tr)
    with session_scope(writable_shop_url) as session:
        row = session.execute(select(Feedback).where(Feedback.conversation_id == tr.sender_id)).scalar_one()
        assert row.topic == "product" and session.get(Product, row.product_id).name == name


def _slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_feedback_said_with_the_request_is_kept_without_asking_for_it(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    text = "some feedback: the search on your site only finds things if i type the exact name"
    messages, events = run_action(ActionFeedbackStart(), tracker(text, intent="leave_review", customer=customer))
    assert responses(messages) == ["utter_feedback_recorded"]
    assert _slots(events)["awaiting"] is None  # nothing to ask: the form does not start
    with session_scope(writable_shop_url) as session:
        row = session.execute(select(Feedback).where(Feedback.customer_id.is_not(None))).scalar_one()
    assert (row.topic, row.text) == ("service", "the search on your site only finds things if i type the exact name")


def test_a_request_to_review_something_bought_asks_for_the_review_and_links_it_to_that_product(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    with session_scope(writable_shop_url) as session:
        bought = session.execute(
            select(Product.name)
            .join(OrderLine, OrderLine.product_id == Product.id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Customer.external_id == customer)
            .limit(1)
        ).scalar_one()
    request = tracker(f"wanna leave a reveiw on the {bought} i got", intent="leave_review", customer=customer)
    messages, events = run_action(ActionFeedbackStart(), request)
    assert messages == [] and _slots(events)["awaiting"] == "feedback_text"  # the form asks for it
    with session_scope(writable_shop_url) as session:
        assert session.execute(select(Feedback)).first() is None
    answer = tracker(
        "works fine but the cable is far too short",
        intent="inform",
        customer=customer,
        slots={"feedback_text": "works fine but the cable is far too short"},
        events=list(request.events),
    )
    messages, events = run_action(ActionRecordFeedback(), answer)
    assert responses(messages) == ["utter_feedback_recorded"] and _slots(events)["awaiting"] is None
    with session_scope(writable_shop_url) as session:
        row = session.execute(select(Feedback)).scalar_one()
        assert row.topic == "product" and session.get(Product, row.product_id).name == bought


def test_the_form_asks_again_for_more_than_a_word():
    form = ValidateFeedbackForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_feedback_text("meh", dispatcher, tracker(), {}) == {"feedback_text": None}
    assert responses(dispatcher.messages) == ["utter_feedback_too_short"]


def test_unsubscribing_is_stored_against_the_account_before_it_is_confirmed(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    messages, _ = run_action(
        ActionUnsubscribe(), tracker("stop the marketing emails", intent="unsubscribe", customer=customer)
    )
    assert responses(messages) == ["utter_unsubscribed"]
    with session_scope(writable_shop_url) as session:
        cid = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        assert session.get(MarketingPreference, cid).subscribed is False


def test_a_visitor_is_asked_to_sign_in_to_unsubscribe(writable_shop_url):
    messages, _ = run_action(ActionUnsubscribe(), tracker("unsubscribe", intent="unsubscribe"))
    assert responses(messages) == ["utter_unsubscribe_sign_in"]
