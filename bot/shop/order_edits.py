"""Changing what is in an order before it ships: the customer's typed words read as one edit (add, remove, a new
quantity), and the edit applied under the shop's rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import OrderLine, Product, utcnow
from bot.shop.catalog import ProductView, normalize_category, products_named
from bot.shop.orders import (
    AddressDecision,
    OrderLineView,
    OrderView,
    can_change_address,
    locked_customer_order,
    normalize_order_number,
    order_view,
)
from bot.shop.words import FILLER

MAX_ITEM_QUANTITY = 10  # per product in one order: more is a business order, for a person
MAX_REQUEST_CHARS = 300  # one change is a sentence or two; a longer text is not read as one (nor searched for)


class EditKind(str, Enum):
    ADD = "add"
    REMOVE = "remove"
    SET_QUANTITY = "set_quantity"


@dataclass(frozen=True)
class ItemEdit:
    """One change to an order's items. `sku` names a line of the order (remove, set_quantity); `query` the
    product to add, in the customer's words; `quantity` is the new quantity, or how many to add."""

    kind: EditKind
    quantity: int = 1
    sku: str | None = None
    query: str | None = None


class EditDecision(str, Enum):
    CHANGED = "changed"
    NOT_UNDERSTOOD = "not_understood"  # no single edit could be read from the words
    NO_SUCH_PRODUCT = "no_such_product"  # nothing in the shop is called that
    SEVERAL_PRODUCTS = "several_products"  # several products are called that: the customer picks one
    LAST_ITEM = "last_item"  # removing it would empty the order: that is a cancellation
    TOO_MANY = "too_many"  # over MAX_ITEM_QUANTITY
    UNCHANGED = "unchanged"  # the order already is that way
    # The order itself cannot change (the same line as a new address: not once it has left the warehouse).
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CLOSED = "closed"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class EditResult:
    decision: EditDecision
    order: OrderView | None
    edit: ItemEdit | None = None
    previous_total: Decimal | None = None
    product_name: str | None = None  # the product the edit was about
    sku: str | None = None
    options: tuple[ProductView, ...] = ()  # SEVERAL_PRODUCTS: the ones it could be

    @property
    def changed(self) -> bool:
        return self.decision is EditDecision.CHANGED


def can_change_items(order: object) -> tuple[bool, EditDecision]:
    """An order's items can change while its address can: until it leaves the warehouse."""
    allowed, decision = can_change_address(order)
    if decision is AddressDecision.CHANGEABLE:
        return True, EditDecision.CHANGED
    return allowed, EditDecision(decision.value)


# ----------------------------------------------------------------------------------------------------------------
# Reading the customer's words
# ----------------------------------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "zero": 0,
    "none": 0,
    "a": 1,
    "an": 1,
    "single": 1,
}
_NUMBER = r"(\d{1,3}|zero|one|two|three|four|five|six|seven|eight|nine|ten)"
_ORDER_NUMBER = re.compile(r"\btd[\s-]?\d{6}\b")
_CORRECTION = re.compile(r"\b(?:scrap|forget|ignore|cancel)\s+that\b|\bno\s+wait\b|\bi\s+mean(?:t)?\b")
_REMOVE = re.compile(
    r"\b(?:remove|delete|drop|take\s+(?:\w+\s+){0,4}?(?:off|out)|get\s+rid\s+of|(?:do\s*n[o']?t|dont|no\s+longer)"
    r"\s+(?:need|want)|without|cancel\s+(?:the|one|my)\b|scrap)"
)
_ADD = re.compile(
    r"\b(?:add(?:ed)?|ad|also\s+(?:want|need|get|order)|plus|throw|stick|chuck|put|include|another|extra|more)\b"
)
_A_KIND = re.compile(r"^\W*(?:(?:ok|okay|um+|er+|yes|yeah)\W+)?an?\s+\w+")  # "a charger", "ok a phone case"
# "add 2 cables", "i want 3 screen protectors", "2 of the cables": the count after the verb or first ("add
# airpods pro 2" adds one; "128 gb" is no count).
_ADD_COUNT = re.compile(
    rf"\b(?:add|plus|include|get|want|need|order)\s+{_NUMBER}\b|^\W*{_NUMBER}\b(?!\s*(?:gb|tb|mm|m|w)\b)"
)
_MORE = re.compile(rf"\b(?:{_NUMBER}|another|an?)\s+(?:more|extra)\b|\banother\b|\bextra\b")
# "3 not 2", "from 5 to 3", "to 1", "make it 2", "just 1", "only 2", "need 3": the number that is the new quantity.
_TARGET = [
    re.compile(rf"\b{_NUMBER}\s+(?:\w+\s+){{0,4}}?(?:not|instead\s+of|rather\s+than)\s+{_NUMBER}\b"),
    re.compile(rf"\bfrom\s+{_NUMBER}\s+(?:\w+\s+){{0,3}}?to\s+{_NUMBER}\b"),
    re.compile(rf"\b(?:to|make\s+(?:it|that|them)|just|only|need|want|have)\s+{_NUMBER}\b"),
    # a lone number, but not "one" ("the anker one" is a product, not a quantity)
    re.compile(r"\b(\d{1,3}|zero|two|three|four|five|six|seven|eight|nine|ten)\b"),
]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text)


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def _line_scores(words: Sequence[str], lines: Sequence[OrderLineView]) -> tuple[list[int], set[str], bool]:
    """How well the words name each line (a word of its name 2, the start of one 1, its category 2), the words
    that name no line at all, and whether the lines were named only by kind ("charger", not "anker")."""
    scores, unmatched = [], set(words)
    for line in lines:
        tokens = [_singular(t) for t in _words(line.product_name.lower())]
        score = 0
        for word in words:
            if word in tokens or (line.category and normalize_category(word) == line.category):
                score += 2
            elif len(word) >= 3 and any(t.startswith(word) for t in tokens):
                score += 1
            else:
                continue
            unmatched.discard(word)
        scores.append(score)
    matched = set(words) - unmatched
    return scores, unmatched, bool(matched) and all(normalize_category(w) for w in matched)


