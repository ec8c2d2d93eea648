"""Every path of every shop workflow, played as a conversation through the real journey actions.

The paths are the table of tests/journeys/test_workflow_paths.py (same customers, orders, shop changes,
network feed and clock). Here each one is a chat on SQLite and PostgreSQL: the customer's signed report goes
to `ActionJourneyStart`; each answer (yes/no, a button the bot offered, an order number, typed text) to
`ActionJourneyContinue` with the `journey` slot the previous action set; each due follow-up, found in the
database as the scheduler finds it, to `ActionJourneyFollowUp` in the journey's own conversation. What must
hold: the bot only says domain responses with every placeholder filled, the stored journey ends as the table
says through exactly the table's step records, each written with the message that moved it, and a resolved
journey ends with the satisfaction question.

The actions' journey service gets the table's clock and network feed: the seeded shop lives on 1 November
2026, and a follow-up's delay must pass on the shop's clock as it does in the runner's table.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.engine import make_url

import actions.journeys as journey_actions
from actions.journeys import JOURNEY_SLOT, ActionJourneyContinue, ActionJourneyFollowUp, ActionJourneyStart
from bot.db.models import Handoff, Journey, JourneyCsat, JourneyFollowUp, JourneyStep, SurveyAsk
from bot.db.session import dispose_engine, session_scope, sqlite_file
from bot.handoff.routing import default_rules
from bot.journeys.config import JourneyConfig
from bot.journeys.service import JourneyService, ReportContext
from bot.journeys.store import FOLLOW_UP_INTENT
from bot.journeys.types import UserInput
from bot.journeys.workflows import ShopDbFacts, WorkflowRunner, default_operations
from bot.journeys.workflows.schema import OperationStep
from bot.settings import get_settings
from tests.actions.conftest import run_action, tracker
from tests.conftest import POSTGRES_SERVER_URL, DatabaseFactory, seed_small_shop
from tests.journeys.test_workflow_paths import (
    CHARGES,
    DEVICE,
    LATE,
    NETWORKS,
    NO_INTERNET,
    NOW,
    PLACEHOLDER,
    RESPONSES,
    RETURNS,
    WORKFLOWS,
    Clock,
    Path,
)

TABLES = {
    "no_internet": NO_INTERNET,
    "device_wont_turn_on": DEVICE,
    "late_delivery": LATE,
    "return_refund": RETURNS,
    "wrong_charge": CHARGES,
}
CASES = [pytest.param(workflow, path, id=f"{workflow}: {path}") for workflow, paths in TABLES.items() for path in paths]
SHOP_WRITING_OPERATIONS = {"create_replacement_order", "issue_refund"}  # they add orders or change their status

# The customer's first message per workflow; {names} are filled with the report's entities.
REPORTS = {
    "no_internet": ("report_problem", "my internet is down"),
    "device_wont_turn_on": ("report_problem", "my {device} won't turn on"),
    "late_delivery": ("delivery_problem", "my order {order_id} is late"),
    "return_refund": ("return_item", "I want to return my order {order_id}"),
    "wrong_charge": ("billing_question", "I was charged too much for my {product_category} plan"),
}
REPORT_DEFAULTS = {"device": "device", "order_id": "", "product_category": ""}
DEVICE_WORDS = {"phones": "phone", "laptops": "laptop", "tablets": "tablet", "smartwatches": "watch"}
SPOKEN = {"affirm": "yes", "deny": "no"}
PAYLOAD = re.compile(r"/(\w+)(\{.*\})?")


@dataclass
class Chat:
    """What happened in the conversation: the bot's messages per turn, the intents sent, the last events."""

    journey_id: int
    conversation: str
    turns: list[list[dict[str, Any]]] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [m for turn in self.turns for m in turn]


def changes_shop(workflow: str, path: Path) -> bool:
    steps = WORKFLOWS[workflow].steps
    return path.prepare is not None or any(
        isinstance(steps[s], OperationStep) and steps[s].operation in SHOP_WRITING_OPERATIONS for s in path.steps
    )


class ShopCopies:
    """Copies of one seeded small shop, far quicker than migrating and seeding each: a file copy on SQLite,
    `CREATE DATABASE ... TEMPLATE` on PostgreSQL. The copies are dropped with the factory's databases."""

    def __init__(self, factory: DatabaseFactory) -> None:
        self.factory = factory
        self.template = factory.create()
        seed_small_shop(self.template)
        dispose_engine(self.template)  # a template must have no open connections
        self._admin = None
        if factory.backend == "postgresql":
            self._admin = create_engine(POSTGRES_SERVER_URL, future=True, isolation_level="AUTOCOMMIT")

    def copy(self) -> str:
        name = f"tandem_test_{secrets.token_hex(6)}"
        if self._admin is None:
            target = self.factory.tmp_dir / f"{name}.db"
            shutil.copyfile(sqlite_file(self.template), target)
            url = f"sqlite:///{target}"
        else:
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(self.template).database}"'))
            url = make_url(self.template).set(database=name).render_as_string(hide_password=False)
        self.factory.urls.append(url)
        return url

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="module")
def shop_copies(db_factory: DatabaseFactory) -> Iterator[ShopCopies]:
    copies = ShopCopies(db_factory)
    yield copies
    copies.close()


