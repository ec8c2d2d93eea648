"""Product lookup: category vocabulary, free-text product search, compatibility.

Search runs a portable SQL pre-filter (LIKE on lower-cased names, the same on SQLite and PostgreSQL) and
ranks the few hundred candidates in Python, so ranking rules stay readable and identical on both backends.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql import Select
from sqlalchemy.orm import Session

from bot.db.models import Order, OrderLine, Product, ProductCompatibility, utcnow

# slug -> display name (docs/architecture.md, "Categories").
CATEGORY_NAMES: dict[str, str] = {
    "phones": "Phones",
    "laptops": "Laptops",
    "tablets": "Tablets",
    "smartwatches": "Smartwatches",
    "headphones": "Headphones",
    "phone_accessories": "Phone accessories",
    "chargers_cables": "Chargers and cables",
    "laptop_accessories": "Laptop accessories",
    "mobile_plans": "Mobile plans",
    "home_internet": "Home internet plans",
}

CATEGORY_BRANDS: dict[str, tuple[str, ...]] = {
    "phones": ("Apple", "Samsung", "Google", "OnePlus", "Motorola"),
    "laptops": ("Apple", "Lenovo", "Dell", "HP", "Asus"),
    "tablets": ("Apple", "Samsung", "Lenovo", "Amazon"),
    "smartwatches": ("Apple", "Samsung", "Google", "Garmin"),
    "headphones": ("Apple", "Sony", "Bose", "Samsung", "JBL"),
    "phone_accessories": ("Apple", "Samsung", "Spigen", "OtterBox", "Belkin"),
    "chargers_cables": ("Anker", "Belkin", "Apple", "Samsung", "Ugreen"),
    "laptop_accessories": ("Logitech", "Dell", "Anker", "Targus", "Apple"),
    "mobile_plans": ("Tandem Mobile",),
    "home_internet": ("Tandem Fibre",),
}

# Categories whose products are devices a customer owns (they have a `family`).
DEVICE_CATEGORIES = ("phones", "laptops", "tablets", "smartwatches")

# family -> category of its devices (docs/architecture.md, "Device families").
DEVICE_FAMILIES: dict[str, str] = {
    "iphone": "phones",
    "galaxy": "phones",
    "pixel": "phones",
    "oneplus": "phones",
    "moto": "phones",
    "macbook": "laptops",
    "thinkpad": "laptops",
    "xps": "laptops",
    "hp": "laptops",
    "zenbook": "laptops",
    "ipad": "tablets",
    "galaxy_tab": "tablets",
    "fire": "tablets",
    "tab_p": "tablets",
    "apple_watch": "smartwatches",
    "galaxy_watch": "smartwatches",
    "pixel_watch": "smartwatches",
    "garmin": "smartwatches",
}

# What people call each category -> slug. Keys are normalised with `_normalise_phrase` when the table is built,
# so plurals, case, hyphens and "&" need not be listed.
_CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "phones": (
        "phone", "mobile", "mobile phone", "cell phone", "cellphone", "smartphone", "smart phone",
        "handset", "iphone", "android phone",
    ),
    "laptops": ("laptop", "notebook", "notebook computer", "computer", "pc", "ultrabook", "macbook"),
    "tablets": ("tablet", "ipad", "android tablet", "e reader", "ereader"),
    "smartwatches": (
        "smartwatch", "smart watch", "watch", "wearable", "fitness tracker", "fitness watch", "sports watch",
    ),
    "headphones": (
        "headphone", "headset", "earbud", "earphone", "ear bud", "ear phone", "airpod", "in ear",
        "over ear", "noise cancelling headphone",
    ),
    "phone_accessories": (
        "phone accessory", "phone accessories", "case", "phone case", "cover", "phone cover", "screen protector",
        "screen guard", "tempered glass", "mobile accessory", "mobile accessories", "phone case and screen protector",
        "cases and screen protectors",
    ),
    "chargers_cables": (
        "charger", "charging", "cable", "charging cable", "charger cable", "usb cable", "usb c cable",
        "lightning cable", "power adapter", "plug", "power bank", "powerbank", "wireless charger", "charging pad",
        "charger and cable", "cables and chargers", "charging accessories",
    ),
    "laptop_accessories": (
        "laptop accessory", "laptop accessories", "laptop bag", "bag", "backpack", "sleeve", "laptop sleeve",
        "dock", "docking station", "usb hub", "hub", "mouse", "mice", "keyboard", "computer accessory",
        "computer accessories", "bags docks mice keyboards",
    ),
    "mobile_plans": (
        "mobile plan", "phone plan", "cell plan", "cellphone plan", "cell phone plan", "sim", "sim only",
        "sim only plan", "sim only deal", "sim card", "esim", "data plan", "tariff", "mobile tariff",
        "phone contract", "mobile contract", "airtime", "5g plan", "mobile subscription", "tandem mobile",
    ),
    "home_internet": (
        "home internet", "home internet plan", "internet", "internet plan", "broadband", "home broadband",
        "broadband plan", "fibre", "fiber", "fibre broadband", "fiber broadband", "wifi", "wifi plan",
        "home wifi", "wi fi", "wi fi plan", "internet connection", "tandem fibre", "home internet plans",
    ),
}

# Product-line names that are also category synonyms ("macbook" -> laptops). In a search they name the line:
# "macbook" must not match every laptop.
_PRODUCT_LINE_WORDS = frozenset(DEVICE_FAMILIES) | {"airpod"}

_STOPWORDS = frozenset(
    "a an and any are at do does for from have i im in is it me my of on or please show some that the "
    "there this to want with you your looking need buy get new".split()
)


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


def _view(product: Product) -> ProductView:
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


def _singular(word: str) -> str:
    """Crude English singular, enough for shop vocabulary (cases, chargers, batteries, watches)."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _normalise_phrase(text: str) -> str:
    text = text.lower().replace("&", " and ")
    text = re.sub(r"\(.*?\)", " ", text)  # "Phone accessories (cases, screen protectors)"
    text = re.sub(r"[-_/.,'’]", " ", text)
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    words = [_singular(w) for w in text.split()]
    return " ".join(words)


