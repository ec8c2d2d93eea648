"""Follow-ups and nudges are sent by a scheduler that lives in the database: a clock the test moves, no sleeps."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.db.models import Journey, JourneyFollowUp, JourneyStep
from bot.db.session import session_scope
from bot.journeys import store
from bot.journeys.config import JourneyConfig
from bot.journeys.scheduler import (
    NO_REPLY_REASON,
    DueFollowUp,
    FollowUpScheduler,
    RasaHttpSender,
    SendError,
)
from bot.journeys.types import FollowUpRequest
from tests.journeys.test_store import T0, customer_id, open_one, said, step_result

CONFIG = JourneyConfig(
    nudge_after_hours=24,
    max_nudges=2,
    max_send_attempts=3,
    retry_backoff_seconds=60,
    claim_timeout_seconds=300,
    batch_size=100,
)


class Clock:
    """The scheduler's time, moved by the test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RecordingSender:
    """Delivers nowhere: remembers what it was asked to send; fails the first `failures` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[DueFollowUp] = []
        self.failures = failures
        self._lock = threading.Lock()

    def send(self, follow_up: DueFollowUp) -> None:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise SendError("Rasa answered HTTP 503")
            self.sent.append(follow_up)


class FakeRasa:
    """A real HTTP server standing in for Rasa's API: records each request, answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[dict] = []
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                outer.requests.append({"path": url.path, "query": parse_qs(url.query), "json": json.loads(body)})
                outer.received.set()
                reply = json.dumps({"tracker": {}, "messages": [{"recipient_id": "x", "text": "Did it arrive?"}]})
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def open_committed(
    url: str,
    *,
    delay_seconds: int | None = 3600,
    customer: str = "CUST-00001",
    state: str = "waiting_for_company",
    conversation_id: str = "conv-1",
    problem_key: str = "p",
) -> int:
    """A committed journey (with one follow-up due after `delay_seconds`, unless None)."""
    follow_ups = () if delay_seconds is None else (FollowUpRequest(delay_seconds, response="utter_did_it_arrive"),)
    with session_scope(url) as session:
        view = open_one(
            session,
            customer_id(session, customer),
            conversation_id=conversation_id,
            problem_key=problem_key,
            result=step_result(state, "await", ("start", "await"), follow_ups=follow_ups),
        )
    return view.id


def follow_ups(url: str, journey_id: int | None = None) -> list[JourneyFollowUp]:
    with session_scope(url) as session:
        stmt = select(JourneyFollowUp).order_by(JourneyFollowUp.id)
        if journey_id is not None:
            stmt = stmt.where(JourneyFollowUp.journey_id == journey_id)
        return list(session.execute(stmt).scalars())


def journey(url: str, journey_id: int) -> Journey:
    with session_scope(url) as session:
        return session.get(Journey, journey_id)


def test_nothing_due_means_nothing_sent(fresh_shop_db) -> None:
    open_committed(fresh_shop_db, delay_seconds=3600)
    sender, clock = RecordingSender(), Clock()
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    clock.advance(minutes=59)
    assert scheduler.run_once() == [] and sender.sent == []
    assert [f.status for f in follow_ups(fresh_shop_db)] == ["pending"]


def test_a_due_follow_up_is_sent_once_into_the_journeys_conversation_even_when_run_twice(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, conversation_id="widget-abc")
    sender, clock = RecordingSender(), Clock(T0 + timedelta(hours=1))
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    (sent,) = scheduler.run_once()
    assert scheduler.run_once() == []
    assert (sent.journey_id, sent.kind, sent.conversation_id, sent.at) == (
        journey_id,
        "follow_up",
        "widget-abc",
        clock.now,
    )
    (due,) = sender.sent
    assert (due.id, due.response, due.channel, due.attempt) == (sent.follow_up_id, "utter_did_it_arrive", "web", 1)
    (fu,) = follow_ups(fresh_shop_db)
    assert (fu.status, fu.sent_at, fu.attempts, fu.claim_token) == ("sent", clock.now, 1, None)


