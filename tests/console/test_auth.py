"""Signing in to the console: nothing without a session, passwords, CSRF, Origin, expiry and deactivation."""

from __future__ import annotations

import re

import aiohttp
import pytest
from sqlalchemy import select

from bot.console import websocket
from bot.console.agents import deactivate
from bot.console.throttle import LoginThrottle
from bot.db.models import AgentSession
from bot.db.session import session_scope
from bot.handoff.relay import WAKE_PURPOSE
from tests.console.console_support import (
    PASSWORD,
    add_agent,
    later,
    make_settings,
    open_handoff,
    running_console,
)


async def test_nothing_but_the_login_form_health_and_static_files_without_a_session(console_db):
    h = open_handoff(console_db, "c-anon")
    async with running_console(console_db) as console:
        anonymous = console.client()
        for page in ("/", f"/handoffs/{h.id}"):
            response = await anonymous.get(page, allow_redirects=False)
            assert response.status == 302
            assert response.headers["Location"].startswith("/login?next=")
        for path in ("/api/queue", f"/api/handoffs/{h.id}", f"/api/handoffs/{h.id}/timeline", "/api/me"):
            response = await anonymous.get(path)
            assert response.status == 401
            assert (await response.json())["error"] == "Sign in first."
        response = await anonymous.post(f"/api/handoffs/{h.id}/claim")
        assert response.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws()
        assert refused.value.status == 401
        assert (await anonymous.get("/healthz")).status == 200
        assert (await anonymous.get("/static/console.css")).status == 200
        login = await anonymous.get("/login")
        assert login.status == 200
        assert "default-src 'self'" in login.headers["Content-Security-Policy"]
        assert console.rasa.appended == []


async def test_a_wrong_password_or_unknown_user_get_the_same_answer_and_no_cookie(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        for username, password in (("alice", "wrong password!"), ("nobody", PASSWORD)):
            client = console.client()
            response = await client.login(username, password)
            assert response.status == 401
            assert "Wrong username or password." in await response.text()
            assert client.csrf is None
            assert (await client.get("/api/me")).status == 401
        alice = await console.agent("ALICE")  # usernames are not case-sensitive
        me = await (await alice.get("/api/me")).json()
        assert me["agent"]["username"] == "alice" and me["csrf_token"] == alice.csrf


async def test_the_session_cookie_is_http_only_strict_and_only_its_hash_is_stored(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        client = console.client()
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        response = await client.http.post(
            "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}, allow_redirects=False
        )
        assert response.status == 302 and response.headers["Location"] == "/"
        cookie = response.cookies["tandem_console"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]  # plain http in tests; https sets Secure
        with session_scope(console_db) as session:
            stored = session.execute(select(AgentSession.token_hash)).scalars().all()
        assert cookie.value not in stored and len(stored) == 1 and len(stored[0]) == 64


async def test_the_login_form_needs_its_own_token(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        client = console.client()
        response = await client.http.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"})
        assert response.status == 400
        assert (await client.get("/api/me")).status == 401


async def test_guessing_locks_the_username_for_a_while(console_db):
    add_agent(console_db, "alice")
    throttle = LoginThrottle(delay_seconds=0.0, max_failures=3, lock_seconds=300)
    async with running_console(console_db, throttle=throttle) as console:
        for _ in range(3):
            assert (await console.client().login("alice", "not the password")).status == 401
        locked = await console.client().login("alice", PASSWORD)  # even the right password waits now
        assert locked.status == 429
        assert "Too many failed attempts" in await locked.text()


async def test_state_changes_need_the_csrf_token_and_the_consoles_own_origin(console_db):
    add_agent(console_db, "alice")
    h = open_handoff(console_db, "c-csrf")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        missing = await alice.post(f"/api/handoffs/{h.id}/claim", csrf=False)
        assert missing.status == 403
        assert "security token" in (await missing.json())["error"]
        wrong = await alice.post(f"/api/handoffs/{h.id}/claim", csrf=False, headers={"X-CSRF-Token": "forged"})
        assert wrong.status == 403
        other_site = await alice.post(f"/api/handoffs/{h.id}/claim", headers={"Origin": "https://evil.example"})
        assert other_site.status == 403
        logout = await alice.http.post("/logout", data={}, allow_redirects=False)
        assert logout.status == 403
        assert (await alice.get("/api/me")).status == 200  # still signed in
        assert console.rasa.appended == []
        ok = await alice.post(f"/api/handoffs/{h.id}/claim", headers={"Origin": console.url})
        assert ok.status == 200


async def test_logging_out_ends_the_session(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        cookie = alice.http.cookie_jar.filter_cookies(console.url)["tandem_console"].value
        response = await alice.http.post("/logout", data={"csrf_token": alice.csrf}, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/login"
        assert (await alice.get("/api/me")).status == 401
        replay = console.client()
        replay.http.cookie_jar.update_cookies({"tandem_console": cookie})
        assert (await replay.get("/api/me")).status == 401


async def test_a_deactivated_agent_is_signed_out_everywhere_and_cannot_sign_in(console_db, monkeypatch):
    monkeypatch.setattr(websocket, "HEARTBEAT_SECONDS", 0.2)
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        ws = await alice.ws()
        with session_scope(console_db) as session:
            deactivate(session, "alice")
        assert (await alice.get("/api/me")).status == 401
        assert (await console.client().login("alice")).status == 401
        while (await ws.receive(timeout=5)).type != aiohttp.WSMsgType.CLOSE:
            pass  # the queue snapshot came first
        assert ws.close_code == websocket.SESSION_ENDED


async def test_sessions_expire_after_twelve_hours(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        cookie = alice.http.cookie_jar.filter_cookies(console.url)["tandem_console"].value
    async with running_console(console_db, clock=later(12.01)) as console:
        client = console.client()
        client.http.cookie_jar.update_cookies({"tandem_console": cookie})
        assert (await client.get("/api/me")).status == 401
        assert (await client.get("/", allow_redirects=False)).status == 302


async def test_the_websocket_only_opens_to_the_consoles_own_pages(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        for origin in ("https://evil.example", None):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await alice.ws(origin=origin)
            assert refused.value.status == 403
        ws = await alice.ws()
        await ws.close()


async def test_the_wake_up_call_needs_the_service_token(console_db):
    settings = make_settings(console_db)
    async with running_console(console_db, settings=settings) as console:
        anonymous = console.client()
        assert (await anonymous.http.post("/internal/wake")).status == 401
        wrong = await anonymous.http.post("/internal/wake", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        right = await anonymous.http.post(
            "/internal/wake", headers={"Authorization": f"Bearer {settings.service_token(WAKE_PURPOSE)}"}
        )
        assert right.status == 204


async def test_a_database_that_is_down_gets_a_clear_answer_not_a_traceback():
    down = "postgresql+psycopg2://postgres@127.0.0.1:1/nothing"
    async with running_console(down) as console:
        client = console.client()
        assert (await client.get("/login")).status == 200  # the form does not need the database
        login = await client.login("alice")
        assert login.status == 503
        assert "database is not reachable" in await login.text()
        client.http.cookie_jar.update_cookies({"tandem_console": "some-session"})
        api = await client.get("/api/queue")
        assert api.status == 503
        assert "Traceback" not in await api.text()
        assert "database is not reachable" in (await api.json())["error"]
