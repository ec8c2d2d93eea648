"""Free-text product search: which products a customer's words name, best matches first.

Search runs a portable SQL pre-filter (LIKE on lower-cased names, the same on SQLite and PostgreSQL) and
ranks the few hundred candidates in Python, so ranking rules stay readable and identical on both backends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import Product
from bot.shop.categories import DEVICE_FAMILIES, normalize_category, singular
from bot.shop.product_view import ProductView, price_limit, product_view
from bot.shop.words import STOPWORDS

# Product-line names that are also category synonyms ("macbook" -> laptops). In a search they name the line:
# "macbook" must not match every laptop.
_PRODUCT_LINE_WORDS = frozenset(DEVICE_FAMILIES) | {"airpod"}


def _query_words(query: str) -> list[str]:
    words: list[str] = []
    for raw in re.findall(r"[a-z0-9]+", query.lower()):
        if raw in STOPWORDS:
            continue
        word = singular(raw)
        if word not in words:
            words.append(word)
    return words


def _name_tokens(product: Product) -> list[str]:
    return [singular(t) for t in re.findall(r"[a-z0-9]+", f"{product.brand} {product.name}".lower())]


def _word_match(word: str, tokens: list[str], category_words: Mapping[str, str], category: str) -> int:
    """2 = a whole word of the name, 1 = a prefix of one (or the product's category), 0 = absent."""
    if word in tokens:
        return 2
    if category_words.get(word) == category:
        return 1
    if len(word) >= 3 and any(t.startswith(word) for t in tokens):
        return 1
    return 0


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
    price_cap = price_limit(max_price)
    if price_cap is not None:
        stmt = stmt.where(Product.price <= price_cap)

    words = _query_words(query) if query else []
    if not words:
        stmt = stmt.order_by(Product.price, Product.name, Product.id).limit(limit)
        return [product_view(p) for p in session.execute(stmt).scalars()]

    return [product_view(p) for _, p in _ranked(session, stmt, words)[:limit]]


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
    whole = [p for p in tied if set(_name_tokens(p)) - STOPWORDS <= set(words)]
    return [product_view(p) for p in (whole if len(whole) == 1 else tied)][:limit]


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
        key = (
            matched < len(words),
            -matched,
            -exact,
            not in_named_category,
            len(product.name),
            product.price,
            product.name,
        )
        ranked.append((key, product))
    ranked.sort(key=lambda item: item[0])
    return ranked