def test_a_new_scheduler_on_the_same_database_picks_up_what_is_pending(fresh_shop_db) -> None:
    open_committed(fresh_shop_db, delay_seconds=3600)
    clock = Clock()
    assert FollowUpScheduler(fresh_shop_db, RecordingSender(), clock=clock, config=CONFIG).run_once() == []
    # The process stops; a day later a new one starts with nothing in memory.
    clock.advance(days=1)
    sender = RecordingSender()
    assert len(FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG).run_once()) == 1
    assert len(sender.sent) == 1


def test_a_failed_send_is_retried_with_backoff_then_marked_failed(fresh_shop_db) -> None:
    open_committed(fresh_shop_db, delay_seconds=0)
    sender, clock = RecordingSender(failures=99), Clock()
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    report = scheduler.tick()
    assert (report.retrying, report.failed, report.sent) == (1, 0, [])
    (fu,) = follow_ups(fresh_shop_db)
    assert (fu.status, fu.attempts, fu.due_at, fu.last_error) == (
        "pending",
        1,
        T0 + timedelta(seconds=60),
        "Rasa answered HTTP 503",
    )
    assert scheduler.tick().retrying == 0  # not due again yet
    clock.advance(seconds=60)
    assert scheduler.tick().retrying == 1
    assert follow_ups(fresh_shop_db)[0].due_at == clock.now + timedelta(seconds=120)  # backoff doubles
    clock.advance(seconds=120)
    assert scheduler.tick().failed == 1
    (fu,) = follow_ups(fresh_shop_db)
    assert (fu.status, fu.attempts) == ("failed", 3)
    clock.advance(days=1)
    assert scheduler.tick().failed == 0  # given up for good


def test_a_send_that_fails_once_is_delivered_on_the_retry(fresh_shop_db) -> None:
    open_committed(fresh_shop_db, delay_seconds=0)
    sender, clock = RecordingSender(failures=1), Clock()
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    assert scheduler.run_once() == []
    clock.advance(minutes=1)
    assert len(scheduler.run_once()) == 1
    assert (follow_ups(fresh_shop_db)[0].status, sender.sent[0].attempt) == ("sent", 2)


def test_a_claim_left_by_a_crashed_scheduler_is_taken_over_after_the_timeout(fresh_shop_db) -> None:
    open_committed(fresh_shop_db, delay_seconds=0)
    with session_scope(fresh_shop_db) as session:  # what a scheduler killed mid-send leaves behind
        fu = session.execute(select(JourneyFollowUp)).scalar_one()
        fu.status, fu.claim_token, fu.claimed_at, fu.attempts = "sending", "dead", T0, 1
    sender, clock = RecordingSender(), Clock(T0 + timedelta(seconds=299))
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    assert scheduler.run_once() == []  # it may still be sending
    clock.advance(seconds=2)
    report = scheduler.tick()
    assert (report.reclaimed, len(report.sent)) == (1, 1)
    assert (sender.sent[0].attempt, follow_ups(fresh_shop_db)[0].status) == (2, "sent")