@pytest.fixture(scope="module")
def small_shop(shop_copies: ShopCopies) -> str:
    """The table's shop (seed 7, 60 customers, 1 November 2026), shared by the paths that only read it."""
    return shop_copies.copy()


@pytest.fixture
def shop_for(
    small_shop: str, shop_copies: ShopCopies, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, Path], str]]:
    """Points the actions at the shop a path needs: a private copy when it changes the shop's rows, the shared
    one otherwise (its journeys are removed after the test, so each path starts as a first report)."""
    fresh: list[str] = []

    def use(workflow: str, path: Path) -> str:
        url = small_shop
        if changes_shop(workflow, path):
            url = shop_copies.copy()
            fresh.append(url)
            if path.prepare:
                with session_scope(url) as session:
                    path.prepare(session, path.customer)
        monkeypatch.setenv("TANDEM_DATABASE_URL", url)
        get_settings.cache_clear()
        return url

    yield use
    get_settings.cache_clear()
    for url in fresh:
        dispose_engine(url)
    with session_scope(small_shop) as session:
        for table in (SurveyAsk, JourneyCsat, JourneyFollowUp, JourneyStep, Journey):  # each path: a first survey too
            session.execute(delete(table))


def serve_at(monkeypatch: pytest.MonkeyPatch, clock: Clock, network: str | None) -> None:
    """The actions' service, with the shop seen at `clock` and the path's network feed."""
    runner = WorkflowRunner(
        WORKFLOWS,
        lambda session, customer: ShopDbFacts(session, customer, now=clock.now),
        default_operations().with_config(network_status=NETWORKS[network]),
    )
    service = JourneyService(runner, JourneyConfig())
    monkeypatch.setattr(journey_actions, "default_service", lambda: service)


