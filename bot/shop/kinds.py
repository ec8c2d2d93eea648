"""Kinds of product within a category (a laptop accessory may be a bag, a mouse, a dock): the one a customer
names, and the products of that kind."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Product
from bot.shop.categories import singular


def _kinds(session: Session, category: str) -> list[str]:
    rows = session.execute(select(Product.attributes).where(Product.category == category, Product.active.is_(True)))
    return sorted({str(attributes["type"]) for (attributes,) in rows if attributes and attributes.get("type")})


def kind_named(session: Session, category: str | None, text: str | None) -> str | None:
    """The one kind of the category's products that the words name ("a laptop bag", "wireless mice"), or None
    when they name none or several, so that the whole category is suggested."""
    if not category or not text:
        return None
    said = {singular(word) for word in re.findall(r"[a-z]+", text.lower())}
    named = [kind for kind in _kinds(session, category) if singular(kind.lower()) in said]
    return named[0] if len(named) == 1 else None


def product_ids_of_kind(session: Session, category: str, kind: str) -> frozenset[int]:
    """The category's products of that kind."""
    rows = session.execute(select(Product.id, Product.attributes).where(Product.category == category))
    return frozenset(pid for pid, attributes in rows if attributes and attributes.get("type") == kind)
