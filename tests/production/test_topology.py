"""The production profile as customers and agents meet it: one address, two of each server, state shared safely.

`tandem up --production` runs its own PostgreSQL, Redis and RabbitMQ, two Rasa instances (Redis lock store, Redis
socket manager, Pika event broker), two action servers, the web apps, the scheduler and nginx in front. These
tests talk to that real topology; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import Customer, Handoff, InsightConversation, JourneyFollowUp
from bot.db.session import session_scope
from bot.handoff.agent_events import agent_message
from bot.identity import sign_customer
from bot.rasa_api import RasaApi
from tests.support.chaos import journey_with_a_follow_up_due_now
from tests.support.production import Production
from tests.support.rasa_model import ROOT
from tests.support.widget_client import WidgetClient

pytestmark = pytest.mark.slow

PROCESSES = (
    "postgresql",
    "redis",
    "rabbitmq",
    "action server 1",
    "action server 2",
    "rasa 1",
    "rasa 2",
    "shop page",
    "agent console",
    "follow-up scheduler",
    "insights consumer",
    "nginx",
)


def http(url: str, *, data: Any = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_one_command_starts_every_process_and_status_reports_each(production: Production):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "status"], cwd=ROOT, env=production.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in PROCESSES:
        assert name in result.stdout, f"{name} missing from `tandem status`:\n{result.stdout}"
    assert "not answering" not in result.stdout and "down" not in result.stdout


def test_nginx_is_the_one_public_address(production: Production):
    public = f"http://127.0.0.1:{production.ports.public}"
    status, page = http(public + "/")
    assert status == 200 and "widget.js" in page
    status, config = http(public + "/api/config")
    assert status == 200 and json.loads(config)["rasa_url"] == production.public_url  # the widget's socket too
    assert http(public + "/webhooks/tandem/")[0] == 200
    # Rasa's HTTP API is reachable, but only with the token.
    assert http(public + "/status")[0] == 401
    status, body = http(public + f"/status?token={production.rasa_token}")
    assert status == 200 and "model_file" in body
    # The console answers under its own name on the same address.
    status, login = http(public + "/login", headers={"Host": f"console.localhost:{production.ports.public}"})
    assert status == 200 and "Sign in" in login
    assert http(public + "/login")[0] == 404  # not the shop page's


def listening_addresses(port: int) -> set[str]:
    """The local addresses that listen on `port` (`ss`: every TCP socket in the LISTEN state)."""
    lines = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout.splitlines()
    local = [line.split()[3] for line in lines if len(line.split()) > 3]
    return {address.rsplit(":", 1)[0] for address in local if address.rsplit(":", 1)[1] == str(port)}


def test_only_nginx_listens_beyond_the_loopback_interface(production: Production):
    ports = production.ports
    behind = {
        "the actions' balancer": ports.actions_balancer,
        "the shop page": ports.shop,
        "the console": ports.console,
    }
    behind |= {"postgresql": ports.postgres, "redis": ports.redis, "rabbitmq": ports.rabbitmq}
    behind |= {f"rasa {i + 1}": port for i, port in enumerate(ports.rasa)}
    behind |= {f"action server {i + 1}": port for i, port in enumerate(ports.actions)}
    for name, port in behind.items():
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {name}'s port {port}"
        assert addresses <= {"127.0.0.1", "[::1]"}, f"{name} listens on {addresses}, not only on the loopback"
    assert listening_addresses(ports.public)  # nginx: the one address customers and agents reach


def test_a_customer_on_one_instance_gets_what_the_other_instance_sends_and_the_schedulers_follow_up(
    production: Production,
):
    customer = "CUST-00004"

    async def scenario() -> tuple[list[str], list[dict[str, Any]]]:
        widget = WidgetClient(production.rasa_url(0), token=sign_customer(customer, secret=production.secret_key))
        await widget.connect()
        try:
            assert (await widget.send("hello"))["ok"] is True
            await widget.next_message(timeout=60)
            # An agent's replies, added through the other instance's HTTP API (as the console does through nginx).
            other = RasaApi(production.rasa_url(1), production.rasa_token)
            try:
                for i in range(5):
                    await other.append(widget.session_id, [agent_message(f"reply {i} from instance 2", "Alice")])
            finally:
                await other.close()
            replies = [await widget.next_message(lambda m: "from instance 2" in m.get("text", "")) for _ in range(5)]
            # A follow-up due now: the scheduler sends it through nginx, to whichever instance; it reaches the socket.
            journey_with_a_follow_up_due_now(production.database_url, customer, widget.session_id, "late")
            follow_up = await widget.next_message(lambda m: m.get("from") == "bot", timeout=60)
            await asyncio.sleep(3)  # anything sent twice would have arrived by now
            return [m["text"] for m in replies], [follow_up, *widget.drain()]
        finally:
            await widget.close()

    replies, follow_up = asyncio.run(scenario())
    assert replies == [f"reply {i} from instance 2" for i in range(5)]
    # The workflow's follow-up greeting and its question whether the parcel came, each once.
    texts = [m.get("text") for m in follow_up]
    assert len(texts) == 2 and len(set(texts)) == 2 and "arrive" in texts[1], texts
    with session_scope(production.database_url) as session:
        (status,) = session.execute(select(JourneyFollowUp.status).order_by(JourneyFollowUp.id.desc())).first()
    assert status == "sent"


def test_messages_of_one_conversation_at_both_instances_at_once_run_one_at_a_time(production: Production):
    token = sign_customer("CUST-00005", secret=production.secret_key)
    texts = [f"hello number {i}" for i in range(8)]

    def say(i: int) -> int:
        url = production.rasa_url(i % 2) + "/webhooks/tandem/webhook"
        body = {"sender": "prod-lock-test", "message": texts[i], "metadata": {"customer_token": token}}
        status, reply = http(url, data=body)
        assert json.loads(reply), f"no answer to {texts[i]!r}"
        return status

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(say, range(8))) == [200] * 8
    status, tracker = http(
        production.rasa_url(0) + f"/conversations/prod-lock-test/tracker?token={production.rasa_token}"
    )
    events = json.loads(tracker)["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    assert sorted(said) == sorted(texts)  # each once
    # One message at a time: every message's turn ends (action_listen) before the next message is stored.
    kinds = [e["event"] if e["event"] != "action" else e["name"] for e in events if e["event"] in ("user", "action")]
    turns = " ".join(kinds).split("user")[1:]
    assert len(turns) == 8 and all(turn.strip().endswith("action_listen") for turn in turns), kinds


def test_every_event_reaches_rabbitmq_and_the_insights_consumer_counts_it(production: Production):
    """Rasa 2 publishes to RabbitMQ; the profile's insights consumer takes the events off the queue into the
    analytics tables (so the queue itself stays near empty)."""
    sender = "prod-broker"
    reply = http(production.rasa_url(1) + "/webhooks/tandem/webhook", data={"sender": sender, "message": "hi"})
    assert reply[0] == 200
    deadline = time.monotonic() + 60
    counted = 0
    while time.monotonic() < deadline:
        with session_scope(production.database_url) as session:
            counted = session.scalar(
                select(func.coalesce(func.sum(InsightConversation.user_turns), 0)).where(
                    InsightConversation.sender_id == sender
                )
            )
        if counted:
            break
        time.sleep(1.0)
    assert counted == 1


def test_in_a_browser_a_customer_reaches_an_agent_through_the_one_address(production: Production, tmp_path):
    """The widget on the public address, the console on console.localhost: the handoff story through nginx."""
    from playwright.sync_api import expect, sync_playwright

    from bot.console.agents import create_agent
    from bot.handoff.routing import default_rules
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    username, password, customer = "prodagent", "a-long-enough-password", "CUST-00007"
    with session_scope(production.database_url) as session:
        create_agent(session, username, "Pat Example", password, role="admin", known_queues=default_rules().queue_keys)
    port = production.ports.public
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        agent = browser.new_context().new_page()
        agent.goto(f"http://console.localhost:{port}/")
        agent.get_by_label("Username").fill(username)
        agent.get_by_label("Password").fill(password)
        agent.get_by_role("button", name="Sign in").click()
        expect(agent.locator("#live-status")).to_have_text("Live", timeout=15_000)

        widget = browser.new_context().new_page()
        widget.goto(f"http://localhost:{port}/")
        widget.wait_for_function("() => window.TandemWidget !== undefined")
        widget.select_option("#demo-customer", customer)
        widget.get_by_role("button", name="Sign in").click()
        widget.locator(".tandem-launcher").click()
        log = widget.get_by_role("log")
        widget.fill("#tandem-input", "I want to talk to a person please")
        widget.keyboard.press("Enter")
        expect(log).to_contain_text("in the queue", timeout=30_000)

        with session_scope(production.database_url) as session:
            handoff_id = session.execute(
                select(Handoff.id)
                .join(Customer, Customer.id == Handoff.customer_id)
                .where(Customer.external_id == customer)
                .order_by(Handoff.id.desc())
            ).scalar()
        row = agent.locator(f'#queue-rows tr[data-handoff-id="{handoff_id}"]')
        expect(row).to_be_visible(timeout=15_000)
        row.locator("button", has_text="Claim").click()
        expect(agent.locator("#status-badge")).to_contain_text("you", timeout=15_000)
        for i in range(3):  # through nginx to either Rasa instance; the socket lives on one of them
            agent.locator("#composer-text").fill(f"Hello from Pat, message {i}")
            agent.locator("#composer-text").press("Control+Enter")
        replies = widget.locator(".tandem-msg--agent")
        expect(replies).to_have_count(3, timeout=20_000)
        expect(replies.last).to_contain_text("Hello from Pat, message 2")
        widget.fill("#tandem-input", "thanks, my parcel is late")
        widget.keyboard.press("Enter")
        expect(agent.locator("#timeline .msg--customer").last).to_contain_text("my parcel is late", timeout=15_000)
        widget.screenshot(path=str(tmp_path / "widget-through-nginx.png"))
        browser.close()