def _build_category_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for slug, display in CATEGORY_NAMES.items():
        for phrase in (slug, display, *_CATEGORY_SYNONYMS.get(slug, ())):
            lookup.setdefault(_normalise_phrase(phrase), slug)
    return lookup


_CATEGORY_LOOKUP = _build_category_lookup()


def normalize_category(text: str | None) -> str | None:
    """Map what a customer (or the NLU) calls a category to its slug, or None if it is not one.

    Accepts slugs, display names, singular/plural and common synonyms ("cell phone", "earbuds", "sim only",
    "wifi plan"); a leading "the"/"a"/"my" or a trailing "deals"/"plans" word is ignored.
    """
    if not text or not isinstance(text, str):
        return None
    phrase = _normalise_phrase(text)
    if not phrase:
        return None
    candidates = [phrase]
    words = phrase.split()
    if words and words[0] in {"the", "a", "an", "my", "some", "new"}:
        candidates.append(" ".join(words[1:]))
    for candidate in list(candidates):
        parts = candidate.split()
        if len(parts) > 1 and parts[-1] in {"deal", "offer", "product", "item", "option"}:
            candidates.append(" ".join(parts[:-1]))
    for candidate in candidates:
        if candidate in _CATEGORY_LOOKUP:
            return _CATEGORY_LOOKUP[candidate]
    return None


def _query_words(query: str) -> list[str]:
    words: list[str] = []
    for raw in re.findall(r"[a-z0-9]+", query.lower()):
        if raw in _STOPWORDS:
            continue
        word = _singular(raw)
        if word not in words:
            words.append(word)
    return words


def _name_tokens(product: Product) -> list[str]:
    return [_singular(t) for t in re.findall(r"[a-z0-9]+", f"{product.brand} {product.name}".lower())]


def _word_match(word: str, tokens: list[str], category_words: Mapping[str, str], category: str) -> int:
    """2 = a whole word of the name, 1 = a prefix of one (or the product's category), 0 = absent."""
    if word in tokens:
        return 2
    if category_words.get(word) == category:
        return 1
    if len(word) >= 3 and any(t.startswith(word) for t in tokens):
        return 1
    return 0


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace("£", "").replace("$", "").replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a price: {value!r}") from exc


def find_products(
    session: Session,
    *,
    query: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    max_price: Decimal | float | int | str | None = None,
    limit: int = 5,
) -> list[ProductView]:
    """Active products matching a free-text query and/or filters, best matches first.

    `category` accepts slugs, display names or synonyms; `brand` is case-insensitive. Products containing all
    query words (as words of brand + name, a prefix, or the product's category: "samsung phone") rank first,
    then those with more words, then exact words over prefixes, products of a category the query names,
    shorter names and lower prices.
    """
    if limit <= 0:
        return []
    stmt = select(Product).where(Product.active.is_(True))
    if category:
        slug = normalize_category(category) or category
        stmt = stmt.where(Product.category == slug)
    if brand:
        stmt = stmt.where(func.lower(Product.brand) == brand.strip().lower())
    price_cap = _to_decimal(max_price)
    if price_cap is not None:
        stmt = stmt.where(Product.price <= price_cap)

    words = _query_words(query) if query else []
    if not words:
        stmt = stmt.order_by(Product.price, Product.name, Product.id).limit(limit)
        return [_view(p) for p in session.execute(stmt).scalars()]

    return [_view(p) for _, p in _ranked(session, stmt, words)[:limit]]


def products_named(session: Session, text: str, limit: int = 3) -> list[ProductView]:
    """The active products that the text names best, all equally well: one when it names a single product
    ("anker nano charger"), several when it names a kind ("a charger"), none when no word names anything."""
    words = _query_words(text)
    if not words:
        return []
    ranked = _ranked(session, select(Product).where(Product.active.is_(True)), words)
    if not ranked:
        return []
    best = ranked[0][0][:4]  # all words or not, how many, how many exactly, of the kind named
    tied = [p for key, p in ranked if key[:4] == best]
    # A product named in full ("Spigen Tough Armor case for Pixel 9") is that one, not also its longer-named kin.
    whole = [p for p in tied if set(_name_tokens(p)) - _STOPWORDS <= set(words)]
    return [_view(p) for p in (whole if len(whole) == 1 else tied)][:limit]


