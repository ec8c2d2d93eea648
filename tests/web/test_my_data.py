"""`POST /api/my-data`: a signed-in customer downloads a copy of their own data, and only their own, decided by the
token alone; bad tokens, bad bodies, unknown customers and a database that is down get clear answers.

Real stores: the small demo shop on SQLite and PostgreSQL, and a tracker store written by Rasa's own
SQLTrackerStore."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.db.models import Customer, Order, utcnow
from bot.db.session import dispose_engine, session_scope
from bot.handoff.conversations import bind_conversation
from bot.identity import sign_customer
from bot.privacy.config import DataLocations
from bot.web.shop_site import create_app, export_filename
from tests.conftest import seed_small_shop
from tests.privacy.conftest import TrackerStore
from tests.web.tandem_web_support import TEST_SECRET, FakeCustomerDirectory, demo_customers, make_settings


@dataclass(frozen=True)
class Someone:
    external_id: str
    order_numbers: tuple[str, ...]
    conversation: str
    said: str


@dataclass(frozen=True)
class Shop:
    data: DataLocations
    alice: Someone
    bob: Someone


def _two_customers_with_orders(url: str) -> list[tuple[int, str]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(Customer.id, Customer.external_id)
            .join(Order, Order.customer_id == Customer.id)
            .group_by(Customer.id, Customer.external_id)
            .order_by(Customer.id)
            .limit(2)
        ).all()
    return [(int(pk), ext) for pk, ext in rows]


@pytest.fixture(scope="module")
def shop(db_factory, tmp_path_factory) -> Shop:
    """One seeded shop per backend for the module (the endpoint only reads): two customers, each with a
    conversation bound to them and its events in the tracker store."""
    url = db_factory.create()
    seed_small_shop(url)
    tracker = TrackerStore(f"sqlite:///{tmp_path_factory.mktemp('tracker') / 'rasa_tracker.db'}")
    people = []
    now = utcnow()
    for (pk, external_id), conversation in zip(_two_customers_with_orders(url), ("conv-alice-1", "conv-bob-1")):
        said = f"where is my parcel, this is {conversation}"
        with session_scope(url) as session:
            bind_conversation(session, conversation, pk, "tandem", now=now)
            numbers = tuple(session.execute(select(Order.order_number).where(Order.customer_id == pk)).scalars().all())
        tracker.save(conversation, [said], at=now - timedelta(minutes=5))
        people.append(Someone(external_id, numbers, conversation, said))
    tracker.close()
    yield Shop(DataLocations(url, tracker.url, None, TEST_SECRET), people[0], people[1])
    dispose_engine(url)


def app_for(data: DataLocations, tmp_path: Path):
    return create_app(FakeCustomerDirectory(demo_customers(3)), make_settings(tmp_path), data=data)


def post(app, body: bytes | str, path: str = "/api/my-data", method: str = "POST"):
    """(status, headers, body bytes) of one request."""

    async def go():
        async with TestClient(TestServer(app)) as client:
            raw = body.encode() if isinstance(body, str) else body
            resp = await client.request(method, path, data=raw, headers={"Content-Type": "application/json"})
            return resp.status, resp.headers, await resp.read()

    return asyncio.run(go())


def token_of(external_id: str, *, ttl: int = 600, secret: str = TEST_SECRET) -> str:
    return sign_customer(external_id, ttl_seconds=ttl, secret=secret)


def test_a_signed_in_customer_downloads_their_own_data_as_an_attachment(shop, tmp_path):
    alice, bob = shop.alice, shop.bob
    status, headers, raw = post(app_for(shop.data, tmp_path), json.dumps({"token": token_of(alice.external_id)}))

    assert status == 200, raw
    assert headers["Content-Disposition"] == f'attachment; filename="tandem-data-{alice.external_id}.json"'
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"
    document = json.loads(raw)
    assert document["format"] == "tandem-customer-export/1"
    assert document["customer"] == alice.external_id
    assert document["profile"]["external_id"] == alice.external_id
    assert {o["order_number"] for o in document["orders"]} == set(alice.order_numbers)
    [conversation] = document["conversations"]
    assert conversation["conversation_id"] == alice.conversation
    assert alice.said in [(e["event"] or {}).get("text") for e in conversation["events"]]
    text = raw.decode()
    for needle in (bob.external_id, bob.conversation, bob.said, *bob.order_numbers):
        assert needle not in text  # nothing of the other customer


def test_the_token_alone_decides_whose_data_is_given(shop, tmp_path):
    """Bob's token with Alice's id (or anything else) beside it in the body still gets Bob's data only."""
    alice, bob = shop.alice, shop.bob
    body = {"token": token_of(bob.external_id), "customer_id": alice.external_id, "sub": alice.external_id}
    status, headers, raw = post(app_for(shop.data, tmp_path), json.dumps(body))

    assert status == 200
    assert headers["Content-Disposition"] == f'attachment; filename="tandem-data-{bob.external_id}.json"'
    document = json.loads(raw)
    assert document["customer"] == bob.external_id
    assert {o["order_number"] for o in document["orders"]} == set(bob.order_numbers)
    text = raw.decode()
    for needle in (alice.conversation, alice.said, *alice.order_numbers):
        assert needle not in text


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda who: token_of(who, ttl=-30), id="expired"),
        pytest.param(lambda who: token_of(who, secret="another-installation-secret-0123456789abcdef"), id="foreign"),
        pytest.param(lambda who: token_of(who)[:-4] + "AAAA", id="tampered"),
        pytest.param(lambda who: "not-a-token", id="garbage"),
        pytest.param(lambda who: "é" * 20, id="not-ascii"),
    ],
)
def test_a_bad_or_expired_token_gets_401_and_no_data(shop, tmp_path, token):
    status, headers, raw = post(app_for(shop.data, tmp_path), json.dumps({"token": token(shop.alice.external_id)}))

    assert status == 401
    assert "Content-Disposition" not in headers
    assert json.loads(raw) == {
        "error": "Your sign-in has expired or is not valid. Sign in again to download your data."
    }