class SlowSender(RecordingSender):
    """Every send takes 200 s of the scheduler's clock (Rasa timing out)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def send(self, follow_up: DueFollowUp) -> None:
        self.clock.advance(seconds=200)
        super().send(follow_up)


def test_a_slow_pass_hands_back_its_claims_before_another_scheduler_could_take_them_over(fresh_shop_db) -> None:
    for n in (1, 2, 3):
        open_committed(fresh_shop_db, delay_seconds=0, customer=f"CUST-{n:05d}")
    clock = Clock()
    sender = SlowSender(clock)
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)  # claim timeout 300 s
    report = scheduler.tick()
    assert (len(report.sent), report.released) == (1, 2)
    assert sorted((f.status, f.attempts) for f in follow_ups(fresh_shop_db)) == [
        ("pending", 0),
        ("pending", 0),
        ("sent", 1),
    ]
    assert len(scheduler.run_once()) == 1 and len(scheduler.run_once()) == 1
    assert len({d.id for d in sender.sent}) == 3


def test_the_knobs_come_from_tandem_journey_variables() -> None:
    config = JourneyConfig.from_env(
        {
            "TANDEM_JOURNEY_REOPEN_WINDOW_DAYS": "7",
            "TANDEM_JOURNEY_NUDGE_AFTER_HOURS": "2.5",
            "TANDEM_JOURNEY_MAX_NUDGES": "0",
            "TANDEM_JOURNEY_POLL_SECONDS": "5",
        }
    )
    assert (config.reopen_window, config.nudge_after, config.max_nudges, config.poll_seconds) == (
        timedelta(days=7),
        timedelta(hours=2.5),
        0,
        5.0,
    )
    assert JourneyConfig.from_env({}) == JourneyConfig()
    assert [JourneyConfig(retry_backoff_seconds=10).retry_delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    for bad in (
        {"TANDEM_JOURNEY_MAX_NUDGES": "-1"},
        {"TANDEM_JOURNEY_POLL_SECONDS": "0"},
        {"TANDEM_JOURNEY_NUDGE_AFTER_HOURS": "a day"},
    ):
        with pytest.raises(ValueError, match="TANDEM_JOURNEY_"):
            JourneyConfig.from_env(bad)


def test_follow_ups_of_a_journey_resolved_meanwhile_are_not_sent(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, delay_seconds=0)
    with session_scope(fresh_shop_db) as session:  # e.g. an agent tool that writes the state directly
        session.get(Journey, journey_id).state = "resolved"
    sender = RecordingSender()
    report = FollowUpScheduler(fresh_shop_db, sender, clock=Clock(), config=CONFIG).tick()
    assert (report.sent, report.cancelled, sender.sent) == ([], 1, [])
    assert follow_ups(fresh_shop_db)[0].status == "cancelled"


def test_a_silent_customer_is_nudged_then_flagged_for_a_person_after_max_nudges(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, delay_seconds=None, state="waiting_for_customer")
    sender, clock = RecordingSender(), Clock()
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)

    clock.advance(hours=23)
    assert scheduler.tick().nudged == 0
    for n in (1, 2):
        clock.advance(hours=1 if n == 1 else 24)
        report = scheduler.tick()
        assert (report.nudged, [s.kind for s in report.sent]) == (1, ["nudge"])
        assert scheduler.tick().nudged == 0  # one nudge per quiet period
        assert journey(fresh_shop_db, journey_id).unanswered_nudges == n
    assert sender.sent[0].step == "await"
    clock.advance(hours=23)
    assert scheduler.tick().escalated == 0  # the customer still has time to answer the last nudge
    clock.advance(hours=1)
    report = scheduler.tick()
    assert (report.escalated, report.nudged) == (1, 0)
    flagged = journey(fresh_shop_db, journey_id)
    assert (flagged.state, flagged.escalation_reason, flagged.version) == ("escalated", NO_REPLY_REASON, 4)
    with session_scope(fresh_shop_db) as session:
        last = (
            session.execute(
                select(JourneyStep).where(JourneyStep.journey_id == journey_id).order_by(JourneyStep.seq.desc())
            )
            .scalars()
            .first()
        )
        assert (last.seq, last.step, last.state_after, last.channel) == (3, NO_REPLY_REASON, "escalated", "scheduler")
    clock.advance(days=3)
    assert scheduler.tick().nudged == 0 and len(sender.sent) == 2


def test_an_answer_resets_the_nudges_and_the_next_one_waits_a_full_period(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, delay_seconds=None, state="waiting_for_customer")
    clock = Clock(T0 + timedelta(hours=24))
    scheduler = FollowUpScheduler(fresh_shop_db, RecordingSender(), clock=clock, config=CONFIG)
    assert scheduler.tick().nudged == 1
    clock.advance(hours=2)
    with session_scope(fresh_shop_db) as session:
        view = store.record_turn(
            session,
            journey_id,
            step_result("waiting_for_customer", "await", ()),
            user_input=said("hang on"),
            channel="web",
            conversation_id="conv-1",
            now=clock.now,
        )
    assert view.unanswered_nudges == 0
    clock.advance(hours=23)
    assert scheduler.tick().nudged == 0
    clock.advance(hours=1)
    assert scheduler.tick().nudged == 1


def test_a_nudge_made_obsolete_before_it_went_out_is_cancelled(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, delay_seconds=None, state="waiting_for_customer")
    clock = Clock(T0 + timedelta(hours=24))
    sender = RecordingSender(failures=1)
    scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=CONFIG)
    assert scheduler.tick().retrying == 1
    with session_scope(fresh_shop_db) as session:  # the journey now waits on the company, not the customer
        store.record_turn(
            session,
            journey_id,
            step_result("waiting_for_company", "await_refund", ("refund",)),
            user_input=None,
            channel=None,
            conversation_id=None,
            now=clock.now,
        )
    clock.advance(minutes=5)
    assert scheduler.tick().sent == [] and sender.sent == []
    assert [f.status for f in follow_ups(fresh_shop_db, journey_id)] == ["cancelled"]


class GatedSender(RecordingSender):
    """Each thread's first send waits until the other thread is sending too: both hold claims at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Barrier(2)
        self.by_thread: dict[str, int] = {}

    def send(self, follow_up: DueFollowUp) -> None:
        name = threading.current_thread().name
        first = name not in self.by_thread
        self.by_thread[name] = self.by_thread.get(name, 0) + 1
        if first:
            self.gate.wait(timeout=10)
        super().send(follow_up)


