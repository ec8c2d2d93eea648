"""Plays the conversation-quality suite through a running stack and judges each outcome (tests/quality/README.md).

A conversation is played by a customer of its persona who has not been used before in the run, so one
conversation's issues, handoffs and cancellations never leak into another's. Outcomes are read from the
shop's database and from the bot's replies, never from the bot's own idea of how it went.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import (
    OPEN_JOURNEY_STATES,
    Customer,
    CustomerDevice,
    CustomerPlan,
    Feedback,
    Handoff,
    Journey,
    JourneyCsat,
    JourneyFollowUp,
    MarketingPreference,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
    RecommendationExclusion,
    SurveyAsk,
    utcnow,
)
from bot.db.session import session_scope
from bot.domain_files import load_domain
from bot.identity import sign_customer

FOLDER = Path(__file__).resolve().parent / "conversations"
DOMAIN = Path(__file__).resolve().parents[2] / "domain"

# What no customer should ever see.
INTERNAL = re.compile(r"\butter_\w+|\baction_\w+|EXTERNAL:|/[a-z_]+\{|Traceback", re.IGNORECASE)
# Words that promise the customer something later: a follow-up record (or a person) must back them.
PROMISE = re.compile(
    r"get back to you|let you know|check back|check (?:in )?with you|follow(?:ing)? up with you|be in touch|"
    r"(?:i|we)(?:'ll| will) (?:message|contact|email|call|text) you",
    re.IGNORECASE,
)
# The replies that say the bot did not understand (read from the domain, so a reworded one still counts).
NOT_UNDERSTOOD_RESPONSES = ("utter_default", "utter_out_of_scope", "utter_ask_rephrase")
DEVICE_KINDS = {"phones": "phone", "laptops": "laptop", "tablets": "tablet", "smartwatches": "watch"}
OPEN_ORDER = ("placed", "processing", "shipped", "out_for_delivery")
# What `expect` may check (tests/quality/README.md says what each means).
CHECKS = (
    "journey",
    "handoff",
    "csat",
    "cancelled",
    "not_cancelled",
    "follow_up",
    "says",
    "never_says",
    "suggests",
    "understood",
    "address",
    "address_unchanged",
    "unsubscribed",
    "feedback",
)


@dataclass(frozen=True)
class Conversation:
    id: str
    persona: str
    turns: tuple[str, ...]
    expect: Mapping[str, Any]
    turn_expect: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class Actor:
    """Who plays a conversation: the signed-in customer (None for a visitor) and the persona's placeholders."""

    customer: str | None
    values: Mapping[str, str]
    cancelled_before: frozenset[str] = frozenset()  # their orders already cancelled when the conversation began
    addresses: Mapping[str, str] = field(default_factory=dict)  # each order's delivery address when it began

    def fill(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(self.values.get(m.group(1), m.group(0))), text)