def _without_name_digits(text: str, lines: Sequence[OrderLineView]) -> str:
    """The text without the digits that are part of a product's name where they follow its word ("iphone 15",
    "tour pro 2"), so they are not read as quantities; a count said elsewhere ("make it 2 of the tour pro 2") stays."""
    for line in lines:
        tokens = _words(line.product_name.lower())
        for before, token in zip(tokens, tokens[1:]):
            if token.isdigit():
                text = re.sub(rf"\b{re.escape(before)}\s+{token}\b", before, text)
    return text


def _quantity_in(text: str) -> int | None:
    """The new quantity the words give: "3 not 2", "from 5 to 3", "make it 2", "just 1", or a lone number."""
    for index, pattern in enumerate(_TARGET):
        match = pattern.search(text)
        if match:
            return _number(match.group(2 if index == 1 else 1))
    return None


def read_edit(text: str | None, lines: Sequence[OrderLineView], recent: str | None = None) -> ItemEdit | None:
    """The edit the customer typed, read against the order's lines; None when no single edit is clear (the bot
    then asks). Digits that belong to a product's name ("iPhone 15") are not quantities. `recent` is the SKU of
    the product changed last in this conversation: "actually i only need one" is about it."""
    if not text or not text.strip() or not lines or len(text) > MAX_REQUEST_CHARS:
        return None
    lowered = _ORDER_NUMBER.sub(" ", text.lower().replace("\u2019", "'"))
    # "a charger. nah actually scrap that, a phone case": what follows the last correction is the request
    corrected = _CORRECTION.split(lowered)[-1]
    if _words(corrected):
        lowered = corrected
    counting = _without_name_digits(lowered, lines)
    words = [_singular(w) for w in _words(lowered) if w not in FILLER and not w.isdigit() and w not in _NUMBER_WORDS]
    scores, unmatched, only_kinds = _line_scores(words, lines)
    best = max(scores)
    named = lines[scores.index(best)] if best > 0 and scores.count(best) == 1 else None
    # A kind of product that is not in the order ("the cable", when it holds a charger) means another product.
    other_kind = any(normalize_category(word) for word in unmatched)
    # An order of one product: "make it 2" or "remove it" is about that product, unless other words name
    # something else ("the anker one").
    unnamed = None
    if not unmatched:
        unnamed = lines[0] if len(lines) == 1 else next((ln for ln in lines if ln.sku == recent), None)
    line = None if other_kind else named or unnamed

    if _REMOVE.search(lowered):
        if line is None:
            return None
        part = re.search(rf"\b{_NUMBER}\s+of\b", counting)  # "remove one of the cases": fewer, not none
        if part and 0 < _number(part.group(1)) < line.quantity:
            return ItemEdit(EditKind.SET_QUANTITY, line.quantity - _number(part.group(1)), sku=line.sku)
        return ItemEdit(EditKind.REMOVE, 0, sku=line.sku)
    more = _MORE.search(counting)
    if more and line is not None and not unmatched:  # "one more", "another charger": of something in the order
        return ItemEdit(
            EditKind.SET_QUANTITY, line.quantity + (_number(more.group(1)) if more.group(1) else 1), sku=line.sku
        )
    # "add a charger", or just "a charger" when asked what to change: a product that is not in the order yet.
    # A kind the order already holds is another product of that kind ("another charger" is one more of it).
    asks_to_add = bool(_ADD.search(lowered)) or bool(
        _A_KIND.search(lowered) and any(normalize_category(w) for w in words)
    )
    if (asks_to_add or more or other_kind) and (unmatched or (only_kinds and asks_to_add and not more)):
        count = _ADD_COUNT.search(lowered)
        how_many, spoken = 1, lowered
        if count:  # the product's words keep their digits ("Pixel 8 (2 pack)"), not the count ("add 2 ...")
            group = 1 if count.group(1) else 2
            how_many, spoken = _number(count.group(group)), lowered[: count.start(group)] + lowered[count.end(group) :]
        query = " ".join(_singular(w) for w in _words(spoken) if w not in FILLER and w not in _NUMBER_WORDS)
        return ItemEdit(EditKind.ADD, how_many, query=query)
    quantity = _quantity_in(counting)
    if quantity is not None and line is not None:
        return ItemEdit(EditKind.SET_QUANTITY, quantity, sku=line.sku)
    return None