def test_two_schedulers_at_once_never_send_a_follow_up_twice(fresh_shop_db) -> None:
    for n in range(1, 11):
        open_committed(fresh_shop_db, delay_seconds=0, customer=f"CUST-{n:05d}")
    with session_scope(fresh_shop_db) as session:  # a second follow-up on each journey
        for fu in list(session.execute(select(JourneyFollowUp)).scalars()):
            session.add(
                JourneyFollowUp(
                    journey_id=fu.journey_id,
                    kind="follow_up",
                    due_at=fu.due_at,
                    response="utter_second",
                    scheduled_at_step=fu.scheduled_at_step,
                    status="pending",
                    attempts=0,
                    created_at=T0,
                )
            )
    sender, clock, start = GatedSender(), Clock(), threading.Barrier(2)
    config = replace(CONFIG, batch_size=3)
    errors: list[BaseException] = []

    def drain() -> None:
        scheduler = FollowUpScheduler(fresh_shop_db, sender, clock=clock, config=config)
        try:
            start.wait(timeout=10)
            while scheduler.run_once():
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, name=f"scheduler-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(sender.by_thread) == ["scheduler-0", "scheduler-1"]  # both really worked at the same time
    ids = [d.id for d in sender.sent]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert {f.status for f in follow_ups(fresh_shop_db)} == {"sent"}


def test_rasa_sender_triggers_the_follow_up_intent_in_the_conversation() -> None:
    due = DueFollowUp(
        id=7,
        journey_id=3,
        kind="follow_up",
        conversation_id="sender 1/x",
        channel="web",
        response="utter_did_it_arrive",
        workflow="late_delivery",
        step="check",
        attempt=1,
    )
    with FakeRasa() as rasa:
        messages = RasaHttpSender(rasa.url + "/", token="s3cret", timeout=5).send(due)
    (request,) = rasa.requests
    assert request["path"] == "/conversations/sender%201%2Fx/trigger_intent"
    assert request["query"] == {"output_channel": ["latest"], "token": ["s3cret"]}
    assert request["json"] == {"name": "journey_follow_up", "entities": {"journey_id": 3, "follow_up_id": 7}}
    assert messages == [{"recipient_id": "x", "text": "Did it arrive?"}]


def test_rasa_sender_reports_refusals_and_unreachable_servers_as_send_errors() -> None:
    due = DueFollowUp(1, 1, "nudge", "c", None, None, None, None, 1)
    with FakeRasa(status=404) as rasa:
        with pytest.raises(SendError, match="HTTP 404"):
            RasaHttpSender(rasa.url).send(due)
        dead_url = rasa.url
    with pytest.raises(SendError, match="unreachable"):
        RasaHttpSender(dead_url, timeout=2).send(due)


def test_the_scheduler_delivers_through_rasas_http_api(fresh_shop_db) -> None:
    journey_id = open_committed(fresh_shop_db, delay_seconds=0, conversation_id="widget-42")
    with FakeRasa() as rasa:
        sent = FollowUpScheduler(fresh_shop_db, RasaHttpSender(rasa.url), clock=Clock(), config=CONFIG).run_once()
    (request,) = rasa.requests
    assert request["path"] == "/conversations/widget-42/trigger_intent"
    assert request["json"]["entities"] == {"journey_id": journey_id, "follow_up_id": sent[0].follow_up_id}
