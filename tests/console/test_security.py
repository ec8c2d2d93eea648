"""Holes an attacker tried, closed: redirects after sign-in stay on the console, and malformed bodies are 4xx."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

from bot.console.auth import safe_next
from tests.console.console_support import PASSWORD, add_agent, open_handoff, running_console

# Each of these made, or could make, a browser leave the console after signing in.
BYPASSES = [
    "//evil.example/path",
    "/\t/evil.example/path",
    "/\n/evil.example/path",
    "/\r/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",  # encoded twice
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/\u2215\u2215evil.example",  # division slash
    "/\uff0f\uff0fevil.example",  # fullwidth solidus
    "\uff0f\uff0fevil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\x00//evil.example",
    "/\x7f/evil.example",
    "evil.example",
    "",
    "/" + "a" * 5000,
]
LOCAL = ["/", "/handoffs/12", "/handoffs/12?tab=notes", "/a%20b", "/handoffs/12#reply"]


@pytest.mark.parametrize("target", BYPASSES)
def test_a_next_that_a_browser_could_read_as_another_site_goes_home(target: str) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", LOCAL)
def test_a_next_on_this_console_is_kept(target: str) -> None:
    assert safe_next(target) == target


async def _login_with_next(console, next_value: str):
    client = console.client()
    form = await (await client.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return await client.http.post(
        "/login",
        allow_redirects=False,
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": next_value},
    )


async def test_signing_in_never_redirects_to_another_site(console_db):
    add_agent(console_db, "alice")
    async with running_console(console_db) as console:
        for target in ("/\t/evil.example/path", "/\n/evil.example", "/%2F/evil.example", "/\\/evil.example"):
            response = await _login_with_next(console, target)
            assert response.status == 302 and response.headers["Location"] == "/", target
        response = await _login_with_next(console, "/handoffs/7")
        assert response.headers["Location"] == "/handoffs/7"
        # The login form itself only carries a safe next.
        page = await (await console.client().get("/login", params={"next": "/\t/evil.example"})).text()
        assert "evil.example" not in page


async def test_a_login_form_that_is_not_utf8_is_a_400_not_a_traceback(console_db, caplog):
    add_agent(console_db, "alice")
    caplog.set_level(logging.ERROR)
    async with running_console(console_db) as console:
        client = console.client()
        for body in (b"username=\xff\xfe&password=\xc3\x28", b"\x80" * 100, b"csrf_token=\xff"):
            response = await client.http.post(
                "/login", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
            assert response.status == 400, body
        assert (await client.get("/healthz")).status == 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def _nested(depth: int) -> bytes:
    return b'{"text": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "body, status",
    [
        (_nested(30_000), 400),  # 60 KB of nesting
        (b"\xff\xfe{}", 400),
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (json.dumps({"text": 5}).encode(), 400),
        (json.dumps({"text": ["a"]}).encode(), 400),
        (json.dumps({"text": "x" * 60_000}).encode(), 413),
        (b"x" * 70_000, 413),  # over the console's request size
    ],
)
async def test_malformed_api_bodies_get_a_4xx_with_a_sentence(console_db, caplog, body: bytes, status: int):
    add_agent(console_db, "alice", queues=("billing",))
    h = open_handoff(console_db, "c-security")
    caplog.set_level(logging.ERROR)
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        for path in (f"/api/handoffs/{h.id}/messages", f"/api/handoffs/{h.id}/notes"):
            response = await alice.http.post(
                path, data=body, headers={"X-CSRF-Token": alice.csrf, "Content-Type": "application/json"}
            )
            assert response.status == status, (path, await response.text())
            assert isinstance((await response.json())["error"], str)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_replies_and_notes_with_nul_or_lone_surrogates_are_stored_cleaned_not_a_500(console_db, caplog):
    from tests.console.console_support import messages

    add_agent(console_db, "alice", queues=("billing",))
    h = open_handoff(console_db, "c-nul")
    caplog.set_level(logging.ERROR)
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        assert (await alice.post(f"/api/handoffs/{h.id}/claim")).status == 200
        body = json.dumps({"text": "hello\u0000 there \ud800!"}).encode()  # valid JSON, unstorable as it is
        for path in (f"/api/handoffs/{h.id}/messages", f"/api/handoffs/{h.id}/notes"):
            response = await alice.http.post(
                path, data=body, headers={"X-CSRF-Token": alice.csrf, "Content-Type": "application/json"}
            )
            assert response.status == 201, await response.text()
    texts = [m.text for m in messages(console_db, h.id)]
    assert texts.count("hello there ?!") == 2
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_wake_token_that_is_not_even_utf8_is_a_401(console_db):
    async with running_console(console_db) as console:
        host, port = console.url.split("//")[1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /internal/wake HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xc3\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        assert b" 401 " in status_line
