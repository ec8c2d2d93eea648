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
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import JourneyFollowUp
from bot.db.session import session_scope
from bot.handoff.agent_events import agent_message
from bot.identity import sign_customer
from bot.journeys.types import FollowUpRequest
from bot.rasa_api import RasaApi
from tests.journeys.test_store import customer_id, open_one, step_result
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


def journey_with_a_follow_up_due_now(url: str, customer: str, conversation_id: str) -> None:
    """A late delivery waiting for the company, its follow-up due now (as two days after the promise)."""
    result = step_result(
        "waiting_for_company",
        "wait_slightly_late",
        ("start", "wait_slightly_late"),
        workflow="late_delivery",
        follow_ups=(FollowUpRequest(0, response="utter_wf_follow_up_hello"),),
    )
    with session_scope(url) as session:
        now = datetime.now(UTC).replace(tzinfo=None)
        open_one(session, customer_id(session, customer), now=now, conversation_id=conversation_id, result=result)


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
            journey_with_a_follow_up_due_now(production.database_url, customer, widget.session_id)
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


def test_every_event_reaches_rabbitmq(production: Production):
    import aio_pika

    async def queued() -> int:
        connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{production.ports.rabbitmq}/")
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("tandem_events", durable=True, passive=True)
            return queue.declaration_result.message_count

    assert (
        http(production.rasa_url(1) + "/webhooks/tandem/webhook", data={"sender": "prod-broker", "message": "hi"})[0]
        == 200
    )
    assert asyncio.run(queued()) > 0