def _ranked(session: Session, stmt: Select, words: list[str]) -> list[tuple[tuple, Product]]:
    """Products of `stmt` that contain some of the words, with their sort keys, best first."""
    # Words (and two-word phrases) that name a category: "phone", "screen protector", "sim only".
    # A two-word phrase wins over its words: in "phone case", "phone" means a phone accessory.
    category_words: dict[str, str] = {}
    line_words = [w for w in words if w not in _PRODUCT_LINE_WORDS]
    for first, second in zip(line_words, line_words[1:]):
        pair_slug = normalize_category(f"{first} {second}")
        if pair_slug:
            category_words.setdefault(first, pair_slug)
            category_words.setdefault(second, pair_slug)
    for word in line_words:
        slug = normalize_category(word)
        if slug:
            category_words.setdefault(word, slug)

    haystack = func.lower(Product.brand + " " + Product.name)
    conditions = [haystack.like(f"%{w}%") for w in words]
    slugs = sorted(set(category_words.values()))
    if slugs:
        conditions.append(Product.category.in_(slugs))
    candidates = session.execute(stmt.where(or_(*conditions))).scalars().all()

    ranked = []
    for product in candidates:
        tokens = _name_tokens(product)
        scores = [_word_match(w, tokens, category_words, product.category) for w in words]
        matched = sum(1 for s in scores if s)
        if not matched:
            continue
        exact = sum(1 for s in scores if s == 2)
        in_named_category = product.category in slugs  # "watch": watches before the watch SIM plan
        key = (matched < len(words), -matched, -exact, not in_named_category, len(product.name), product.price,
               product.name)
        ranked.append((key, product))
    ranked.sort(key=lambda item: item[0])
    return ranked


def get_product(session: Session, sku: str) -> ProductView | None:
    """The product with this SKU (case-insensitive), active or not, or None."""
    if not sku:
        return None
    product = session.execute(
        select(Product).where(Product.sku == sku.strip().upper())
    ).scalar_one_or_none()
    return _view(product) if product else None


def compatible_devices(session: Session, sku: str) -> list[ProductView]:
    """Devices an accessory or plan fits ("does this case fit my Galaxy S24?")."""
    target = select(Product.id).where(Product.sku == sku.strip().upper()).scalar_subquery()
    stmt = (
        select(Product)
        .join(ProductCompatibility, ProductCompatibility.compatible_product_id == Product.id)
        .where(ProductCompatibility.product_id == target)
        .order_by(Product.name, Product.id)
    )
    return [_view(p) for p in session.execute(stmt).scalars()]


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
    return [_view(p) for p in session.execute(stmt).scalars()]


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
    return [_view(p) for p in rows]


ACCESSORY_CATEGORIES = ("phone_accessories", "chargers_cables", "laptop_accessories")
PLAN_CATEGORIES = ("mobile_plans", "home_internet")
# The picture of a product's kind (web/static/products/<name>.svg): categories that share one are mapped.
_PICTURES = {"phone_accessories": "accessories", "chargers_cables": "accessories", "laptop_accessories": "accessories",
             "mobile_plans": "plans", "home_internet": "internet"}


def picture_of(category: str) -> str:
    return _PICTURES.get(category, category)


def accessory_kind(word: str | None) -> str | None:
    """The accessory type (products' `attributes.type`) a typed word names: "cases" -> "case", "screen
    protectors" -> "screen_protector", "chargers" -> "charger"; None for a word that names no single type."""
    phrase = _normalise_phrase(word or "")
    if not phrase:
        return None
    return "_".join(_singular(w) for w in phrase.split())


def _is_kind(product_type: str, kind: str) -> bool:
    """"charger" takes a wireless_charger; "phone_case" (a phone case) is a case."""
    return bool(product_type) and (product_type == kind or product_type.endswith(f"_{kind}")
                                   or kind.endswith(f"_{product_type}"))


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
    lowered = f" {_normalise_phrase(text or '')} "
    for model, category in device_models(session):
        if f" {_normalise_phrase(model)} " in lowered:
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
    devices = [p.id for p in session.execute(select(Product).where(Product.category.in_(DEVICE_CATEGORIES))).scalars()
               if (p.attributes or {}).get("model") == model]
    if not devices:
        return []
    stmt = select(Product).where(
        Product.active.is_(True),
        Product.category.in_([normalize_category(category) or category] if category else ACCESSORY_CATEGORIES),
        Product.id.in_(select(ProductCompatibility.product_id)
                       .where(ProductCompatibility.compatible_product_id.in_(devices))),
    )
    price_cap = _to_decimal(max_price)
    if price_cap is not None:
        stmt = stmt.where(Product.price <= price_cap)
    found = session.execute(stmt.order_by(Product.price, Product.name, Product.id)).scalars().all()
    if kind:
        found = [p for p in found if _is_kind(str((p.attributes or {}).get("type", "")), kind)]
    return [_view(p) for p in found[:limit]]