def report(workflow: str, context: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The customer's report (intent, text, entities) carrying the path's inputs as entities."""
    entities: dict[str, Any] = {}
    if "order_id" in context:
        entities["order_id"] = context["order_id"]
    if "device_category" in context:
        entities["device"] = DEVICE_WORDS[context["device_category"]]
    if "plan_category" in context:
        entities["product_category"] = context["plan_category"]
    intent, template = REPORTS[workflow]
    words = {**REPORT_DEFAULTS, **{k: str(v).replace("_", " ") for k, v in entities.items()}}
    text = " ".join(template.format(**words).split())
    assert ReportContext.from_input(UserInput(intent, entities, text)).values == context, "report misses an input"
    return intent, text, entities


def offered(messages: list[dict[str, Any]], value: str) -> dict[str, Any]:
    """The button the bot's last question offered for `value` (a customer can only press one it offered)."""
    for message in reversed(messages):
        for button in message.get("buttons") or []:
            if value in (json.loads(PAYLOAD.fullmatch(button["payload"]).group(2) or "{}")).values():
                return button
    raise AssertionError(f"the bot offered no '{value}' button: {[m['response'] for m in messages]}")


def answer(move: str, asked: list[dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    """A move of the table as the message Rasa hands the action server (intent, text, entities)."""
    kind, _, value = move.partition(":")
    if kind in SPOKEN:
        return kind, SPOKEN[kind], {}
    if kind == "button":  # a tap sends the payload as the message text
        payload = offered(asked, value)["payload"]
        intent, entities = PAYLOAD.fullmatch(payload).groups()
        return intent, payload, json.loads(entities or "{}")
    if kind == "order":
        return "inform", value, {"order_id": value}
    assert kind == "say", move
    return "inform", value, {}


def slot(events: list[dict[str, Any]], name: str) -> Any:
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    assert values, f"no {name} slot in {events}"
    return values[-1]


def claim_follow_up(url: str, journey_id: int) -> JourneyFollowUp:
    """The journey's pending follow-up, claimed as the scheduler claims it before it triggers the intent."""
    with session_scope(url) as session:
        (follow_up,) = (
            session.execute(
                select(JourneyFollowUp).where(
                    JourneyFollowUp.journey_id == journey_id,
                    JourneyFollowUp.status == "pending",
                    JourneyFollowUp.kind == "follow_up",
                )
            )
            .scalars()
            .all()
        )
        follow_up.status = "sending"
        return follow_up


def play(workflow: str, path: Path, url: str, clock: Clock) -> Chat:
    conversation = f"path-{secrets.token_hex(6)}"  # each path is its own conversation (and handoff)

    def in_conversation(tr):
        tr.sender_id = conversation
        return tr

    intent, text, entities = report(workflow, path.context)
    messages, events = run_action(
        ActionJourneyStart(), in_conversation(tracker(text, intent=intent, entities=entities, customer=path.customer))
    )
    journey = slot(events, JOURNEY_SLOT)
    assert journey and journey["workflow"] == workflow, journey
    chat = Chat(journey["id"], conversation, [messages], [intent], events)
    for move in path.script:
        assert journey["step"], f"the journey ended before '{move}'"
        if move == "fire":
            follow_up = claim_follow_up(url, chat.journey_id)
            assert follow_up.scheduled_at_step == journey["step"]
            clock.now += follow_up.due_at - follow_up.created_at
            intent = FOLLOW_UP_INTENT
            trigger = tracker(
                "",
                intent=intent,
                slots={JOURNEY_SLOT: journey},  # the scheduler signs nothing
                entities={"journey_id": chat.journey_id, "follow_up_id": follow_up.id},
            )
            trigger.sender_id = conversation
            messages, events = run_action(ActionJourneyFollowUp(), trigger)
        else:
            assert journey["waiting_for_customer"], f"the policy would not route '{move}' to the journey: {journey}"
            intent, text, entities = answer(move, chat.turns[-1])
            messages, events = run_action(
                ActionJourneyContinue(),
                in_conversation(
                    tracker(
                        text, intent=intent, entities=entities, customer=path.customer, slots={JOURNEY_SLOT: journey}
                    )
                ),
            )
        assert messages, f"the bot said nothing after '{move}'"
        chat.turns.append(messages)
        chat.intents.append(intent)
        chat.events = events
        journey = slot(events, JOURNEY_SLOT)
        assert journey is None or journey["id"] == chat.journey_id
    return chat


def assert_domain_responses(chat: Chat) -> None:
    for message in chat.messages:
        assert message["response"] in RESPONSES, message["response"]
        for variant in RESPONSES[message["response"]]:
            missing = set(PLACEHOLDER.findall(variant["text"])) - set(message)
            assert not missing, f"{message['response']} lacks {missing}"


def assert_stored(url: str, chat: Chat, path: Path) -> None:
    with session_scope(url) as session:
        journey = session.get(Journey, chat.journey_id)
        records = (
            session.execute(
                select(JourneyStep).where(JourneyStep.journey_id == chat.journey_id).order_by(JourneyStep.seq)
            )
            .scalars()
            .all()
        )
    assert (journey.state, journey.current_step) == (path.state, None)
    assert (journey.outcome if path.state == "resolved" else journey.escalation_reason) == path.end
    assert [r.step for r in records] == path.steps
    assert [r.intent for r in records if r.intent] == chat.intents  # each turn's first record: what moved it
    assert {r.conversation_id for r in records} == {chat.conversation}


def assert_ending(chat: Chat, path: Path) -> None:
    said = [m["response"] for m in chat.messages]
    if path.state == "resolved":
        assert said.index("utter_csat_question") == len(said) - 1, said
        assert all(f'"journey_id": {chat.journey_id}' in b["payload"] for b in chat.messages[-1]["buttons"])
        assert len(chat.messages[-1]["buttons"]) == 5
        assert slot(chat.events, JOURNEY_SLOT) is None
    else:
        assert "utter_csat_question" not in said
        assert slot(chat.events, "handoff_reason") == path.end
        assert not slot(chat.events, JOURNEY_SLOT)["waiting_for_customer"]
        assert said[-1] == "utter_handoff_offline", "escalated: a person is asked for (nobody is online here)"


@pytest.mark.parametrize("workflow, path", CASES)
def test_every_workflow_path_plays_as_a_conversation_through_the_journey_actions(
    workflow: str, path: Path, shop_for: Callable[[str, Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = shop_for(workflow, path)
    clock = Clock(NOW + timedelta(days=path.days_later))
    serve_at(monkeypatch, clock, path.network)
    chat = play(workflow, path, url, clock)
    assert_domain_responses(chat)
    assert_stored(url, chat, path)
    assert_ending(chat, path)
    if path.state != "resolved":  # the escalation is a handoff to the workflow's queue, with the journey
        with session_scope(url) as session:
            handoff = session.execute(select(Handoff).where(Handoff.conversation_id == chat.conversation)).scalar_one()
        assert (handoff.journey_id, handoff.reason, handoff.queue) == (
            chat.journey_id,
            path.end,
            default_rules().route(workflow=workflow),
        )


def test_every_workflow_has_its_paths_played_as_conversations() -> None:
    assert set(TABLES) == set(WORKFLOWS)
