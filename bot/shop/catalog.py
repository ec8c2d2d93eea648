"""The shop's catalogue: products by SKU, what fits which device, best sellers, the device models it knows.

This is the product API the bot and the actions use; it also offers the category vocabulary
(`bot.shop.categories`) and free-text search (`bot.shop.search`) so callers need one import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.db.models import Order, OrderLine, Product, ProductCompatibility, utcnow
from bot.shop.categories import (
    ACCESSORY_CATEGORIES,
    CATEGORY_BRANDS,
    CATEGORY_NAMES,
    DEVICE_CATEGORIES,
    DEVICE_FAMILIES,
    PLAN_CATEGORIES,
    accessory_kind,
    normalise_phrase,
    normalize_category,
    picture_of,
)
from bot.shop.product_view import ProductView, price_limit, product_view
from bot.shop.search import find_products, products_named

__all__ = [
    "ACCESSORY_CATEGORIES",
    "CATEGORY_BRANDS",
    "CATEGORY_NAMES",
    "DEVICE_CATEGORIES",
    "DEVICE_FAMILIES",
    "PLAN_CATEGORIES",
    "POPULARITY_WINDOW_DAYS",
    "ProductView",
    "accessories_for",
    "accessories_for_model",
    "accessory_kind",
    "compatible_devices",
    "device_models",
    "device_named_in",
    "find_products",
    "get_product",
    "model_named_in",
    "normalize_category",
    "picture_of",
    "popular_products",
    "products_named",
]


def get_product(session: Session, sku: str) -> ProductView | None:
    """The product with this SKU (case-insensitive), active or not, or None."""
    if not sku:
        return None
    product = session.execute(select(Product).where(Product.sku == sku.strip().upper())).scalar_one_or_none()
    return product_view(product) if product else None


def compatible_devices(session: Session, sku: str) -> list[ProductView]:
    """Devices an accessory or plan fits ("does this case fit my Galaxy S24?")."""
    target = select(Product.id).where(Product.sku == sku.strip().upper()).scalar_subquery()
    stmt = (
        select(Product)
        .join(ProductCompatibility, ProductCompatibility.compatible_product_id == Product.id)
        .where(ProductCompatibility.product_id == target)
        .order_by(Product.name, Product.id)
    )
    return [product_view(p) for p in session.execute(stmt).scalars()]


def accessories_for(
    session: Session, device_skus: Iterable[str], *, category: str | None = None, limit: int = 5
) -> list[ProductView]:
    """Active accessories/plans that fit any of these devices, cheapest first (for recommendations)."""
    skus = sorted({s.strip().upper() for s in device_skus if s})
    if not skus:
        return []
    devices = select(Product.id).where(Product.sku.in_(skus))
    stmt = (
        select(Product)
        .where(
            and_(
                Product.active.is_(True),
                Product.id.in_(
                    select(ProductCompatibility.product_id).where(
                        ProductCompatibility.compatible_product_id.in_(devices)
                    )
                ),
            )
        )
        .order_by(Product.price, Product.name, Product.id)
        .limit(limit)
    )
    if category:
        stmt = stmt.where(Product.category == (normalize_category(category) or category))
    return [product_view(p) for p in session.execute(stmt).scalars()]


POPULARITY_WINDOW_DAYS = 90


def popular_products(
    session: Session,
    *,
    category: str | None = None,
    brand: str | None = None,
    limit: int = 5,
    now: datetime | None = None,
    window_days: int = POPULARITY_WINDOW_DAYS,
) -> list[ProductView]:
    """Best sellers by units ordered in the last `window_days` (cancelled orders do not count).

    The non-personalized baseline: what "popular" means when the bot says so. Products with no recent
    sales follow, cheapest first, so a narrow filter still gets an answer.
    """
    since = (now or utcnow()) - timedelta(days=window_days)
    filters = [Product.active.is_(True)]
    if category:
        filters.append(Product.category == category)
    if brand:
        filters.append(func.lower(Product.brand) == brand.strip().lower())
    units = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.placed_at >= since, Order.status != "cancelled")
        .group_by(OrderLine.product_id)
        .subquery()
    )
    rows = session.execute(
        select(Product)
        .outerjoin(units, units.c.product_id == Product.id)
        .where(*filters)
        .order_by(func.coalesce(units.c.units, 0).desc(), Product.price, Product.id)
        .limit(max(1, limit))
    ).scalars()
    return [product_view(p) for p in rows]


def _is_kind(product_type: str, kind: str) -> bool:
    """ "charger" takes a wireless_charger; "phone_case" (a phone case) is a case."""
    return bool(product_type) and (
        product_type == kind or product_type.endswith(f"_{kind}") or kind.endswith(f"_{product_type}")
    )


def device_models(session: Session) -> list[tuple[str, str]]:
    """Every device model the shop knows with its category (("iPhone 13", "phones"), ("Galaxy Watch6",
    "smartwatches")), longest name first (so "iPhone 15 Pro" wins over "iPhone 15" in a text naming it)."""
    rows = session.execute(
        select(Product.attributes, Product.category).where(Product.category.in_(DEVICE_CATEGORIES))
    ).all()
    models = {(str(a.get("model")), category) for a, category in rows if isinstance(a, Mapping) and a.get("model")}
    return sorted(models, key=lambda m: (-len(m[0]), m))


def device_named_in(session: Session, text: str | None) -> tuple[str, str] | None:
    """The exact device model a text names and its category ("my galaxy watch6 is dead" -> ("Galaxy Watch6",
    "smartwatches")), or None."""
    lowered = f" {normalise_phrase(text or '')} "
    for model, category in device_models(session):
        if f" {normalise_phrase(model)} " in lowered:
            return model, category
    return None


def model_named_in(session: Session, text: str | None) -> str | None:
    """The exact device model a text names ("a case for my iphone 13 pls" -> "iPhone 13"), or None."""
    named = device_named_in(session, text)
    return named[0] if named else None


def accessories_for_model(
    session: Session,
    model: str,
    *,
    category: str | None = None,
    kind: str | None = None,
    max_price: Decimal | float | int | str | None = None,
    limit: int = 5,
) -> list[ProductView]:
    """Active accessories made for this exact device model (the compatibility table), of a category and type
    when given ("a case" is a case, not a screen protector), cheapest first."""
    devices = [
        p.id
        for p in session.execute(select(Product).where(Product.category.in_(DEVICE_CATEGORIES))).scalars()
        if (p.attributes or {}).get("model") == model
    ]
    if not devices:
        return []
    stmt = select(Product).where(
        Product.active.is_(True),
        Product.category.in_([normalize_category(category) or category] if category else ACCESSORY_CATEGORIES),
        Product.id.in_(
            select(ProductCompatibility.product_id).where(ProductCompatibility.compatible_product_id.in_(devices))
        ),
    )
    price_cap = price_limit(max_price)
    if price_cap is not None:
        stmt = stmt.where(Product.price <= price_cap)
    found = session.execute(stmt.order_by(Product.price, Product.name, Product.id)).scalars().all()
    if kind:
        found = [p for p in found if _is_kind(str((p.attributes or {}).get("type", "")), kind)]
    return [product_view(p) for p in found[:limit]]
