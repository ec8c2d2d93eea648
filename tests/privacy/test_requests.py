"""The privacy requests store on SQLite and PostgreSQL: one pending request of a kind per customer, the admin's
queue oldest first with who asked, done and cancelled exactly once, and an erasure that leaves the request
with its reference but nothing that leads to the customer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Customer, utcnow
from bot.db.session import session_scope
from bot.privacy import requests
from bot.privacy.erasure_store import erase_customer_rows


def _customers(url: str, n: int = 2) -> list[tuple[int, str, str]]:
    with session_scope(url) as session:
        rows = session.execute(select(Customer.id, Customer.external_id, Customer.name).order_by(Customer.id).limit(n))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_request_gets_a_priv_reference_and_asking_again_returns_the_pending_one(fresh_shop_db: str):
    (cid, external_id, name), _ = _customers(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        first = requests.record_request(session, cid, "erasure", "conv-1")
        again = requests.record_request(session, cid, "erasure", "conv-2")
        copy = requests.record_request(session, cid, "export", "conv-1", status="done")

    assert re.fullmatch(r"PRIV-\d{6}", first.reference)
    assert again == first and first.is_pending and first.conversation_id == "conv-1"
    assert (first.customer_external_id, first.customer_name) == (external_id, name)
    assert copy.status == "done" and copy.handled_by == "customer" and copy.handled_at is not None
    assert copy.reference != first.reference


def test_the_queue_holds_pending_requests_oldest_first_with_the_customer(fresh_shop_db: str):
    (a, a_ext, a_name), (b, b_ext, _) = _customers(fresh_shop_db)
    now = utcnow()
    with session_scope(fresh_shop_db) as session:
        later = requests.record_request(session, a, "erasure", "conv-a", now=now)
        earlier = requests.record_request(session, b, "erasure", "conv-b", now=now - timedelta(hours=1))
        requests.record_request(session, a, "export", "conv-a", status="done", now=now - timedelta(days=1))
    with session_scope(fresh_shop_db) as session:
        queue = requests.pending_requests(session)

    assert [r.id for r in queue] == [earlier.id, later.id]
    assert [r.customer_external_id for r in queue] == [b_ext, a_ext] and queue[1].customer_name == a_name


def test_a_request_is_done_or_cancelled_once_and_a_new_one_can_follow(fresh_shop_db: str):
    (cid, _, _), _ = _customers(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        first = requests.record_request(session, cid, "erasure", "conv-1")
        done = requests.mark_done(session, first.id, by="dpo")
        with pytest.raises(requests.PrivacyRequestClosed):
            requests.cancel(session, first.id, by="someone else")
        second = requests.record_request(session, cid, "erasure", "conv-1")
        cancelled = requests.cancel(session, second.id, by="dpo")

    assert (done.status, done.handled_by) == ("done", "dpo") and done.handled_at is not None
    assert second.id != first.id and cancelled.status == "cancelled"
    with session_scope(fresh_shop_db) as session:
        assert requests.get_request(session, first.id).status == "done"  # the refused cancel changed nothing
        assert requests.pending_requests(session) == []
        with pytest.raises(requests.PrivacyRequestNotFound):
            requests.get_request(session, 999_999)


def test_bad_kinds_and_statuses_are_refused(fresh_shop_db: str):
    (cid, _, _), _ = _customers(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        with pytest.raises(ValueError, match="kind|one of"):
            requests.record_request(session, cid, "delete_everything", "conv-1")
        with pytest.raises(ValueError, match="status"):
            requests.record_request(session, cid, "export", "conv-1", status="maybe")


def test_erasing_the_customer_completes_their_request_and_unlinks_it_keeping_the_reference(fresh_shop_db: str):
    (cid, _, _), (other, _, _) = _customers(fresh_shop_db)
    with session_scope(fresh_shop_db) as session:
        mine = requests.record_request(session, cid, "erasure", "conv-mine")
        theirs = requests.record_request(session, other, "erasure", "conv-theirs")
    with session_scope(fresh_shop_db) as session:
        removed = erase_customer_rows(session, cid, ["conv-mine"], by="admin Ada")

    assert removed["privacy_requests"] == 1
    with session_scope(fresh_shop_db) as session:
        after = requests.get_request(session, mine.id)
        queue = requests.pending_requests(session)
    assert (after.reference, after.status, after.handled_by) == (mine.reference, "done", "admin Ada")
    assert (after.customer_id, after.customer_external_id, after.customer_name, after.conversation_id) == (
        None,
        None,
        None,
        None,
    )
    assert [r.id for r in queue] == [theirs.id]  # someone else's request waits untouched
