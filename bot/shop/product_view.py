"""A product as the bot shows it: a frozen view of a `products` row, safe to keep after the session closed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.db.models import Product
from bot.shop.categories import CATEGORY_NAMES


@dataclass(frozen=True)
class ProductView:
    """A product as the bot shows it (plain values, safe to keep after the session closed)."""

    sku: str
    name: str
    category: str
    category_name: str
    brand: str
    price: Decimal
    description: str
    family: str | None
    active: bool
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


def product_view(product: Product) -> ProductView:
    """The view of a row, read while its session is open."""
    return ProductView(
        sku=product.sku,
        name=product.name,
        category=product.category,
        category_name=CATEGORY_NAMES.get(product.category, product.category),
        brand=product.brand,
        price=Decimal(product.price),
        description=product.description,
        family=product.family,
        active=bool(product.active),
        attributes=dict(product.attributes or {}),
    )


def price_limit(value: Any) -> Decimal | None:
    """A price cap as a customer or the NLU gave it ("£500", "1,200"); None when none was given."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace("£", "").replace("$", "").replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a price: {value!r}") from exc
