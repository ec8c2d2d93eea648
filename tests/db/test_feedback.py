"""Feedback is kept in the customer's words, linked to them and to the product reviewed when there is one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Feedback, Product
from bot.shop.feedback import FeedbackRejected, clean_feedback, feedback_in_request, record_feedback


def test_a_review_is_kept_word_for_word_for_the_customer_and_the_product(session):
    customer = session.execute(select(Customer).limit(1)).scalar_one()
    product = session.execute(select(Product).limit(1)).scalar_one()
    view = record_feedback(
        session,
        conversation_id="conv-1",
        customer_external_id=customer.external_id,
        product_sku=product.sku,
        text="  Sound is  great,\nbattery lasts all week  ",
    )
    row = session.get(Feedback, view.id)
    assert (row.topic, row.product_id, row.customer_id) == ("product", product.id, customer.id)
    assert row.text == "Sound is great, battery lasts all week" == view.text
    assert view.product_name == product.name and view.reference == f"FB-{view.id:05d}"


def test_feedback_on_the_service_from_a_visitor_is_kept_too(session):
    view = record_feedback(
        session, conversation_id="visitor-7", text="your chat saved me a phone call", product_sku="NO-SUCH-SKU"
    )
    row = session.get(Feedback, view.id)
    assert (row.topic, row.product_id, row.customer_id, row.conversation_id) == ("service", None, None, "visitor-7")


@pytest.mark.parametrize("text", ["", "   ", "ok", "👍"])
def test_a_bare_word_is_not_feedback(session, text):
    assert clean_feedback(text) is None
    with pytest.raises(FeedbackRejected):
        record_feedback(session, conversation_id="c", text=text)


@pytest.mark.parametrize(
    ("text", "product", "expected"),
    [
        (
            "feedback for the web team: the basket empties when i change page",
            None,
            "the basket empties when i change page",
        ),
        (
            "just wanted to say the advisor this morning was brilliant and sorted it all",
            None,
            "just wanted to say the advisor this morning was brilliant and sorted it all",
        ),
        # only asking: the bot asks what the feedback is
        ("i want to leave a review", None, None),
        ("can i give you some feedback pls", None, None),
        ("id like to write a review for the Sony WH-1000XM5 headphones i bought", "Sony WH-1000XM5 headphones", None),
        ("", None, None),
    ],
)
def test_feedback_is_taken_from_the_request_only_when_it_says_something(text, product, expected):
    assert feedback_in_request(text, product) == expected
