"""Reviews and feedback customers give in the chat, kept in their own words for the team to read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, Feedback, Order, OrderLine, Product, utcnow
from bot.shop.customers import customer_pk
from bot.shop.words import FEEDBACK_REQUEST

MAX_FEEDBACK_CHARS = 2000
FEEDBACK_MIN_WORDS = 4  # what a request must say beyond asking, to be taken as the feedback itself
_WORD = re.compile(r"[a-z0-9]+")


class FeedbackRejected(ValueError):
    """Nothing worth keeping was given (empty, a single word)."""


@dataclass(frozen=True)
class FeedbackView:
    id: int
    topic: str  # "product" or "service"
    product_name: str | None
    text: str
    created_at: datetime

    @property
    def reference(self) -> str:
        return f"FB-{self.id:05d}"


def clean_feedback(text: str | None) -> str | None:
    """The feedback as it will be kept, or None when it says nothing (fewer than two words)."""
    cleaned = re.sub(r"\s+", " ", text or "").strip()
    if len(re.findall(r"\w+", cleaned)) < 2:
        return None
    return cleaned[:MAX_FEEDBACK_CHARS]


def feedback_in_request(text: str | None, product_name: str | None = None) -> str | None:
    """The feedback a request to give some already carries ("some feedback: the checkout page is confusing"), or
    None when it only asks ("i'd like to review the headphones i got"), so that the customer is asked for it."""
    cleaned = clean_feedback(text)
    if cleaned is None:
        return None
    _, colon, after = cleaned.partition(":")
    if colon and len(_WORD.findall(after.lower())) >= FEEDBACK_MIN_WORDS:
        return after.strip()
    named = set(_WORD.findall((product_name or "").lower()))
    said = [w for w in _WORD.findall(cleaned.lower()) if w not in FEEDBACK_REQUEST and w not in named]
    return cleaned if len(said) >= FEEDBACK_MIN_WORDS else None


def bought_product_named(session: Session, customer_external_id: str | None, text: str | None) -> str | None:
    """The SKU of the one product the customer bought that their words name ("a review of the galaxy watch i
    got"); None when they name none of them, or several equally."""
    if not customer_external_id or not text:
        return None
    bought = session.execute(
        select(Product.sku, Product.name)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.external_id == customer_external_id)
        .distinct()
    ).all()
    said = set(_WORD.findall(text.lower())) - FEEDBACK_REQUEST
    scores = sorted(((len(said & set(_WORD.findall(name.lower()))), sku) for sku, name in bought), reverse=True)
    if not scores or scores[0][0] == 0 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return scores[0][1]


def record_feedback(
    session: Session,
    *,
    conversation_id: str,
    text: str,
    customer_external_id: str | None = None,
    product_sku: str | None = None,
    now: datetime | None = None,
) -> FeedbackView:
    """Keep one piece of feedback: about `product_sku` when given (a review), else about the service. Anonymous
    feedback is kept too; the caller commits."""
    cleaned = clean_feedback(text)
    if cleaned is None:
        raise FeedbackRejected("feedback needs at least a few words")
    customer_id = customer_pk(session, customer_external_id)
    product = None
    if product_sku:
        product = session.execute(select(Product).where(Product.sku == product_sku)).scalar_one_or_none()
    row = Feedback(
        customer_id=customer_id,
        conversation_id=conversation_id,
        topic="product" if product is not None else "service",
        product_id=product.id if product is not None else None,
        text=cleaned,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return FeedbackView(row.id, row.topic, product.name if product is not None else None, row.text, row.created_at)
