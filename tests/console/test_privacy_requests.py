"""The admins' queue of privacy requests: an admin sees the pending erasure requests, erases the customer (gone
from the shop database and the tracker store, the request done, the audit saying who and via the console) or
cancels a request; agents get 403; CSRF as every console POST; a store that fails changes nothing; the queue is
sorted by due date and flags the overdue and the due-soon."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Customer, utcnow
from bot.db.session import session_scope
from bot.handoff.conversations import bind_conversation
from bot.privacy import requests as privacy_requests
from bot.privacy.config import DataLocations
from bot.privacy.requests import PrivacyRequestView
from bot.privacy.service import erasures_on_record
from tests.console.console_support import TEST_SECRET, add_agent, customer_pk, make_settings, running_console
from tests.privacy.conftest import TrackerStore

CONVERSATION = "conv-erase-me"


@pytest.fixture
def tracker(tmp_path: Path):
    store = TrackerStore(f"sqlite:///{tmp_path / 'rasa_tracker.db'}")
    yield store
    store.close()


def ask(
    url: str, external_id: str, kind: str = "erasure", conversation: str | None = CONVERSATION
) -> PrivacyRequestView:
    """The customer asked in the chat (the conversation bound to them, as the channel does)."""
    pk = customer_pk(url, external_id)
    with session_scope(url) as session:
        if conversation:
            bind_conversation(session, conversation, pk, "tandem", now=utcnow())
        return privacy_requests.record_request(session, pk, kind, conversation)


def request_of(url: str, request_id: int) -> PrivacyRequestView:
    with session_scope(url) as session:
        return privacy_requests.get_request(session, request_id)


def customer_exists(url: str, external_id: str) -> bool:
    with session_scope(url) as session:
        return session.execute(select(Customer.id).where(Customer.external_id == external_id)).first() is not None


def settings_for(url: str, tmp_path: Path, tracker_url: str = ""):
    return make_settings(url, tracker_db_url=tracker_url, models_dir=tmp_path / "models")


async def test_an_admin_sees_the_pending_erasure_and_erases_the_customer(fresh_shop_db, tracker, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=(), name="Rita Root")
    asked = ask(url, "CUST-00003")
    await asyncio.to_thread(tracker.save, CONVERSATION, ["please delete everything about me"], at=utcnow())
    assert CONVERSATION in tracker.senders()
    async with running_console(url, settings=settings_for(url, tmp_path, tracker.url)) as console:
        root = await console.agent("root")
        page = await root.get("/privacy")
        assert page.status == 200
        assert asked.reference in await page.text()
        listed = await (await root.get("/api/privacy-requests")).json()
        [item] = listed["requests"]
        assert item["reference"] == asked.reference and item["kind"] == "erasure" and item["status"] == "pending"
        assert item["customer_external_id"] == "CUST-00003" and item["customer_name"] == asked.customer_name
        assert item["requested_at"].endswith("Z")

        response = await root.post(f"/api/privacy-requests/{asked.id}/erase")
        assert response.status == 200, await response.text()
        body = await response.json()

        # persisted before it was acknowledged: by the time the admin reads 200, it is all in the stores
        assert body["erased"] is True and body["customer_external_id"] == "CUST-00003"
        assert body["request"]["status"] == "done" and body["request"]["handled_by"] == "root"
        assert not customer_exists(url, "CUST-00003")
        assert CONVERSATION not in tracker.senders()
        done = request_of(url, asked.id)
        assert (done.status, done.handled_by, done.customer_id) == ("done", "root", None)
        [audit] = erasures_on_record("CUST-00003", DataLocations(url, "", None, TEST_SECRET))
        assert (audit.requested_by, audit.via) == ("root", "console")
        assert (await (await root.get("/api/privacy-requests")).json())["requests"] == []

        again = await root.post(f"/api/privacy-requests/{asked.id}/erase")
        assert again.status == 409
        assert "already done by root" in (await again.json())["error"]
        assert customer_exists(url, "CUST-00004")  # nobody else


async def test_agents_get_403_and_nothing_changes(fresh_shop_db, tmp_path):
    url = fresh_shop_db
    add_agent(url, "bill", queues=("billing",))
    asked = ask(url, "CUST-00005")
    async with running_console(url, settings=settings_for(url, tmp_path)) as console:
        bill = await console.agent("bill")
        page = await bill.get("/privacy")
        assert page.status == 403
        assert asked.reference not in await page.text()
        assert "/privacy" not in await (await bill.get("/")).text()  # no link in the navigation either
        for method, path in (
            ("GET", "/api/privacy-requests"),
            ("POST", f"/api/privacy-requests/{asked.id}/erase"),
            ("POST", f"/api/privacy-requests/{asked.id}/cancel"),
        ):
            response = await (bill.get(path) if method == "GET" else bill.post(path))
            assert response.status == 403, path
            assert (await response.json()) == {"error": "Only an admin can see and handle customers' privacy requests."}
    assert customer_exists(url, "CUST-00005")
    assert request_of(url, asked.id).status == "pending"


async def test_an_admin_cancels_a_request_and_nothing_is_erased(fresh_shop_db, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=())
    asked = ask(url, "CUST-00006")
    async with running_console(url, settings=settings_for(url, tmp_path)) as console:
        root = await console.agent("root")
        response = await root.post(f"/api/privacy-requests/{asked.id}/cancel")
        assert response.status == 200
        assert (await response.json())["request"]["status"] == "cancelled"
        cancelled = request_of(url, asked.id)
        assert (cancelled.status, cancelled.handled_by) == ("cancelled", "root")
        assert customer_exists(url, "CUST-00006")
        assert (await (await root.get("/api/privacy-requests")).json())["requests"] == []

        for action in ("cancel", "erase"):
            late = await root.post(f"/api/privacy-requests/{asked.id}/{action}")
            assert late.status == 409, action
            assert "already cancelled" in (await late.json())["error"]
        assert customer_exists(url, "CUST-00006")
        assert (await root.post("/api/privacy-requests/999999/cancel")).status == 404
        assert (await root.post("/api/privacy-requests/999999/erase")).status == 404


async def test_every_post_needs_the_csrf_token(fresh_shop_db, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=())
    asked = ask(url, "CUST-00007")
    async with running_console(url, settings=settings_for(url, tmp_path)) as console:
        root = await console.agent("root")
        for action in ("erase", "cancel"):
            response = await root.post(f"/api/privacy-requests/{asked.id}/{action}", csrf=False)
            assert response.status == 403, action
            foreign = await root.post(
                f"/api/privacy-requests/{asked.id}/{action}", headers={"Origin": "https://evil.example"}
            )
            assert foreign.status == 403, action
        anonymous = console.client()
        assert (await anonymous.post(f"/api/privacy-requests/{asked.id}/erase")).status == 401
    assert customer_exists(url, "CUST-00007")
    assert request_of(url, asked.id).status == "pending"


async def test_a_request_for_a_copy_is_not_erased_but_can_be_cancelled(fresh_shop_db, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=())
    copy = ask(url, "CUST-00008", kind="export", conversation=None)
    async with running_console(url, settings=settings_for(url, tmp_path)) as console:
        root = await console.agent("root")
        [item] = (await (await root.get("/api/privacy-requests")).json())["requests"]
        assert item["kind"] == "export"
        refused = await root.post(f"/api/privacy-requests/{copy.id}/erase")
        assert refused.status == 409
        assert "copy of the data" in (await refused.json())["error"]
        assert customer_exists(url, "CUST-00008")
        assert (await root.post(f"/api/privacy-requests/{copy.id}/cancel")).status == 200


async def test_a_tracker_store_that_is_down_changes_nothing_and_a_retry_finishes(fresh_shop_db, tracker, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=())
    asked = ask(url, "CUST-00009")
    await asyncio.to_thread(tracker.save, CONVERSATION, ["forget me"], at=utcnow())
    down = "postgresql+psycopg2://nobody@127.0.0.1:1/tracker"
    async with running_console(url, settings=settings_for(url, tmp_path, down)) as console:
        root = await console.agent("root")
        response = await root.post(f"/api/privacy-requests/{asked.id}/erase")
        assert response.status == 503
        assert "nothing in the shop database changed" in (await response.json())["error"]
    assert customer_exists(url, "CUST-00009")
    assert request_of(url, asked.id).status == "pending"
    async with running_console(url, settings=settings_for(url, tmp_path, tracker.url)) as console:
        root = await console.agent("root")
        assert (await root.post(f"/api/privacy-requests/{asked.id}/erase")).status == 200
    assert not customer_exists(url, "CUST-00009")
    assert CONVERSATION not in tracker.senders()


def ask_at(url: str, external_id: str, *, days_ago: float, due_days: int = 30) -> PrivacyRequestView:
    """An erasure asked `days_ago` days ago, due `due_days` after it was asked."""
    pk = customer_pk(url, external_id)
    with session_scope(url) as session:
        asked = utcnow() - timedelta(days=days_ago)
        return privacy_requests.record_request(session, pk, "erasure", None, now=asked, due_days=due_days)


async def test_the_queue_is_sorted_by_due_date_with_overdue_and_due_soon_flagged(fresh_shop_db, tmp_path):
    url = fresh_shop_db
    add_agent(url, "root", role="admin", queues=())
    fresh = ask_at(url, "CUST-00012", days_ago=1)  # due in 29 days
    soon = ask_at(url, "CUST-00013", days_ago=28)  # due in 2 days
    late = ask_at(url, "CUST-00014", days_ago=33)  # 3 days overdue
    async with running_console(url, settings=settings_for(url, tmp_path)) as console:
        root = await console.agent("root")
        listed = await (await root.get("/api/privacy-requests")).json()
        assert [r["reference"] for r in listed["requests"]] == [late.reference, soon.reference, fresh.reference]
        flags = [(r["overdue"], r["due_soon"]) for r in listed["requests"]]
        assert flags == [(True, False), (False, True), (False, False)]
        assert listed["overdue_count"] == 1
        assert listed["requests"][0]["due_at"] == late.due_at.isoformat() + "Z"
        page = await (await root.get("/privacy")).text()
        assert '"overdue_count": 1' in page and 'id="overdue-summary" role="status" hidden' not in page

        await root.post(f"/api/privacy-requests/{late.id}/cancel")
        after = await (await root.get("/api/privacy-requests")).json()
        assert after["overdue_count"] == 0 and [r["reference"] for r in after["requests"]] == [
            soon.reference,
            fresh.reference,
        ]
        assert 'id="overdue-summary" role="status" hidden' in await (await root.get("/privacy")).text()