@dataclass
class Outcome:
    conversation: Conversation
    customer: str | None
    sender: str
    turns: list[str] = field(default_factory=list)
    replies: list[list[dict[str, Any]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def transcript(self) -> str:
        lines = []
        for said, replies in zip(self.turns, self.replies):
            lines.append(f"  customer: {said[:200]}")
            for reply in replies:
                text = reply_text(reply)
                lines.append(f"  bot:      {text[:300]}")
        return "\n".join(lines)


def load(folder: Path = FOLDER) -> list[Conversation]:
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.yml")):
        for raw in (yaml.safe_load(path.read_text()) or {}).get("conversations") or []:
            if raw["id"] in seen:
                raise ValueError(f"{path.name}: conversation id {raw['id']!r} is used twice")
            seen.add(raw["id"])
            conversations.append(
                Conversation(
                    id=raw["id"],
                    persona=raw["persona"],
                    turns=tuple(str(t) for t in raw["turns"]),
                    expect=raw.get("expect") or {},
                    turn_expect={int(k): v for k, v in (raw.get("turn_expect") or {}).items()},
                    source=path.name,
                )
            )
    return conversations


def reply_text(reply: Mapping[str, Any]) -> str:
    parts = [str(reply.get("text") or "")]
    custom = reply.get("custom")
    if isinstance(custom, Mapping) and custom.get("question"):
        parts.append(str(custom["question"]))
    return " ".join(p for p in parts if p)


# --- personas -----------------------------------------------------------------------------------------------


def _first_item(session: Session, order_id: int) -> str:
    return session.execute(
        select(Product.name)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.id)
        .limit(1)
    ).scalar_one()


def _order_persona(*conditions: Any) -> Callable[[Session, set], Actor | None]:
    def pick(session: Session, used: set) -> Actor | None:
        row = session.execute(
            select(Customer.external_id, Order.id, Order.order_number, Order.carrier)
            .join(Order)
            .where(*conditions, Customer.external_id.not_in(used or {""}))
            .order_by(Customer.external_id, Order.placed_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        customer, order_id, number, carrier = row
        return Actor(customer, {"order": number, "item": _first_item(session, order_id), "carrier": carrier or ""})

    return pick


def _plan_persona(category: str) -> Callable[[Session, set], Actor | None]:
    def pick(session: Session, used: set) -> Actor | None:
        row = session.execute(
            select(Customer.external_id, Product.name, CustomerPlan.monthly_price)
            .join(CustomerPlan, CustomerPlan.customer_id == Customer.id)
            .join(Product, Product.id == CustomerPlan.product_id)
            .where(
                Product.category == category, CustomerPlan.status == "active", Customer.external_id.not_in(used or {""})
            )
            .order_by(Customer.external_id)
            .limit(1)
        ).first()
        return None if row is None else Actor(row[0], {"plan": row[1], "price": f"{row[2]:.2f}"})

    return pick


def _device_persona(*conditions: Any) -> Callable[[Session, set], Actor | None]:
    def pick(session: Session, used: set) -> Actor | None:
        row = session.execute(
            select(Customer.external_id, Product)
            .join(CustomerDevice, CustomerDevice.customer_id == Customer.id)
            .join(Product, Product.id == CustomerDevice.product_id)
            .where(*conditions, Customer.external_id.not_in(used or {""}))
            .order_by(Customer.external_id, CustomerDevice.acquired_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        customer, product = row
        return Actor(
            customer,
            {
                "device": (product.attributes or {}).get("model") or product.name,
                "brand": product.brand,
                "device_kind": DEVICE_KINDS.get(product.category, "device"),
            },
        )

    return pick


def _two_orders(session: Session, used: set) -> Actor | None:
    since = dt.datetime.now() - dt.timedelta(days=60)
    customer = session.execute(
        select(Customer.external_id)
        .join(Order)
        .where(Order.placed_at >= since, Customer.external_id.not_in(used or {""}))
        .group_by(Customer.external_id)
        .having(func.count(Order.id) >= 2)
        .order_by(Customer.external_id)
        .limit(1)
    ).scalar_one_or_none()
    if customer is None:
        return None
    orders = session.execute(
        select(Order.id, Order.order_number)
        .join(Customer)
        .where(Customer.external_id == customer)
        .order_by(Order.placed_at.desc())
        .limit(2)
    ).all()
    return Actor(
        customer,
        {
            "order": orders[0][1],
            "item": _first_item(session, orders[0][0]),
            "order2": orders[1][1],
            "item2": _first_item(session, orders[1][0]),
        },
    )


def _any(session: Session, used: set) -> Actor | None:
    actor = _order_persona()(session, used)
    if actor is None:
        return None
    name = session.execute(select(Customer.name).where(Customer.external_id == actor.customer)).scalar_one()
    return Actor(actor.customer, dict(actor.values, name=name.split()[0]))


def _personas() -> dict[str, Callable[[Session, set], Actor | None]]:
    today = dt.date.today()
    now = dt.datetime.now()
    on_time = Order.estimated_delivery >= today
    devices = Product.category.in_(tuple(DEVICE_KINDS))
    return {
        "any": _any,
        "visitor": lambda session, used: Actor(None, {}),
        "late_order": _order_persona(Order.status.in_(OPEN_ORDER), Order.estimated_delivery < today),
        "in_transit": _order_persona(Order.status.in_(("shipped", "out_for_delivery")), on_time),
        "just_placed": _order_persona(Order.status.in_(("placed", "processing")), on_time),
        "shipped": _order_persona(Order.status == "shipped", on_time),
        "delivered": _order_persona(Order.status == "delivered", Order.delivered_at >= now - dt.timedelta(days=21)),
        "two_orders": _two_orders,
        "home_internet": _plan_persona("home_internet"),
        "mobile_plan": _plan_persona("mobile_plans"),
        "phone_owner": _device_persona(Product.category == "phones"),
        "new_device": _device_persona(devices, CustomerDevice.acquired_at >= now - dt.timedelta(days=180)),
        "old_device": _device_persona(devices, CustomerDevice.acquired_at < now - dt.timedelta(days=425)),
    }


PERSONAS = tuple(_personas())


class Casting:
    """Hands each conversation a customer of its persona that no other conversation is playing.

    A customer nobody has played yet comes first; when a persona runs out, one whose conversation is over is
    played again after its issues, handoffs and "not interested" marks are removed and its orders are put back
    as they were (a refunded late order is late again, a replacement order is gone), so nothing carries over.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.playing: set[str] = set()
        self.played: list[str] = []  # finished, oldest first
        self._orders: dict[str, dict[int, _OrderAsCast]] = {}  # as first cast
        self._lock = threading.Lock()
        self._pickers = _personas()

    def cast(self, persona: str) -> Actor:
        if persona not in self._pickers:
            raise ValueError(f"unknown persona {persona!r} (one of {', '.join(self._pickers)})")
        with self._lock, session_scope(self.database_url) as session:
            pick = self._pickers[persona]
            actor = pick(session, self.playing | set(self.played))
            if actor is None:
                for customer in list(self.played):  # the longest finished first
                    _forget(session, customer, self._orders.get(customer, {}))
                    actor = pick(session, self.playing | (set(self.played) - {customer}))
                    if actor is not None:
                        self.played.remove(actor.customer)
                        break
            if actor is None:
                raise LookupError(f"no customer free for persona {persona!r}: seed a larger shop")
            if actor.customer is None:
                other = session.execute(select(Order.order_number).order_by(Order.order_number).limit(1)).scalar_one()
                return Actor(None, {"other_order": other})
            self.playing.add(actor.customer)
            self._orders.setdefault(
                actor.customer,
                {
                    order_id: _OrderAsCast(status, cancelled_at, address)
                    for order_id, status, cancelled_at, address in session.execute(
                        select(Order.id, Order.status, Order.cancelled_at, Order.shipping_address)
                        .join(Customer)
                        .where(Customer.external_id == actor.customer)
                    )
                },
            )
            other = session.execute(
                select(Order.order_number)
                .join(Customer)
                .where(Customer.external_id != actor.customer)
                .order_by(Order.order_number)
                .limit(1)
            ).scalar_one()
            cancelled = session.execute(
                select(Order.order_number)
                .join(Customer)
                .where(Customer.external_id == actor.customer, Order.status == "cancelled")
            ).scalars()
            addresses = dict(
                session.execute(
                    select(Order.order_number, Order.shipping_address)
                    .join(Customer)
                    .where(Customer.external_id == actor.customer)
                ).all()
            )
            return Actor(actor.customer, dict(actor.values, other_order=other), frozenset(cancelled), addresses)

    def release(self, actor: Actor) -> None:
        if actor.customer is not None:
            with self._lock:
                self.playing.discard(actor.customer)
                self.played.append(actor.customer)


@dataclass(frozen=True)
class _OrderAsCast:
    status: str
    cancelled_at: dt.datetime | None
    shipping_address: str


def _forget(session: Session, customer: str, orders: Mapping[int, _OrderAsCast]) -> None:
    """What an earlier conversation left on a customer who plays again: issues, handoffs, "not interested",
    unsubscribing, feedback, surveys asked (their caps would silence the next), cancellations, new addresses,
    refunds and replacement orders (`orders`: each order as first cast)."""
    customer_id = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
    for model in (Journey, Handoff, RecommendationExclusion, MarketingPreference, Feedback, SurveyAsk):
        session.execute(delete(model).where(model.customer_id == customer_id))
    for order in session.execute(select(Order).where(Order.customer_id == customer_id)).scalars():
        if order.id not in orders:
            session.delete(order)
        else:
            was = orders[order.id]
            order.status, order.cancelled_at, order.shipping_address = (
                was.status,
                was.cancelled_at,
                was.shipping_address,
            )
    session.flush()


# --- playing ------------------------------------------------------------------------------------------------


def send(url: str, sender: str, text: str, token: str | None) -> tuple[int, Any]:
    body = json.dumps(
        {"sender": sender, "message": text, "metadata": {"customer_token": token} if token else {}}
    ).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def play(url: str, conversation: Conversation, actor: Actor, sender: str) -> Outcome:
    outcome = Outcome(conversation, actor.customer, sender)
    token = sign_customer(actor.customer) if actor.customer else None
    for index, turn in enumerate(conversation.turns):
        text = actor.fill(turn)
        status, replies = send(url, sender, text, token)
        outcome.turns.append(text)
        if status != 200 or not isinstance(replies, list):
            outcome.replies.append([])
            outcome.failures.append(f"turn {index}: HTTP {status}: {str(replies)[:200]}")
            break
        outcome.replies.append(replies)
    return outcome


# --- judging ------------------------------------------------------------------------------------------------


def _not_understood_texts(domain: Path = DOMAIN) -> tuple[str, ...]:
    responses = load_domain(domain).get("responses") or {}
    return tuple(v["text"] for name in NOT_UNDERSTOOD_RESPONSES for v in responses.get(name) or [] if v.get("text"))


class Judge:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.not_understood = _not_understood_texts()

    def judge(self, outcome: Outcome, actor: Actor, started: dt.datetime) -> None:
        texts = [reply_text(r) for replies in outcome.replies for r in replies]
        failures = outcome.failures
        for text in texts:
            if INTERNAL.search(text):
                failures.append(f"shows an internal name: {text[:120]!r}")
        with session_scope(self.database_url) as session:
            facts = _Facts(session, actor.customer, outcome.sender, started)
            promised = [t for t in texts if PROMISE.search(t)]
            if promised and not (facts.follow_ups() or facts.handoffs()):
                failures.append(f"promises something later with nothing scheduled: {promised[0][:120]!r}")
            for check, wanted in outcome.conversation.expect.items():
                failures.extend(self._check(check, wanted, facts, actor, texts, outcome))
        for index, checks in outcome.conversation.turn_expect.items():
            if index >= len(outcome.replies):
                failures.append(f"turn {index}: never reached")
                continue
            turn_texts = [reply_text(r) for r in outcome.replies[index]]
            for check, wanted in checks.items():
                failures.extend(f"turn {index}: {f}" for f in self._check_texts(check, wanted, actor, turn_texts))

    def _check_texts(self, check: str, wanted: Any, actor: Actor, texts: Sequence[str]) -> list[str]:
        patterns = [actor.fill(p) for p in (wanted if isinstance(wanted, list) else [wanted])]
        if check == "says":
            return [f"never says /{p}/" for p in patterns if not any(re.search(p, t, re.IGNORECASE) for t in texts)]
        if check == "never_says":
            return [f"says /{p}/: {t[:120]!r}" for p in patterns for t in texts if re.search(p, t, re.IGNORECASE)][:1]
        return [f"unknown check {check!r}"]

    def _check(
        self, check: str, wanted: Any, facts: _Facts, actor: Actor, texts: Sequence[str], outcome: Outcome
    ) -> list[str]:
        if check in ("says", "never_says"):
            return self._check_texts(check, wanted, actor, texts)
        if check == "journey":
            return facts.check_journey(wanted, actor)
        if check == "handoff":
            reasons = [h.reason for h in facts.handoffs()]
            if isinstance(wanted, str):  # a person wanted for this reason (complaint, account_closure, asked, ...)
                return [] if wanted in reasons else [f"handoff: expected one for {wanted}, got {reasons or 'none'}"]
            return [] if bool(reasons) == bool(wanted) else [f"handoff: expected {bool(wanted)}, got {reasons}"]
        if check == "address":
            number = actor.fill(str(wanted["order"]))
            address = facts.order_address(number) or ""
            pattern = actor.fill(str(wanted["has"]))
            return [] if re.search(pattern, address, re.IGNORECASE) else [f"address of {number} is {address!r}"]
        if check == "address_unchanged":
            number = actor.fill(str(wanted))
            address = facts.order_address(number)
            was = actor.addresses.get(number)
            return [] if address == was else [f"address of {number} changed from {was!r} to {address!r}"]
        if check == "unsubscribed":
            has = facts.unsubscribed()
            return [] if has == bool(wanted) else [f"unsubscribed: expected {bool(wanted)}, got {has}"]
        if check == "feedback":
            topics = facts.feedback_topics()
            if isinstance(wanted, str):  # "product" or "service"
                return [] if wanted in topics else [f"feedback: expected a {wanted} one, stored {topics or 'none'}"]
            return [] if bool(topics) == bool(wanted) else [f"feedback: expected {bool(wanted)}, stored {topics}"]
        if check == "csat":
            scores = facts.csat_scores()
            return [] if int(wanted) in scores else [f"csat: expected {wanted}, stored {scores or 'none'}"]
        if check in ("cancelled", "not_cancelled"):
            number = actor.fill(str(wanted))
            status = facts.order_status(number)
            # "not cancelled": the conversation did not cancel it (one cancelled before it began stays cancelled)
            if check == "cancelled":
                ok = status == "cancelled"
            else:
                ok = status != "cancelled" or number in actor.cancelled_before
            return [] if ok else [f"{check} {actor.fill(str(wanted))}: status is {status}"]
        if check == "follow_up":
            has = bool(facts.follow_ups())
            return [] if has == bool(wanted) else [f"follow_up: expected {bool(wanted)}, got {has}"]
        if check == "suggests":
            return facts.check_suggestions(wanted, actor, outcome.replies)
        if check == "understood":
            missed = [t for t in texts if t in self.not_understood]
            return [f"did not understand: {missed[0][:80]!r}"] if missed and wanted else []
        return [f"unknown check {check!r}"]


class _Facts:
    """What the database says happened to one customer and conversation since the conversation started."""

    def __init__(self, session: Session, customer: str | None, sender: str, started: dt.datetime) -> None:
        self.session = session
        self.sender = sender
        self.started = started
        self.customer_pk = (
            None
            if customer is None
            else session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        )

    def journeys(self) -> list[Journey]:
        if self.customer_pk is None:
            return []
        return list(
            self.session.execute(
                select(Journey)
                .where(
                    Journey.customer_id == self.customer_pk,
                    or_(Journey.opened_at >= self.started, Journey.updated_at >= self.started),
                )
                .order_by(Journey.id)
            ).scalars()
        )

    def check_journey(self, wanted: Any, actor: Actor) -> list[str]:
        journeys = self.journeys()
        seen = ", ".join(f"{j.workflow}:{j.state}" for j in journeys) or "none"
        if wanted in (None, "none", False):
            return [f"journey: expected none, opened {seen}"] if journeys else []
        workflow, state = wanted.get("workflow"), wanted.get("state", "open")
        order = actor.fill(str(wanted["order"])) if wanted.get("order") else None
        for journey in reversed(journeys):
            if workflow and journey.workflow != workflow:
                continue
            if state == "open" and journey.state not in OPEN_JOURNEY_STATES:
                continue
            if state != "open" and journey.state != state:
                continue
            if order and order not in journey.problem_key and order not in json.dumps(journey.context or {}):
                continue
            return []
        return [f"journey: expected {workflow}:{state}{' for ' + order if order else ''}, got {seen}"]

    def handoffs(self) -> list[Handoff]:
        return list(self.session.execute(select(Handoff).where(Handoff.conversation_id == self.sender)).scalars())

    def follow_ups(self) -> list[JourneyFollowUp]:
        ids = [j.id for j in self.journeys()]
        if not ids:
            return []
        return list(self.session.execute(select(JourneyFollowUp).where(JourneyFollowUp.journey_id.in_(ids))).scalars())

    def csat_scores(self) -> list[int]:
        ids = [j.id for j in self.journeys()]
        if not ids:
            return []
        return list(self.session.execute(select(JourneyCsat.score).where(JourneyCsat.journey_id.in_(ids))).scalars())

    def order_status(self, number: str) -> str | None:
        return self.session.execute(select(Order.status).where(Order.order_number == number)).scalar_one_or_none()

    def order_address(self, number: str) -> str | None:
        return self.session.execute(
            select(Order.shipping_address).where(Order.order_number == number)
        ).scalar_one_or_none()

    def unsubscribed(self) -> bool:
        if self.customer_pk is None:
            return False
        subscribed = self.session.execute(
            select(MarketingPreference.subscribed).where(MarketingPreference.customer_id == self.customer_pk)
        ).scalar_one_or_none()
        return subscribed is False

    def feedback_topics(self) -> list[str]:
        return list(
            self.session.execute(select(Feedback.topic).where(Feedback.conversation_id == self.sender)).scalars()
        )

    def check_suggestions(
        self, wanted: Mapping[str, Any], actor: Actor, replies: list[list[dict[str, Any]]]
    ) -> list[str]:
        suggested = [
            [
                p.get("sku")
                for r in turn
                if isinstance(r.get("custom"), Mapping)
                for p in r["custom"].get("products") or []
                if isinstance(p, Mapping)
            ]
            for turn in replies
        ]
        # The last suggestions: a customer who narrows down ("show me chargers") judges what they end with.
        skus = next((s for s in reversed(suggested) if s), [])
        if not skus:
            return ["suggests: nothing was suggested"]
        products = list(self.session.execute(select(Product).where(Product.sku.in_(skus))).scalars())
        failures = []
        kind = actor.fill(str(wanted.get("kind") or "")).casefold()  # "{device_kind}" is the persona's
        for product in products:
            haystack = f"{product.name} {product.category} {(product.attributes or {}).get('type', '')}".casefold()
            if kind and kind not in haystack:
                failures.append(f"suggests {product.name!r}, not a {kind}")
        if wanted.get("fits"):
            model = actor.fill(str(wanted["fits"]))
            devices = select(Product.id).where(Product.attributes["model"].as_string() == model)
            fitting = set(
                self.session.execute(
                    select(ProductCompatibility.product_id).where(
                        ProductCompatibility.compatible_product_id.in_(devices)
                    )
                ).scalars()
            )
            failures += [f"suggests {p.name!r}, which does not fit {model}" for p in products if p.id not in fitting]
        if wanted.get("cheaper_than") is not None:
            limit = float(actor.fill(str(wanted["cheaper_than"])))
            failures += [
                f"suggests {p.name!r} at {p.price}, not under {limit}" for p in products if float(p.price) >= limit
            ]
        return failures


# --- the run ------------------------------------------------------------------------------------------------


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def rate(self) -> float:
        return self.passed / len(self.outcomes) if self.outcomes else 0.0

    def failures(self) -> str:
        out = []
        for o in self.outcomes:
            if not o.passed:
                out.append(f"- {o.conversation.id} ({o.conversation.source}, {o.conversation.persona}, {o.customer}):")
                out.extend(f"    ! {f}" for f in o.failures)
                out.append(o.transcript())
        return "\n".join(out)


def run(
    url: str,
    database_url: str,
    conversations: Iterable[Conversation],
    *,
    workers: int = 4,
    run_id: str = "",
    progress: Callable[[Outcome], None] | None = None,
) -> Report:
    casting, judge = Casting(database_url), Judge(database_url)

    def one(conversation: Conversation) -> Outcome:
        sender = f"quality-{run_id}-{conversation.id}"[:128]
        try:
            actor = casting.cast(conversation.persona)
        except (LookupError, ValueError) as exc:
            outcome = Outcome(conversation, None, sender)
            outcome.failures.append(str(exc))
            return outcome
        started = utcnow().replace(microsecond=0) - dt.timedelta(seconds=1)
        try:
            outcome = play(url, conversation, actor, sender)
            judge.judge(outcome, actor, started)
        finally:
            casting.release(actor)
        if progress:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Report(list(pool.map(one, list(conversations))))
