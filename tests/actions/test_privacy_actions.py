"""Customers' data rights in the chat, run against a real shop database on both backends: a copy is recorded and
offered for download, a deletion is recorded only after the customer's own yes, a visitor is refused, and a
database that is down gets a clear answer."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from actions.privacy import (
    ActionPrivacyErasureAbort,
    ActionPrivacyErasureAsk,
    ActionPrivacyErasureConfirm,
    ActionPrivacyExport,
)
from bot.db.models import Customer, PrivacyRequest
from bot.db.session import session_scope
from bot.settings import get_settings
from tests.actions.conftest import bot_said, customer_with_orders, run_action, tracker


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


def slot(events: list[dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def stored(url: str) -> list[tuple[str, str, str | None, str | None]]:
    """Every privacy request: (kind, status, customer's external id, conversation)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(PrivacyRequest, Customer.external_id)
            .outerjoin(Customer, Customer.id == PrivacyRequest.customer_id)
            .order_by(PrivacyRequest.id)
        ).all()
        return [(r.kind, r.status, external_id, r.conversation_id) for r, external_id in rows]


def asked(customer: str | None) -> list[dict[str, Any]]:
    """The conversation so far: the customer asked for deletion and the bot asked to confirm."""
    messages, events = run_action(
        ActionPrivacyErasureAsk(), tracker("delete all my data", intent="request_data_deletion", customer=customer)
    )
    assert responses(messages) == ["utter_privacy_erasure_confirm"] and slot(events, "privacy_pending") == "erasure"
    return [
        {"event": "user", "text": "delete all my data", "metadata": {}},
        {"event": "action", "name": "action_privacy_erasure_ask"},
        *events,
        *bot_said(messages),
        {"event": "action", "name": "action_listen"},
    ]


def test_a_copy_is_recorded_as_given_and_offered_as_a_download(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    messages, _ = run_action(
        ActionPrivacyExport(), tracker("can i get a copy of my data", intent="request_my_data", customer=customer)
    )

    assert responses(messages) == ["utter_privacy_export_ready"]
    assert messages[0]["custom"] == {"type": "data_export"}
    assert stored(writable_shop_url) == [("export", "done", customer, "test-conversation")]


def test_a_confirmed_deletion_is_recorded_for_a_person_with_its_reference(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    history = asked(customer)
    assert stored(writable_shop_url) == []  # asking records nothing

    messages, events = run_action(
        ActionPrivacyErasureConfirm(),
        tracker(
            "yes go ahead", intent="affirm", customer=customer, slots={"privacy_pending": "erasure"}, events=history
        ),
    )

    assert responses(messages) == ["utter_privacy_erasure_recorded"]
    assert stored(writable_shop_url) == [("erasure", "pending", customer, "test-conversation")]
    with session_scope(writable_shop_url) as session:
        reference = session.execute(select(PrivacyRequest.reference)).scalar_one()
    assert re.fullmatch(r"PRIV-\d{6}", reference) and messages[0]["reference"] == reference
    assert slot(events, "privacy_pending") is None

    again, _ = run_action(  # asking again names the waiting request rather than recording a second
        ActionPrivacyErasureAsk(), tracker("forget me", intent="request_data_deletion", customer=customer)
    )
    assert responses(again) == ["utter_privacy_erasure_already"] and again[0]["reference"] == reference
    assert len(stored(writable_shop_url)) == 1


def test_no_records_nothing(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    history = asked(customer)
    messages, events = run_action(
        ActionPrivacyErasureAbort(),
        tracker("no, keep it", intent="deny", customer=customer, slots={"privacy_pending": "erasure"}, events=history),
    )

    assert responses(messages) == ["utter_privacy_erasure_kept"]
    assert slot(events, "privacy_pending") is None
    assert stored(writable_shop_url) == []


def test_a_yes_after_a_detour_is_not_taken_as_the_confirmation(writable_shop_url):
    customer = customer_with_orders(writable_shop_url, 1)
    history = asked(customer) + [
        {"event": "user", "text": "where is my order?", "metadata": {}},
        {"event": "action", "name": "action_order_status"},
        {"event": "bot", "text": "Your order is on its way."},
        {"event": "action", "name": "action_listen"},
    ]
    messages, _ = run_action(
        ActionPrivacyErasureConfirm(),
        tracker("yes", intent="affirm", customer=customer, slots={"privacy_pending": "erasure"}, events=history),
    )

    assert responses(messages) == ["utter_nothing_to_confirm"]
    assert stored(writable_shop_url) == []


def test_a_visitor_who_is_not_signed_in_is_refused_and_nothing_is_recorded(writable_shop_url):
    for action, intent in (
        (ActionPrivacyExport(), "request_my_data"),
        (ActionPrivacyErasureAsk(), "request_data_deletion"),
        (ActionPrivacyErasureConfirm(), "affirm"),
    ):
        messages, _ = run_action(action, tracker("my data", intent=intent, slots={"privacy_pending": "erasure"}))
        assert responses(messages) == ["utter_privacy_sign_in_needed"]
    forged, _ = run_action(  # an id without a valid signature is no one
        ActionPrivacyExport(), tracker("my data", intent="request_my_data", customer="CUST-00001", token="forged")
    )
    assert responses(forged) == ["utter_privacy_sign_in_needed"]
    assert stored(writable_shop_url) == []


def test_a_database_that_is_down_gets_a_clear_answer(monkeypatch):
    monkeypatch.setenv("TANDEM_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        results = [
            run_action(
                ActionPrivacyExport(), tracker("copy of my data", intent="request_my_data", customer="CUST-00001")
            ),
            run_action(
                ActionPrivacyErasureAsk(), tracker("forget me", intent="request_data_deletion", customer="CUST-00001")
            ),
        ]
    finally:
        get_settings.cache_clear()
    for messages, events in results:
        assert responses(messages) == ["utter_service_unavailable"]
        assert {"event": "slot", "timestamp": None, "name": "flow_failure", "value": "service_unavailable"} in events
