"""Actions run for real: rasa-sdk trackers in, a shop database on both backends behind them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.db.models import OPEN_ORDER_STATUSES, Customer, Order
from bot.db.session import dispose_engine, session_scope
from bot.identity import sign_customer
from bot.settings import get_settings
from bot.shop.seed import seed_shop


@pytest.fixture(autouse=True)
def private_models_dir(tmp_path_factory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Actions never see a developer's models/ folder: each test starts with no personalization model."""
    from bot.personalization.engine import default_engine

    path = tmp_path_factory.mktemp("models")
    monkeypatch.setenv("TANDEM_MODELS_DIR", str(path))
    get_settings.cache_clear()
    default_engine.cache_clear()
    yield path
    get_settings.cache_clear()
    default_engine.cache_clear()


@pytest.fixture(scope="session")
def live_shop_db(db_factory) -> str:
    """A shop whose 'today' is the real today, as the action server sees it."""
    url = db_factory.create()
    with session_scope(url) as session:
        seed_shop(session, customers=80, anchor=dt.date.today())
    return url


@pytest.fixture
def shop_url(live_shop_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TANDEM_DATABASE_URL", live_shop_db)
    get_settings.cache_clear()
    yield live_shop_db
    get_settings.cache_clear()


@pytest.fixture
def writable_shop_url(db_factory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = db_factory.create()
    with session_scope(url) as session:
        seed_shop(session, customers=40, anchor=dt.date.today())
    monkeypatch.setenv("TANDEM_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    dispose_engine(url)


@dataclass(frozen=True)
class OrderRef:
    customer: str
    number: str


def find_order(url: str, *, status: str | None = None, late: bool | None = None) -> OrderRef:
    """An order of the seeded shop in the wanted state (the seed guarantees every state exists)."""
    today = dt.date.today()
    with session_scope(url) as session:
        query = select(Order, Customer.external_id).join(Customer).order_by(Order.order_number)
        if status:
            query = query.where(Order.status == status)
        for order, customer in session.execute(query):
            is_late = order.estimated_delivery is not None and order.estimated_delivery < today
            if late is None or late == (is_late and order.status in OPEN_ORDER_STATUSES):
                return OrderRef(customer, order.order_number)
    raise LookupError(f"no order with status={status} late={late}")


def customer_with_orders(url: str, minimum: int) -> str:
    with session_scope(url) as session:
        for customer in session.execute(select(Customer).order_by(Customer.external_id)).scalars():
            if len(customer.orders) >= minimum:
                return customer.external_id
    raise LookupError("no such customer")


def tracker(
    text: str = "",
    intent: str = "order_status",
    entities: dict[str, str] | None = None,
    customer: str | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    token: str | None = None,
) -> Tracker:
    """A tracker as the action server receives it, for a message signed for `customer`."""
    metadata = {}
    if token is not None:
        metadata["customer_token"] = token
    elif customer is not None:
        metadata["customer_token"] = sign_customer(customer)
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        "metadata": metadata,
    }
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata}
    return Tracker(
        sender_id="test-conversation",
        slots=slots or {},
        latest_message=latest,
        events=(events or []) + [user_event],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def bot_said(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the dispatcher sent, as the bot events Rasa stores in the tracker (so the offers they made count)."""
    return [
        {
            "event": "bot",
            "text": m.get("text"),
            "data": {"buttons": m.get("buttons") or None, "custom": m.get("custom") or None},
        }
        for m in messages
    ]


def run_action(action: Any, tr: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Returns (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tr, {})
    return dispatcher.messages, events
