"""Reviews and feedback customers give in the chat, kept in their own words for the team to read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Feedback, Product, utcnow
from bot.shop.customers import customer_pk

MAX_FEEDBACK_CHARS = 2000


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