@pytest.mark.parametrize(
    "body, error",
    [
        (b"", "must be JSON"),
        (b"not json", "must be JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b"[]", "JSON object"),
        (b"{}", '"token" is required'),
        (b'{"token": ""}', '"token" is required'),
        (b'{"token": "   "}', '"token" is required'),
        (b'{"token": 42}', '"token" is required'),
        (b'{"token": ["a"]}', '"token" is required'),
        (b"[" * 100 + b"]" * 100, "nested too deeply"),
    ],
)
def test_bad_input_is_a_clear_400(shop, tmp_path, body, error):
    status, _, raw = post(app_for(shop.data, tmp_path), body)

    assert status == 400
    assert error in json.loads(raw)["error"]


def test_a_token_in_the_url_is_not_how_it_works(shop, tmp_path):
    """The token never travels in a URL (logs, history): a GET with one is refused, and gives nothing."""
    token = token_of(shop.alice.external_id)
    status, _, raw = post(app_for(shop.data, tmp_path), b"", path=f"/api/my-data?token={token}", method="GET")
    assert status == 405
    assert shop.alice.external_id not in raw.decode()


def test_a_customer_the_shop_does_not_know_gets_404(shop, tmp_path):
    status, _, raw = post(app_for(shop.data, tmp_path), json.dumps({"token": token_of("CUST-99999")}))
    assert status == 404
    assert json.loads(raw) == {"error": "We hold no data about this customer."}


def test_a_database_that_is_down_is_503(tmp_path):
    down = DataLocations(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'shop.db'}", "", None, TEST_SECRET)
    status, _, raw = post(app_for(down, tmp_path), json.dumps({"token": token_of("CUST-00001")}))
    assert status == 503
    assert json.loads(raw) == {"error": "The customer database is not available right now."}


@pytest.mark.parametrize(
    "external_id, name",
    [
        ("CUST-00042", "tandem-data-CUST-00042.json"),
        ('ab"; filename=evil.exe', "tandem-data-ab_filename_evil.exe.json"),
        ("../../etc/passwd", "tandem-data-etc_passwd.json"),
        ("...", "tandem-data-customer.json"),
    ],
)
def test_the_file_name_keeps_only_safe_characters(external_id, name):
    assert export_filename(external_id) == name
