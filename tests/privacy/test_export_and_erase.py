"""Customers' data rights on SQLite and PostgreSQL: the export holds every section, and after an erasure no
table of the shop database or the tracker store mentions the customer, while everyone else is untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import Handoff, Order, OrderLine, PrivacyErasure, PrivacyRequest
from bot.db.session import session_scope
from bot.personalization import model_store
from bot.privacy import service
from tests.personalization.test_model_store import _bundle
from tests.privacy.conftest import SECRET, World, mentions

SECTIONS = {
    "profile",
    "orders",
    "devices",
    "plans",
    "conversations",
    "journeys",
    "handoffs",
    "insights",
    "behaviour_events",
    "recommendation_impressions",
    "recommendation_exclusions",
    "feedback",
    "surveys",
    "segment",
    "personalization_consent",
    "marketing_preference",
    "privacy_requests",
}


def test_the_export_holds_every_section_including_the_tracker_events(world: World):
    doc = service.export_customer(world.subject.external_id, world.where)

    assert SECTIONS <= set(doc)
    assert doc["profile"]["email"] == world.subject.email
    assert {o["order_number"] for o in doc["orders"]} == set(world.subject.order_numbers)
    assert all(o["lines"] and "sku" in o["lines"][0] for o in doc["orders"])
    assert doc["devices"] and doc["devices"][0]["serial_number"]
    conversations = {c["conversation_id"]: c for c in doc["conversations"]}
    assert set(conversations) == set(world.subject.conversations)  # the bound one and the one on a journey
    texts = [e["event"].get("text") for c in conversations.values() for e in c["events"] if e["type"] == "user"]
    assert f"hi, I'm {world.subject.name}" in texts
    journey = doc["journeys"][0]
    assert journey["steps"] and journey["follow_ups"] and journey["csat"]["score"] == 4
    assert [m["kind"] for m in doc["handoffs"][0]["messages"]] == ["customer", "agent", "note"]
    counted = {c["sender_id"]: [t["text"] for t in c["turns"]] for c in doc["insights"]}  # the analytics' copy
    assert set(counted) == set(world.subject.conversations)
    assert f"hi, I'm {world.subject.name}" in counted[world.subject.conversations[0]]
    assert [e["kind"] for e in doc["behaviour_events"]] == ["view"]
    assert [e["kind"] for e in doc["recommendation_impressions"]] == ["impression"]
    assert doc["feedback"][0]["text"].endswith(world.subject.email)
    surveys = [(s["kind"], s["score"], s["conversation_id"]) for s in doc["surveys"]]
    assert surveys == [("csat", None, world.subject.conversations[1]), ("nps", 9, world.subject.conversations[0])]
    assert doc["segment"]["rfm_segment"] == "loyal"
    assert doc["personalization_consent"]["granted"] is True
    assert doc["marketing_preference"]["subscribed"] is False
    assert [(r["kind"], r["status"]) for r in doc["privacy_requests"]] == [("export", "done"), ("erasure", "pending")]
    json.dumps(doc)  # one JSON document, as the CLI writes it
    assert world.other.email not in json.dumps(doc)


def test_erasure_leaves_no_trace_in_any_table_of_either_store_and_keeps_the_orders_for_the_accounts(world: World):
    subject, other = world.subject, world.other
    with session_scope(world.url) as session:
        revenue = session.execute(select(func.sum(Order.total))).scalar_one()
        lines = session.execute(select(func.count()).select_from(OrderLine)).scalar_one()
    assert mentions(world.url, subject.needles) and mentions(world.tracker.url, subject.needles)  # the scan sees them
    other_before = (mentions(world.url, other.needles), mentions(world.tracker.url, other.needles))

    report = service.erase_customer(subject.external_id, by="dpo@shop", where=world.where)

    assert report.erased_now and report.removed["customers"] == 1
    assert report.removed["tracker events"] == 6  # two conversations: 2 + 1 customer messages, each answered
    assert mentions(world.url, subject.needles) == []
    assert mentions(world.tracker.url, subject.needles) == []
    assert (mentions(world.url, other.needles), mentions(world.tracker.url, other.needles)) == other_before
    assert set(other.conversations) <= world.tracker.senders()
    with session_scope(world.url) as session:
        assert session.execute(select(func.sum(Order.total))).scalar_one() == revenue  # the accounts still add up
        assert session.execute(select(func.count()).select_from(OrderLine)).scalar_one() == lines
        kept = session.execute(select(Order).where(Order.customer_id.is_(None))).scalars().all()
        assert len(kept) == len(subject.order_numbers)
        assert all(o.order_number.startswith("ANON-") and o.shipping_address == "" for o in kept)
        handoff = session.execute(select(Handoff).where(Handoff.customer_id.is_(None))).scalar_one()
        assert handoff.customer_value == Decimal("120.00") and handoff.summary is None  # queue statistics stay
        audit = session.execute(select(PrivacyErasure)).scalar_one()
        kept_requests = session.execute(
            select(PrivacyRequest).where(PrivacyRequest.customer_id.is_(None)).order_by(PrivacyRequest.id)
        ).scalars()
        requests = [(r.kind, r.status, r.handled_by, r.conversation_id, r.reference[:5]) for r in kept_requests]
    # the chat's erasure request is done by this erasure; the references stay, nothing links them to anyone
    assert requests == [("export", "done", "customer", None, "PRIV-"), ("erasure", "done", "dpo@shop", None, "PRIV-")]
    assert audit.requested_by == "dpo@shop" and audit.via == "cli"
    assert audit.subject_hash == service.subject_hash(subject.external_id, SECRET)
    assert audit.removed["customers"] == 1


def test_a_second_erasure_reports_nothing_left_and_an_unknown_id_is_refused(world: World):
    first = service.erase_customer(world.subject.external_id, by="dpo", where=world.where)
    again = service.erase_customer(world.subject.external_id, by="dpo", where=world.where)

    assert not again.erased_now and again.removed == {}
    assert [e.id for e in again.earlier] == [first.audit_id]
    with pytest.raises(service.UnknownCustomer):
        service.export_customer(world.subject.external_id, world.where)
    with pytest.raises(service.UnknownCustomer):
        service.erase_customer("CUST-99999", by="dpo", where=world.where)


def test_the_recommender_bundles_forget_the_customer(world: World):
    models = world.where.models_dir
    assert models is not None
    bundle = _bundle("v1")
    bundle.user_ids = np.array([world.subject.external_id, world.other.external_id], dtype=object)
    model_store.publish(bundle, models)

    report = service.erase_customer(world.subject.external_id, by="dpo", where=world.where)

    assert report.removed["recommender model bundles"] == 1
    reloaded = model_store.load(models)
    assert list(reloaded.user_ids) == ["", world.other.external_id]
    assert (
        reloaded.row_of_user(world.subject.external_id) is None and reloaded.row_of_user(world.other.external_id) == 1
    )


def test_the_cli_exports_to_a_file_and_erases_with_the_audit(world: World, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TANDEM_SECRET_KEY", SECRET)
    out = tmp_path / "export.json"
    common = ["--database-url", world.url, "--tracker-url", world.tracker.url, "--models-dir", str(tmp_path / "m")]
    cid = world.subject.external_id

    assert main(["privacy", "export", cid, "--out", str(out), *common]) == 0
    assert json.loads(out.read_text())["profile"]["external_id"] == cid
    assert main(["privacy", "export", cid, "--out", str(tmp_path / "missing" / "x.json"), *common]) == 2
    assert main(["privacy", "erase", cid, "--by", "Dana (DPO)", *common]) == 0
    assert "erased" in capsys.readouterr().out
    assert main(["privacy", "erase", cid, "--by", "Dana (DPO)", *common]) == 0
    assert "nothing left" in capsys.readouterr().out
    assert main(["privacy", "export", cid, *common]) == 1
    assert "no customer" in capsys.readouterr().err


def test_conversation_events_are_unix_seconds_as_rasa_writes_them(world: World):
    """The retention cut-off compares against Rasa's own timestamps; this pins their unit."""
    doc = service.export_customer(world.subject.external_id, world.where)
    stamps = [e["timestamp"] for c in doc["conversations"] for e in c["events"]]
    now = datetime.now(UTC).timestamp()
    assert stamps and all(now - timedelta(days=4).total_seconds() < t <= now + 60 for t in stamps)
