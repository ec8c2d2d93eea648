"""`tandem journeys ...` as an operator runs it, against the real databases and a stand-in Rasa server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.db.models import JourneyFollowUp, utcnow
from bot.db.session import session_scope
from bot.journeys import store
from bot.journeys.types import FollowUpRequest
from tests.journeys.test_scheduler import FakeRasa
from tests.journeys.test_store import customer_id, open_one, step_result, turn

ROOT = Path(__file__).resolve().parents[2]


def tandem(*argv: str) -> int:
    """`tandem journeys ...` (bot/cli/journeys.py)."""
    return main(["journeys", *argv])


def seed_journeys(url: str, *, follow_up_due: bool = False) -> int:
    """CUST-00001: one open journey (with a due follow-up if asked) and one resolved; recent, so the KPIs see them."""
    now = utcnow() - timedelta(hours=2)
    follow_ups = (FollowUpRequest(60, response="utter_did_it_arrive"),) if follow_up_due else ()
    with session_scope(url) as session:
        cid = customer_id(session)
        waiting = open_one(
            session,
            cid,
            now=now,
            problem_key="late:ORD-1",
            conversation_id="widget-7",
            result=step_result(
                "waiting_for_company", "await", ("start", "await"), workflow="late_delivery", follow_ups=follow_ups
            ),
        )
        done = open_one(session, cid, now=now, problem_key="no_internet")
        turn(
            session,
            done.id,
            step_result("resolved", None, ("resolve",), outcome="fixed_by_restart"),
            now=now + timedelta(minutes=30),
        )
        store.record_csat(session, done.id, cid, 4)
    return waiting.id


def statuses(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.execute(select(JourneyFollowUp.status).order_by(JourneyFollowUp.id)).scalars())


def test_list_shows_a_customers_open_journeys_and_with_all_the_finished_ones(fresh_shop_db, capsys) -> None:
    journey_id = seed_journeys(fresh_shop_db)
    assert tandem("list", "CUST-00001", "--database-url", fresh_shop_db) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"#{journey_id}") and "waiting_for_company" in out[0]
    assert "late_delivery @ await" in out[0]
    assert tandem("list", "CUST-00001", "--all", "--database-url", fresh_shop_db) == 0
    out = capsys.readouterr().out
    assert "resolved" in out and "outcome: fixed_by_restart" in out
    assert tandem("list", "CUST-00002", "--database-url", fresh_shop_db) == 0
    assert "no open journeys" in capsys.readouterr().out
    assert tandem("list", "CUST-99999", "--database-url", fresh_shop_db) == 1
    assert "no customer CUST-99999" in capsys.readouterr().err


def test_kpis_print_a_table_per_workflow(fresh_shop_db, capsys) -> None:
    assert tandem("kpis", "--database-url", fresh_shop_db) == 0
    assert "No journeys opened in the last 30 days" in capsys.readouterr().out
    seed_journeys(fresh_shop_db)
    assert tandem("kpis", "--days", "7", "--database-url", fresh_shop_db) == 0
    out = capsys.readouterr().out
    assert "last 7 days" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["late_delivery"][1:4] == ["1", "0%", "0%"]
    assert rows["no_internet"][1:4] == ["1", "100%", "100%"] and rows["no_internet"][-2:] == ["4.00", "(1)"]
    assert rows["(all)"][1] == "2"


def test_followups_counts_and_run_once_delivers_the_due_ones_through_rasa(fresh_shop_db, capsys) -> None:
    journey_id = seed_journeys(fresh_shop_db, follow_up_due=True)
    assert tandem("followups", "--database-url", fresh_shop_db) == 0
    assert "pending 1; due now: 1" in capsys.readouterr().out
    with FakeRasa(status=500) as rasa:
        assert tandem("followups", "--run-once", "--database-url", fresh_shop_db, "--rasa-url", rasa.url) == 1
    assert "retrying 1" in capsys.readouterr().out and statuses(fresh_shop_db) == ["pending"]
    with session_scope(fresh_shop_db) as session:  # retry now rather than after the backoff
        session.execute(select(JourneyFollowUp)).scalar_one().due_at = utcnow() - timedelta(seconds=1)
    with FakeRasa() as rasa:
        assert (
            tandem(
                "followups",
                "--run-once",
                "--database-url",
                fresh_shop_db,
                "--rasa-url",
                rasa.url,
                "--rasa-token",
                "tok",
            )
            == 0
        )
    (request,) = rasa.requests
    assert request["path"] == "/conversations/widget-7/trigger_intent" and request["query"]["token"] == ["tok"]
    assert request["json"]["entities"]["journey_id"] == journey_id
    assert "sent 1" in capsys.readouterr().out and statuses(fresh_shop_db) == ["sent"]


def test_the_scheduler_runs_as_a_process_sends_what_is_due_and_stops_on_sigterm(fresh_shop_db) -> None:
    seed_journeys(fresh_shop_db, follow_up_due=True)
    env = {**os.environ, "TANDEM_JOURNEY_POLL_SECONDS": "0.2", "PYTHONPATH": str(ROOT)}
    with FakeRasa() as rasa:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "journeys",
                "scheduler",
                "--database-url",
                fresh_shop_db,
                "--rasa-url",
                rasa.url,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert rasa.received.wait(timeout=30), "the scheduler sent nothing"
            deadline = time.monotonic() + 10
            while statuses(fresh_shop_db) != ["sent"] and time.monotonic() < deadline:
                time.sleep(0.05)  # the process marks it sent right after Rasa answered
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out
    assert "follow-up scheduler stopped" in out
    assert statuses(fresh_shop_db) == ["sent"] and len(rasa.requests) == 1


@pytest.mark.parametrize("argv", [[], ["kpis", "--days", "soon"], ["list"]])
def test_bad_command_lines_get_usage_not_a_traceback(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        tandem(*argv)
    assert exc.value.code == 2


def test_an_agent_marks_a_journey_resolved_and_it_cannot_be_resolved_twice(fresh_shop_db, capsys) -> None:
    journey_id = seed_journeys(fresh_shop_db)
    assert tandem("resolve", str(journey_id), "--agent", "sam", "--database-url", fresh_shop_db) == 0
    assert "resolved by agent sam" in capsys.readouterr().out
    with session_scope(fresh_shop_db) as session:
        journey = store.get(session, journey_id, customer_id(session))
    assert journey.state == "resolved" and journey.resolved_by == "agent:sam"
    assert tandem("resolve", str(journey_id), "--agent", "sam", "--database-url", fresh_shop_db) == 1
    assert "resolved" in capsys.readouterr().err
