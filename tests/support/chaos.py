"""Faults under load against the production profile: steady conversations while each kind of process is killed.

Customers chat through nginx as the widget does (a `message_id` per message, resent with the same id until it
is acknowledged), one asks for a person and an agent answers through the console, journeys' follow-ups fall
due, while in turn `kill -9` hits a Rasa instance, an action server, the console, the scheduler, the insights
consumer, nginx, Redis, PostgreSQL and RabbitMQ (the profile's supervisor starts each again). Afterwards what the
clients recorded is checked against the stores: every acknowledged message stored once and answered, every agent
reply and follow-up stored and delivered once, every customer message counted once by the insights consumer; and
each fault's recovery time. `tests/production/test_chaos.py` runs a
short form in CI, `bench/chaos.py` the whole one.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot import run_lock
from bot.db.models import Customer, Handoff, HandoffMessage, InsightConversation, JourneyFollowUp, JourneyStep, Order
from bot.db.session import session_scope
from bot.domain_files import load_domain
from bot.identity import sign_customer
from bot.insights.events import EXTERNAL_MESSAGE_PREFIX
from bot.journeys import store as journeys
from bot.journeys.types import BotMessage, FollowUpRequest, StepResult, UserInput
from bot.processes import answers
from bot.rasa_api import RasaApi
from tests.support.production import Production
from tests.support.widget_client import WidgetClient

ALL_FAULTS = (
    "rasa 1",
    "action server 1",
    "agent console",
    "follow-up scheduler",
    "insights consumer",
    "nginx",
    "redis",
    "postgresql",
    "rabbitmq",
)
SCRIPT = ("hello", "where is my order {order}?", "do you sell wireless headphones?", "thanks!")
ACK_TIMEOUT = 30.0
MAX_ATTEMPTS = 12
RECOVERY_TIMEOUT = 240.0
FOLLOW_UP_RESPONSE = "utter_wf_follow_up_hello"
CHAOS_ENV = {"TANDEM_JOURNEY_CLAIM_TIMEOUT_SECONDS": "20"}  # a killed scheduler's claims are taken over soon


def journey_with_a_follow_up_due_now(url: str, customer: str, conversation_id: str, problem_key: str) -> int:
    """A late delivery waiting for the company, its follow-up due now (as two days after the promise); its id."""
    result = StepResult(
        workflow="late_delivery",
        current_step="wait_slightly_late",
        state="waiting_for_company",
        messages=(BotMessage("utter_wf_delivery_wait_two_days"),),
        steps_taken=("start", "wait_slightly_late"),
        context={},
        follow_ups=(FollowUpRequest(0, response=FOLLOW_UP_RESPONSE),),
    )
    with session_scope(url) as session:
        customer_pk = session.execute(select(Customer.id).where(Customer.external_id == customer)).scalar_one()
        journey = journeys.open_journey(
            session,
            customer_pk,
            result,
            problem_key=problem_key,
            channel="web",
            conversation_id=conversation_id,
            user_input=UserInput(intent="report_problem", text="my parcel is late", channel="web"),
            now=datetime.now(UTC).replace(tzinfo=None),
        )
        return session.execute(select(JourneyFollowUp.id).where(JourneyFollowUp.journey_id == journey.id)).scalar_one()


# --- what the clients record -----------------------------------------------------------------------------------


@dataclass
class Sent:
    conversation: str
    message_id: str
    text: str
    window: str  # the fault under way when it was first sent
    attempts: int = 0
    acked: bool = False
    refused: str | None = None  # a 4xx answer (the harness sends nothing a customer could not)


@dataclass
class Window:
    fault: str
    recovery_s: float | None = None  # None: it did not recover within RECOVERY_TIMEOUT


@dataclass
class ChaosReport:
    windows: list[Window] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    stored: Counter[str] = field(default_factory=Counter)  # message_id -> user events with it, over all trackers
    answered: set[str] = field(default_factory=set)  # message_ids followed by a bot message
    agent_replies: list[str] = field(default_factory=list)  # texts the console accepted
    agent_stored: Counter[str] = field(default_factory=Counter)  # text -> handoff messages with it
    agent_received: Counter[str] = field(default_factory=Counter)  # text -> times the customer got it
    agent_undelivered: set[str] = field(default_factory=set)  # texts the console never handed to Rasa
    follow_ups: dict[int, str] = field(default_factory=dict)  # id -> customer conversation
    follow_up_status: dict[int, str] = field(default_factory=dict)
    # id -> follow-up turns its journey recorded. (Rasa's trigger event may be stored twice: when Rasa answers the
    # scheduler an error after it stored the turn, say Redis gone before the lock was released, the scheduler
    # sends it again; the journey has moved on by then, so the second trigger says and records nothing.)
    follow_up_turns: Counter[int] = field(default_factory=Counter)
    follow_up_received: Counter[str] = field(default_factory=Counter)  # conversation -> greetings received
    # conversation -> the customer's messages in its tracker, and those the insights consumer counted (from RabbitMQ)
    customer_turns: Counter[str] = field(default_factory=Counter)
    insight_turns: Counter[str] = field(default_factory=Counter)

    def problems(self) -> list[str]:
        found = []
        for s in self.sent:
            if not s.acked:
                found.append(f"{s.message_id} ({s.window}) never acknowledged after {s.attempts} tries")
            elif self.stored[s.message_id] != 1:
                found.append(f"{s.message_id} ({s.window}) stored {self.stored[s.message_id]} times")
            elif s.message_id not in self.answered:
                found.append(f"{s.message_id} ({s.window}) stored but never answered")
        for text in self.agent_replies:
            if self.agent_stored[text] != 1 or self.agent_received[text] != 1:
                found.append(
                    f"agent reply {text!r}: stored {self.agent_stored[text]}x, received {self.agent_received[text]}x"
                    + (" (never handed to Rasa)" if text in self.agent_undelivered else "")
                )
        per_conversation = Counter(self.follow_ups.values())
        for follow_up_id in self.follow_ups:
            status, turns = self.follow_up_status.get(follow_up_id), self.follow_up_turns[follow_up_id]
            if status != "sent" or turns != 1:
                found.append(f"follow-up {follow_up_id}: {status}, {turns} turns recorded")
        for conversation, expected in per_conversation.items():
            if self.follow_up_received[conversation] != expected:
                found.append(
                    f"{conversation}: {expected} follow-ups sent, {self.follow_up_received[conversation]} received"
                )
        for conversation, stored in self.customer_turns.items():
            if self.insight_turns[conversation] != stored:
                found.append(
                    f"{conversation}: {stored} customer messages stored, {self.insight_turns[conversation]} counted "
                    "by the insights consumer"
                )
        found += [
            f"{w.fault}: no recovery within {RECOVERY_TIMEOUT:.0f} s" for w in self.windows if w.recovery_s is None
        ]
        return found

    def table(self) -> str:
        lines = [
            f"{'window':<22} {'recovery s':>10} {'sent':>5} {'acked':>6} {'answered':>9} {'lost':>5} {'dup':>4} {'retried':>8}"
        ]
        for name in ["warm-up", *(w.fault for w in self.windows)]:
            ours = [s for s in self.sent if s.window == name]
            acked = [s for s in ours if s.acked]
            answered = [s for s in acked if s.message_id in self.answered]
            lost = [s for s in acked if self.stored[s.message_id] == 0 or s.message_id not in self.answered]
            duplicated = [s for s in acked if self.stored[s.message_id] > 1]
            retried = [s for s in ours if s.attempts > 1]
            window = next((w for w in self.windows if w.fault == name), None)
            recovery = "-" if window is None else ("never" if window.recovery_s is None else f"{window.recovery_s:.1f}")
            lines.append(
                f"{name:<22} {recovery:>10} {len(ours):>5} {len(acked):>6} {len(answered):>9} {len(lost):>5} "
                f"{len(duplicated):>4} {len(retried):>8}"
            )
        delivered_once = sum(1 for t in self.agent_replies if self.agent_received[t] == 1 and self.agent_stored[t] == 1)
        lines.append(f"agent replies: {len(self.agent_replies)} accepted, {delivered_once} stored and delivered once")
        sent_once = sum(
            1 for i in self.follow_ups if self.follow_up_status.get(i) == "sent" and self.follow_up_turns[i] == 1
        )
        lines.append(f"follow-ups: {len(self.follow_ups)} due, {sent_once} sent and delivered once")
        return "\n".join(lines)


# --- the clients -----------------------------------------------------------------------------------------------


class Shopper:
    """A customer's widget through nginx: reconnects (with what it missed) and resends unacknowledged messages."""

    def __init__(self, production: Production, external_id: str, order: str | None = None) -> None:
        self.production = production
        self.external_id = external_id
        self.order = order or ""
        self.conversation = f"chaos-{external_id}-{uuid.uuid4().hex[:8]}"
        self.route = uuid.uuid4().hex
        self.client: WidgetClient | None = None
        self.received: list[dict[str, Any]] = []
        self.last_seen: float | None = None

    def _take(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if self.last_seen is not None and message.get("timestamp", 0) <= self.last_seen:
                continue  # already had it live
            self.received.append(message)
            self.last_seen = max(self.last_seen or 0.0, float(message.get("timestamp", 0)))

    def collect(self) -> None:
        if self.client is not None:
            self._take(self.client.drain())

    async def connect(self) -> None:
        if self.client is not None and self.client.sio.connected:
            return
        await self.drop()
        url = f"http://127.0.0.1:{self.production.ports.public}?tandem_route={self.route}"
        token = sign_customer(self.external_id, secret=self.production.secret_key)
        client = WidgetClient(url, token=token, session_id=self.conversation)
        try:
            await client.connect(since=self.last_seen, timeout=15)
        except BaseException:
            await _quietly(client.close())
            raise
        self.client = client
        if client.session_error:
            raise ConnectionError(f"session refused: {client.session_error}")
        self._take((client.state or {}).get("messages") or [])

    async def drop(self) -> None:
        if self.client is not None:
            self.collect()
            await _quietly(self.client.close())
            self.client = None

    async def say(self, text: str, window: str) -> Sent:
        sent = Sent(self.conversation, f"m{uuid.uuid4().hex}", text, window)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            sent.attempts = attempt
            try:
                await self.connect()
                assert self.client is not None
                ack = await self.client.send(text, message_id=sent.message_id, timeout=ACK_TIMEOUT)
            except Exception:  # a dead connection, a timeout: the widget reconnects and tries again
                await self.drop()
                await asyncio.sleep(min(2.0 * attempt, 10.0))
                continue
            self.collect()
            if ack.get("ok"):
                sent.acked = True
                return sent
            status = int(ack.get("status") or 0)
            if status in (429, 503) or status >= 500:
                await asyncio.sleep(float(ack.get("retry_after") or min(2.0 * attempt, 10.0)))
                continue
            sent.refused = f"{status} {ack.get('error')}"
            return sent
        return sent


async def _quietly(coro: Any) -> None:
    try:
        await asyncio.wait_for(coro, 5)
    except Exception:
        pass


class Agent:
    """An agent in the console through nginx (`console.localhost`), replying to one customer's handoff."""

    def __init__(self, production: Production, username: str, password: str) -> None:
        self.production = production
        self.username, self.password = username, password
        self.base = f"http://127.0.0.1:{production.ports.public}"
        self.headers = {"Host": f"console.localhost:{production.ports.public}"}
        self.http: aiohttp.ClientSession | None = None
        self.csrf = ""

    async def sign_in(self) -> None:
        if self.http is not None:
            await self.http.close()
        # The console's cookie comes from 127.0.0.1 (nginx's address; the Host header names the console).
        self.http = aiohttp.ClientSession(
            headers=self.headers, timeout=aiohttp.ClientTimeout(total=30), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        async with self.http.get(f"{self.base}/login") as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert token, "no sign-in form"
        form = {"username": self.username, "password": self.password, "csrf_token": token.group(1), "next": "/"}
        async with self.http.post(f"{self.base}/login", data=form) as page:
            found = re.search(r'<meta name="csrf-token" content="([^"]+)"', await page.text())
        if not found:
            raise ConnectionError("could not sign in to the console")
        self.csrf = found.group(1)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> int:
        assert self.http is not None
        async with self.http.post(f"{self.base}{path}", json=body or {}, headers={"X-CSRF-Token": self.csrf}) as answer:
            return answer.status

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


def _stored_reply(url: str, handoff_id: int, text: str) -> bool:
    with session_scope(url) as session:
        return (
            session.execute(
                select(HandoffMessage.id).where(HandoffMessage.handoff_id == handoff_id, HandoffMessage.text == text)
            ).first()
            is not None
        )


# --- faults ----------------------------------------------------------------------------------------------------


def kill(production: Production, service: str) -> int:
    """`kill -9` of the service's process group (a wrapper and what it started: rabbitmq's script and its VM)."""
    record = run_lock.read(production.root)
    assert record is not None, "the profile is not running"
    (entry,) = [s for s in record.services if s.name == service]
    assert entry.pid is not None and record.ours(entry.pid), f"{service} is not running"
    os.killpg(entry.pid, signal.SIGKILL)
    return entry.pid


def back(production: Production, service: str, old_pid: int) -> bool:
    record = run_lock.read(production.root)
    entry = next((s for s in (record.services if record else ()) if s.name == service), None)
    if entry is None or entry.pid in (None, old_pid) or not record.ours(entry.pid):
        return False
    return entry.health_url is None or answers(entry.health_url, 2.0, any_status=True)


async def _answered_through_nginx(production: Production, http: aiohttp.ClientSession) -> bool:
    """A new conversation's first message through the public address gets a real answer."""
    body = {"sender": f"chaos-probe-{uuid.uuid4().hex[:8]}", "message": "hello"}
    try:
        async with http.post(
            f"http://127.0.0.1:{production.ports.public}/webhooks/tandem/webhook", json=body
        ) as answer:
            return answer.status == 200 and bool(await answer.json())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False


# --- the run ---------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    faults: tuple[str, ...] = ALL_FAULTS
    customers: int = 4  # chatting
    follow_up_customers: int = 2  # idle, receiving follow-ups
    follow_up_every: float = 8.0
    agent_reply_every: float = 4.0
    pause: float = 1.0  # between a customer's messages
    warm_up: float = 15.0
    settle: float = 10.0  # after a recovery, before the next fault


async def run_chaos(production: Production, plan: Plan, agent_password: str, agent_username: str) -> ChaosReport:
    report = ChaosReport()
    url = production.database_url
    with session_scope(url) as session:
        rows = session.execute(
            select(Customer.external_id, Order.order_number).join(Order).order_by(Customer.external_id)
        ).all()
    orders: dict[str, str] = {}
    for external_id, number in rows:
        orders.setdefault(external_id, number)
    ids = sorted(orders)
    chatting = [Shopper(production, i, orders[i]) for i in ids[: plan.customers]]
    waiting = [Shopper(production, i) for i in ids[plan.customers : plan.customers + plan.follow_up_customers]]
    asking = Shopper(production, ids[plan.customers + plan.follow_up_customers])
    window = ["warm-up"]
    stop = asyncio.Event()

    async def chat(customer: Shopper) -> None:
        turn = 0
        while not stop.is_set():
            text = SCRIPT[turn % len(SCRIPT)].format(order=customer.order)
            report.sent.append(await customer.say(text, window[0]))
            turn += 1
            await asyncio.sleep(plan.pause)

    async def listen(customer: Shopper) -> None:
        while not stop.is_set():
            try:
                await customer.connect()
                customer.collect()
            except Exception:
                await customer.drop()
            await asyncio.sleep(1.0)

    async def follow_ups() -> None:
        n = 0
        while not stop.is_set():
            customer = waiting[n % len(waiting)]
            try:
                follow_up_id = await asyncio.to_thread(
                    journey_with_a_follow_up_due_now, url, customer.external_id, customer.conversation, f"chaos-{n}"
                )
                report.follow_ups[follow_up_id] = customer.conversation
                n += 1
            except Exception:
                pass  # the database is down right now: the shop would schedule it later
            await asyncio.sleep(plan.follow_up_every)

    async def agent_work() -> None:
        agent = Agent(production, agent_username, agent_password)
        handoff_id = None
        k = 0
        try:
            while not stop.is_set():
                try:
                    if not agent.csrf:
                        await agent.sign_in()
                    if handoff_id is None:
                        handoff_id = await asyncio.to_thread(_handoff_of, url, asking.conversation)
                        if handoff_id is None or await agent.post(f"/api/handoffs/{handoff_id}/claim") >= 300:
                            handoff_id = None
                            await asyncio.sleep(1.0)
                            continue
                    text = f"agent reply {k}"
                    try:
                        status = await agent.post(f"/api/handoffs/{handoff_id}/messages", {"text": text})
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    # As an agent would: a reply whose answer never came is looked for in the conversation.
                    if status in (201, 202) or await asyncio.to_thread(_stored_reply, url, handoff_id, text):
                        report.agent_replies.append(text)
                        k += 1
                    elif status in (401, 403):
                        agent.csrf = ""
                except (aiohttp.ClientError, TimeoutError, ConnectionError, AssertionError):
                    agent.csrf = ""
                except Exception:
                    pass  # the database is down: try again
                await asyncio.sleep(plan.agent_reply_every)
        finally:
            await agent.close()

    report.sent.append(await asking.say("I want to talk to a person please", "warm-up"))
    tasks = [asyncio.create_task(chat(c)) for c in chatting]
    tasks += [asyncio.create_task(listen(c)) for c in [*waiting, asking]]
    tasks += [asyncio.create_task(follow_ups()), asyncio.create_task(agent_work())]
    probe = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        await asyncio.sleep(plan.warm_up)
        for fault in plan.faults:
            window[0] = fault
            record = Window(fault)
            report.windows.append(record)
            old_pid = kill(production, fault)
            started = time.monotonic()
            while time.monotonic() - started < RECOVERY_TIMEOUT:
                await asyncio.sleep(0.5)
                if await asyncio.to_thread(back, production, fault, old_pid) and await _answered_through_nginx(
                    production, probe
                ):
                    record.recovery_s = time.monotonic() - started
                    break
            await asyncio.sleep(plan.settle)
        window[0] = "after"
        stop.set()
        await asyncio.wait(tasks, timeout=ACK_TIMEOUT * 3)
        await _settle_follow_ups(url, report, timeout=90)
        await _settle_agent_replies(url, asking.conversation, timeout=60)
        for customer in [*chatting, *waiting, asking]:  # a reload: whatever was missed live arrives now
            await customer.drop()
            try:
                await customer.connect()
            except Exception:
                pass
            await asyncio.sleep(0.5)
            await customer.drop()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await probe.close()
    await _check(production, report, chatting, waiting, asking)
    return report


def _pattern(response: str) -> re.Pattern[str]:
    """A response's texts as a pattern (its slots, such as {first_name}, match anything)."""
    texts = [v["text"] for v in load_domain()["responses"][response] if "text" in v]
    return re.compile("|".join(re.sub(r"\\\{\w+\\\}", ".*", re.escape(t)) for t in texts))


def _handoff_of(url: str, conversation: str) -> int | None:
    with session_scope(url) as session:
        return session.execute(
            select(Handoff.id).where(Handoff.conversation_id == conversation).order_by(Handoff.id.desc())
        ).scalar()


async def _settle_follow_ups(url: str, report: ChaosReport, timeout: float) -> None:
    """Wait for every due follow-up to be sent (a killed scheduler's claims are taken over after a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report.follow_up_status = await asyncio.to_thread(_follow_up_status, url, list(report.follow_ups))
        if all(status in ("sent", "failed", "cancelled") for status in report.follow_up_status.values()):
            return
        await asyncio.sleep(2.0)


async def _settle_agent_replies(url: str, conversation: str, timeout: float) -> None:
    """Wait for the console to hand Rasa every stored agent reply (it retries every few seconds after a fault)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(_undelivered_replies, url, conversation):
            return
        await asyncio.sleep(2.0)


def _undelivered_replies(url: str, conversation: str) -> int:
    with session_scope(url) as session:
        return session.execute(
            select(func.count(HandoffMessage.id))
            .join(Handoff, Handoff.id == HandoffMessage.handoff_id)
            .where(
                Handoff.conversation_id == conversation,
                HandoffMessage.kind == "agent",
                HandoffMessage.delivered_at.is_(None),
            )
        ).scalar_one()


async def _settle_insights(url: str, report: ChaosReport, timeout: float) -> None:
    """Wait for the insights consumer to count every stored customer message (it may still be catching up on
    RabbitMQ's queue after its own restart or the broker's)."""
    deadline = time.monotonic() + timeout
    while True:
        report.insight_turns = Counter(await asyncio.to_thread(_insight_turns, url, list(report.customer_turns)))
        if all(report.insight_turns[c] >= n for c, n in report.customer_turns.items()) or time.monotonic() > deadline:
            return
        await asyncio.sleep(2.0)


def _insight_turns(url: str, conversations: list[str]) -> dict[str, int]:
    with session_scope(url) as session:
        rows = session.execute(
            select(InsightConversation.sender_id, func.sum(InsightConversation.user_turns))
            .where(InsightConversation.sender_id.in_(conversations))
            .group_by(InsightConversation.sender_id)
        ).all()
    return {sender: int(turns or 0) for sender, turns in rows}


def _follow_up_turns(url: str, ids: list[int]) -> dict[int, int]:
    """Follow-up id -> follow-up turns recorded in its journey (each chaos follow-up has a journey of its own)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(JourneyFollowUp.id, func.count(JourneyStep.id))
            .join(JourneyStep, JourneyStep.journey_id == JourneyFollowUp.journey_id)
            .where(JourneyFollowUp.id.in_(ids), JourneyStep.intent == journeys.FOLLOW_UP_INTENT)
            .group_by(JourneyFollowUp.id)
        ).all()
    return dict(rows)


def _follow_up_status(url: str, ids: list[int]) -> dict[int, str]:
    with session_scope(url) as session:
        return dict(
            session.execute(select(JourneyFollowUp.id, JourneyFollowUp.status).where(JourneyFollowUp.id.in_(ids))).all()
        )


async def _check(
    production: Production, report: ChaosReport, chatting: list[Shopper], waiting: list[Shopper], asking: Shopper
) -> None:
    api = RasaApi(production.rasa_url(0), production.rasa_token, timeout=60)
    try:
        for customer in [*chatting, *waiting, asking]:
            events = await api.events(customer.conversation)
            last_user: str | None = None
            for event in events:
                if event.get("event") == "user":
                    last_user = event.get("message_id")
                    report.stored[last_user or ""] += 1
                    if not (event.get("text") or "").startswith(EXTERNAL_MESSAGE_PREFIX):  # not a follow-up's trigger
                        report.customer_turns[customer.conversation] += 1
                elif event.get("event") == "bot" and last_user is not None:
                    report.answered.add(last_user)
    finally:
        await api.close()
    await _settle_insights(production.database_url, report, timeout=150)  # the reconcile: 60 s settle + 60 s turns
    report.follow_up_status = await asyncio.to_thread(
        _follow_up_status, production.database_url, list(report.follow_ups)
    )
    report.follow_up_turns.update(
        await asyncio.to_thread(_follow_up_turns, production.database_url, list(report.follow_ups))
    )
    greeting = _pattern(FOLLOW_UP_RESPONSE)
    for customer in waiting:
        report.follow_up_received[customer.conversation] = sum(
            1 for m in customer.received if m.get("from") == "bot" and greeting.fullmatch(m.get("text") or "")
        )
    for message in asking.received:
        if message.get("from") == "agent":
            report.agent_received[message.get("text") or ""] += 1
    handoff_id = await asyncio.to_thread(_handoff_of, production.database_url, asking.conversation)
    if handoff_id is not None:
        with session_scope(production.database_url) as session:
            rows = session.execute(
                select(HandoffMessage.text, HandoffMessage.delivered_at).where(
                    HandoffMessage.handoff_id == handoff_id, HandoffMessage.kind == "agent"
                )
            ).all()
            report.agent_stored.update(text for text, _ in rows)
            report.agent_undelivered.update(text for text, delivered_at in rows if delivered_at is None)
