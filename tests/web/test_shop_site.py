"""The demo shop's HTTP API, through aiohttp's test client."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.identity import InvalidToken, verify_token
from bot.web.customers import CustomerDirectory, DemoCustomer, SqlCustomerDirectory
from bot.web.shop_site import DEMO_CUSTOMER_LIMIT, create_app
from tests.web.tandem_web_support import TEST_SECRET, FakeCustomerDirectory


def call(app, method: str, path: str, **kwargs):
    """(status, headers, body bytes) of one request to `app`."""

    async def go():
        async with TestClient(TestServer(app)) as client:
            resp = await client.request(method, path, **kwargs)
            return resp.status, resp.headers, await resp.read()

    return asyncio.run(go())


def post_session(app, body: bytes):
    status, headers, raw = call(app, "POST", "/api/session", data=body, headers={"Content-Type": "application/json"})
    return status, headers, json.loads(raw)


def test_fake_directory_is_a_customer_directory(directory):
    assert isinstance(directory, CustomerDirectory)


def test_session_signs_a_token_the_bot_accepts(directory, settings):
    status, headers, body = post_session(create_app(directory, settings), b'{"customer_id": "CUST-00007"}')

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert verify_token(body["token"], secret=TEST_SECRET) == "CUST-00007"
    assert body["customer"] == {
        "external_id": "CUST-00007",
        "name": directory.customers["CUST-00007"].name,
        "email": "customer7@example.com",
    }
    assert body["rasa_url"] == settings.rasa_public_url
    claims = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"], issuer="tandem-shop")
    assert claims["exp"] - claims["iat"] == settings.token_ttl_seconds
    with pytest.raises(InvalidToken):
        verify_token(body["token"], secret="another-installation-secret-0123456789abcdef")


def test_session_strips_whitespace_around_the_id(directory, settings):
    status, _, body = post_session(create_app(directory, settings), b'{"customer_id": "  CUST-00002 "}')
    assert status == 200
    assert verify_token(body["token"], secret=TEST_SECRET) == "CUST-00002"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"customer_id": ',
        b"\xff\xfe",
        b"[]",
        b'"CUST-00001"',
        b"{}",
        b'{"customer": "CUST-00001"}',
        b'{"customer_id": ""}',
        b'{"customer_id": "   "}',
        b'{"customer_id": 1}',
        b'{"customer_id": null}',
        b'{"customer_id": ["CUST-00001"]}',
        json.dumps({"customer_id": "C" * 65}).encode(),
    ],
)
def test_session_rejects_malformed_requests(directory, settings, body):
    status, headers, payload = post_session(create_app(directory, settings), body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(payload["error"], str) and "customer_id" in payload["error"]
    assert "token" not in payload


def test_session_unknown_customer_is_404(directory, settings):
    status, _, payload = post_session(create_app(directory, settings), b'{"customer_id": "CUST-99999"}')
    assert status == 404
    assert payload == {"error": "Unknown customer.", "customer_id": "CUST-99999"}


def test_session_when_the_database_is_down_is_503(settings):
    app = create_app(FakeCustomerDirectory([], fail=True), settings)
    status, _, payload = post_session(app, b'{"customer_id": "CUST-00001"}')
    assert status == 503
    assert "error" in payload


def test_session_only_accepts_post(directory, settings):
    status, _, _ = call(create_app(directory, settings), "GET", "/api/session")
    assert status == 405


def test_healthz(directory, settings):
    status, _, raw = call(create_app(directory, settings), "GET", "/healthz")
    assert status == 200
    assert json.loads(raw) == {"status": "ok"}


def test_config_gives_the_public_rasa_url(directory, settings):
    status, _, raw = call(create_app(directory, settings), "GET", "/api/config")
    assert status == 200
    assert json.loads(raw) == {"rasa_url": "http://localhost:5005", "max_message_chars": 5000}


def test_index_lists_the_first_25_customers_and_embeds_the_widget(directory, settings):
    status, headers, raw = call(create_app(directory, settings), "GET", "/")
    html = raw.decode()

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Sign in as a demo customer" in html
    assert html.count('<option value="CUST-') == DEMO_CUSTOMER_LIMIT == 25
    assert 'value="CUST-00001"' in html and 'value="CUST-00025"' in html and "CUST-00026" not in html
    assert '<script src="/static/widget.js"' in html
    assert 'data-rasa-url="http://localhost:5005"' in html
    assert 'data-token-endpoint="/api/session"' in html
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in csp  # socket.io: polling, websocket
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "rasa_public_url, connect_src",
    [
        ("https://bot.example/rasa/", "connect-src 'self' https://bot.example wss://bot.example;"),
        ("http://127.0.0.1:5005", "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;"),
        ("not a url", "connect-src 'self';"),
        ("ftp://bot.example", "connect-src 'self';"),
    ],
)
def test_csp_allows_the_rasa_origin_for_http_and_websockets(directory, settings, rasa_public_url, connect_src):
    settings = replace(settings, rasa_public_url=rasa_public_url)
    _, headers, _ = call(create_app(directory, settings), "GET", "/")
    assert connect_src in headers["Content-Security-Policy"]


def test_index_escapes_customer_names(settings):
    evil = DemoCustomer("CUST-00001", '<script>alert("x")</script>', "e@example.com")
    _, _, raw = call(create_app(FakeCustomerDirectory([evil]), settings), "GET", "/")
    html = raw.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_index_still_works_when_the_database_is_down(settings):
    status, _, raw = call(create_app(FakeCustomerDirectory([], fail=True), settings), "GET", "/")
    html = raw.decode()
    assert status == 200
    assert "only chat anonymously" in html
    assert "/static/widget.js" in html


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/static/widget.js", "javascript"),
        ("/static/widget.css", "text/css"),
        ("/static/vendor/socket.io.min.js", "javascript"),
        ("/static/products/phones.svg", "image/svg+xml"),
        ("/static/shop.js", "javascript"),
        ("/static/shop.css", "text/css"),
    ],
)
def test_static_files(directory, settings, path, content_type):
    status, headers, raw = call(create_app(directory, settings), "GET", path)
    assert status == 200
    assert content_type in headers["Content-Type"]
    assert raw


def test_static_does_not_serve_files_outside_the_folder(directory, settings):
    status, _, _ = call(create_app(directory, settings), "GET", "/static/../shop_site.py")
    assert status in (403, 404)


def test_sql_customer_directory_lists_and_finds_customers_of_the_real_shop(shop_db, settings):
    directory = SqlCustomerDirectory(shop_db)
    try:
        assert isinstance(directory, CustomerDirectory)
        first = directory.list_demo_customers(25)
        ids = [c.external_id for c in first]
        assert len(first) == 25 and ids == sorted(ids) and ids[0] == "CUST-00001"
        assert [c.external_id for c in directory.list_demo_customers(2)] == ids[:2]
        assert directory.get("CUST-00012") == next(c for c in first if c.external_id == "CUST-00012")
        assert directory.get("CUST-99999") is None
        assert directory.get("' OR 1=1 --") is None

        status, _, body = post_session(create_app(directory, settings), b'{"customer_id": "CUST-00012"}')
        assert status == 200
        assert verify_token(body["token"], secret=TEST_SECRET) == "CUST-00012"
    finally:
        directory.dispose()


def test_each_demo_customer_is_labelled_with_what_is_true_of_them(fresh_shop_db):
    """An order on its way, a late one, an open problem, a device: each label checked against the shop's data,
    and the suggested first message names the customer's own order or device."""
    from sqlalchemy import select

    from bot.db.models import OPEN_JOURNEY_STATES as JOURNEY_STATES
    from bot.db.models import OPEN_ORDER_STATUSES as ORDER_STATUSES
    from bot.db.models import Customer, CustomerDevice, Journey, Order, Product
    from bot.db.session import session_scope
    from tests.conftest import SHOP_ANCHOR

    with session_scope(fresh_shop_db) as session:
        owner = session.execute(select(Customer).where(Customer.external_id == "CUST-00003")).scalar_one()
        session.add(Journey(customer_id=owner.id, workflow="no_internet", problem_key="no_internet", state="open"))
    today = SHOP_ANCHOR  # the day the small shop was seeded around
    directory = SqlCustomerDirectory(fresh_shop_db, today=today)
    try:
        listed = directory.list_demo_customers(100)
    finally:
        directory.dispose()
    seen = set()
    with session_scope(fresh_shop_db) as session:
        for customer in listed:
            cid = session.execute(select(Customer.id).where(Customer.external_id == customer.external_id)).scalar_one()
            orders = (
                session.execute(select(Order).where(Order.customer_id == cid, Order.status.in_(ORDER_STATUSES)))
                .scalars()
                .all()
            )
            late = {o.order_number for o in orders if o.estimated_delivery and o.estimated_delivery < today}
            devices = set(
                session.execute(
                    select(Product.name)
                    .join(CustomerDevice, CustomerDevice.product_id == Product.id)
                    .where(CustomerDevice.customer_id == cid)
                ).scalars()
            )
            problems = (
                session.execute(
                    select(Journey.workflow).where(Journey.customer_id == cid, Journey.state.in_(JOURNEY_STATES))
                )
                .scalars()
                .all()
            )
            for hint in customer.hints:
                kind = hint.split()[0]
                seen.add(hint.split(" ", 2)[-1] if kind == "order" else kind)
                if hint.endswith("is late"):
                    assert hint.split()[1] in late, (customer, hint)
                elif kind == "order":
                    assert hint.split()[1] in {o.order_number for o in orders} - late, (customer, hint)
                elif kind == "owns":
                    assert hint[len("owns ") :] in devices, (customer, hint)
                else:
                    assert hint == f"open problem: {problems[0].replace('_', ' ')}", (customer, hint)
            assert bool(late) == any(h.endswith("is late") for h in customer.hints), customer
            assert bool(devices) == any(h.startswith("owns ") for h in customer.hints), customer
            assert bool(problems) == any(h.startswith("open problem") for h in customer.hints), customer
            if customer.hints:  # the suggestion is about the first label: their own order, problem or device
                first = customer.hints[0]
                assert customer.try_saying and (
                    first.split()[1] in customer.try_saying
                    or "issues" in customer.try_saying
                    or first[len("owns ") :] in customer.try_saying
                ), customer
    assert {"is late", "on its way", "not shipped yet", "open", "owns"} <= seen


@pytest.mark.parametrize(
    "body, status",
    [
        (b'{"customer_id": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", 400),  # 60 KB of nesting: was a 500
        (b"[" * 100 + b"]" * 100, 400),
        (b"\x80\x81\x82", 400),
        (b"x" * 70_000, 413),
    ],
)
def test_session_answers_hostile_bodies_with_a_4xx_and_a_sentence(directory, settings, caplog, body, status):
    caplog.set_level(logging.ERROR)
    got, headers, payload = post_session(create_app(directory, settings), body)
    assert got == status
    assert headers["Content-Type"].startswith("application/json") and isinstance(payload["error"], str)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_request_line_over_8_kb_is_a_400_and_a_warning_not_a_traceback(directory, settings, caplog):
    from bot.web.errors import log_client_mistakes_as_warnings

    log_client_mistakes_as_warnings()
    caplog.set_level(logging.INFO)

    async def go():
        server = TestServer(create_app(directory, settings))
        await server.start_server()
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"GET /?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            status_line = await reader.readline()
            writer.close()
            return status_line
        finally:
            await server.close()

    assert b" 400 " in asyncio.run(go())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("refused a malformed request" in r.getMessage() for r in caplog.records)