_ORDINALS = {"first": 0, "1st": 0, "top": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2}


def choice_meant(text: str | None, options: Sequence[ProductView]) -> ProductView | None:
    """Which of the products the bot listed the customer picked by position or price ("the first one", "2nd",
    "the last one", "the cheapest"), or None."""
    words = _words((text or "").lower())
    for word in words:
        if word in _ORDINALS and _ORDINALS[word] < len(options):
            return options[_ORDINALS[word]]
    if not options:
        return None
    if "last" in words:
        return options[-1]
    if any(w in words for w in ("cheapest", "cheaper", "cheap", "cheapo")):
        return min(options, key=lambda p: p.price)
    if any(w in words for w in ("priciest", "dearest")) or "most expensive" in " ".join(words):
        return max(options, key=lambda p: p.price)
    return None


# ----------------------------------------------------------------------------------------------------------------
# Applying an edit
# ----------------------------------------------------------------------------------------------------------------


def edit_order(
    session: Session,
    customer_external_id: str | None,
    order_number: str,
    text: str | None,
    now: datetime | None = None,
    dry_run: bool = False,
    recent: str | None = None,
) -> EditResult:
    """Apply the edit the customer typed to their order, if the shop's rules allow it; the caller commits.
    With `dry_run`, only say what would happen (CHANGED: it would change), so a question can be asked again.
    `recent`: the SKU changed last in this conversation (see `read_edit`).

    The order's row is locked, like a cancellation, so that the change cannot race with dispatch. Prices are
    today's for an added product and unchanged for what was already ordered; the total follows the lines.
    """
    today = (now or utcnow()).date()
    order = locked_customer_order(session, customer_external_id, normalize_order_number(order_number))
    if order is None:
        return EditResult(EditDecision.NOT_FOUND, None)
    view = order_view(order, today)
    allowed, decision = can_change_items(order)
    if not allowed:
        return EditResult(decision, view)
    edit = read_edit(text, view.lines, recent)
    if edit is None:
        return EditResult(EditDecision.NOT_UNDERSTOOD, view)
    by_sku = {line.product.sku: line for line in order.lines}

    if edit.kind is EditKind.ADD:
        found = products_named(session, edit.query or "")
        if not found:
            # "I can't find 'yo'" would be silly: a name the shop lacks has a word of some length
            named_something = any(len(w) >= 4 for w in _words(edit.query or ""))
            return EditResult(
                EditDecision.NO_SUCH_PRODUCT if named_something else EditDecision.NOT_UNDERSTOOD, view, edit
            )
        if len(found) > 1:
            return EditResult(EditDecision.SEVERAL_PRODUCTS, view, edit, options=tuple(found))
        product = found[0]
        line = by_sku.get(product.sku)
        name, sku, quantity = product.name, product.sku, edit.quantity + (line.quantity if line else 0)
    else:
        assert edit.sku is not None, "a removal or a new quantity names the order's line (read_edit sets it)"
        line = by_sku[edit.sku]
        name, sku, quantity = line.product.name, edit.sku, edit.quantity
    if quantity > MAX_ITEM_QUANTITY:
        return EditResult(EditDecision.TOO_MANY, view, edit, product_name=name)
    if line is not None and quantity == line.quantity:
        return EditResult(EditDecision.UNCHANGED, view, edit, product_name=name)
    if quantity == 0 and len(order.lines) == 1:
        return EditResult(EditDecision.LAST_ITEM, view, edit, product_name=name)
    if dry_run:
        return EditResult(EditDecision.CHANGED, view, edit, view.total, name, sku)

    if line is None:
        row = session.execute(select(Product).where(Product.sku == product.sku)).scalar_one()
        order.lines.append(OrderLine(product=row, quantity=quantity, unit_price=row.price))
    elif quantity == 0:
        order.lines.remove(line)  # delete-orphan: the row goes with it
    else:
        line.quantity = quantity
    order.total = sum((Decimal(ln.unit_price) * ln.quantity for ln in order.lines), Decimal("0.00"))
    session.flush()
    return EditResult(EditDecision.CHANGED, order_view(order, today), edit, view.total, name, sku)
