"""The chat promises an erasure "within 30 days"; these tests keep that promise backed: every request gets a due date
fixed when it is recorded (`TANDEM_ERASURE_DUE_DAYS`, whose default is the number the chat says), the queue is
sorted by it, overdue and due-soon requests are told apart, the follow-up scheduler warns hourly about the overdue
ones, and `tandem privacy requests` exits 1 while any is overdue. Store tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select, text

from bot.cli import main
from bot.db.migrate import alembic_config, upgrade
from bot.db.models import Customer, utcnow
from bot.db.session import make_engine, session_scope
from bot.domain_files import load_domain
from bot.journeys.scheduler import FollowUpScheduler
from bot.privacy import requests
from bot.privacy.deadlines import OverdueCheck
from bot.privacy.housekeeping import PrivacyHousekeeping, housekeeping_from_settings
from bot.privacy.requests import PrivacyRequestView
from bot.settings import DEFAULT_ERASURE_DUE_DAYS, ConfigError, erasure_due_days, get_settings

PROMISES = ("utter_privacy_erasure_confirm", "utter_privacy_erasure_recorded", "utter_privacy_erasure_already")


@pytest.fixture
def due_days_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set TANDEM_ERASURE_DUE_DAYS through the environment; the cached settings are read afresh around the test."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def _customer_ids(url: str, n: int) -> list[int]:
    with session_scope(url) as session:
        return list(session.execute(select(Customer.id).order_by(Customer.id).limit(n)).scalars())


def _ask(url: str, customer_id: int, *, at: datetime, due_days: int | None = 30) -> PrivacyRequestView:
    with session_scope(url) as session:
        return requests.record_request(session, customer_id, "erasure", None, now=at, due_days=due_days)


# --- the promise and the setting -----------------------------------------------------------------------------------


def test_the_days_the_chat_promises_are_the_settings_default():
    responses = load_domain()["responses"]
    for name in PROMISES:
        promised = {int(n) for v in responses[name] for n in re.findall(r"within (\d+) days", v["text"])}
        assert promised == {DEFAULT_ERASURE_DUE_DAYS}, name
    assert erasure_due_days({}) == DEFAULT_ERASURE_DUE_DAYS


def test_the_due_days_setting_is_a_positive_whole_number_and_a_bad_one_names_the_variable():
    assert erasure_due_days({"TANDEM_ERASURE_DUE_DAYS": "14"}) == 14
    assert erasure_due_days({"TANDEM_ERASURE_DUE_DAYS": ""}) == DEFAULT_ERASURE_DUE_DAYS
    for bad in ("0", "-3", "soon", "1.5"):
        with pytest.raises(ConfigError, match="TANDEM_ERASURE_DUE_DAYS"):
            erasure_due_days({"TANDEM_ERASURE_DUE_DAYS": bad})


# --- the store ------------------------------------------------------------------------------------------------------


def test_a_request_is_due_the_configured_days_after_it_was_asked_and_keeps_that_date(fresh_shop_db, due_days_env):
    (cid,) = _customer_ids(fresh_shop_db, 1)
    asked = utcnow()
    due_days_env.setenv("TANDEM_ERASURE_DUE_DAYS", "10")
    get_settings.cache_clear()
    with session_scope(fresh_shop_db) as session:
        erasure = requests.record_request(session, cid, "erasure", "conv-1", now=asked)
        copy = requests.record_request(session, cid, "export", "conv-1", status="done", now=asked)
    assert erasure.due_at == asked + timedelta(days=10) and copy.due_at == erasure.due_at

    due_days_env.setenv("TANDEM_ERASURE_DUE_DAYS", "5")  # a later change does not move what was promised
    get_settings.cache_clear()
    with session_scope(fresh_shop_db) as session:
        assert requests.get_request(session, erasure.id).due_at == asked + timedelta(days=10)
        again = requests.record_request(session, cid, "erasure", "conv-2")
    assert again.id == erasure.id and again.due_at == erasure.due_at  # asking again keeps the first date


def test_overdue_and_due_soon_are_measured_against_the_due_date(fresh_shop_db):
    (cid,) = _customer_ids(fresh_shop_db, 1)
    asked = utcnow()
    view = _ask(fresh_shop_db, cid, at=asked)
    due = asked + timedelta(days=30)
    assert view.due_at == due

    assert not view.is_due_soon(asked) and not view.is_overdue(asked)
    assert not view.is_due_soon(due - requests.DUE_SOON - timedelta(seconds=1))
    assert view.is_due_soon(due - requests.DUE_SOON) and view.is_due_soon(due)
    assert not view.is_overdue(due)  # due at that moment, not yet late
    assert view.is_overdue(due + timedelta(seconds=1)) and not view.is_due_soon(due + timedelta(seconds=1))
    with session_scope(fresh_shop_db) as session:
        done = requests.mark_done(session, view.id, by="dpo")
    assert not done.is_overdue(due + timedelta(days=1)) and not done.is_due_soon(due)  # only pending ones are late


def test_the_queue_is_sorted_oldest_due_first_and_lists_the_overdue_alone_when_asked(fresh_shop_db):
    late_id, soon_id, later_id, closed_id = _customer_ids(fresh_shop_db, 4)
    now = utcnow()
    late = _ask(fresh_shop_db, late_id, at=now - timedelta(days=40))  # due 10 days ago
    later = _ask(fresh_shop_db, later_id, at=now - timedelta(days=20))  # due in 10 days
    soon = _ask(fresh_shop_db, soon_id, at=now - timedelta(days=1), due_days=2)  # asked last, due first after `late`
    closed = _ask(fresh_shop_db, closed_id, at=now - timedelta(days=50))
    with session_scope(fresh_shop_db) as session:
        requests.cancel(session, closed.id, by="dpo")

    with session_scope(fresh_shop_db) as session:
        queue = requests.pending_requests(session)
        overdue = requests.pending_requests(session, overdue_at=now)
    assert [r.id for r in queue] == [late.id, soon.id, later.id]
    assert [(r.is_overdue(now), r.is_due_soon(now)) for r in queue] == [(True, False), (False, True), (False, False)]
    assert [r.id for r in overdue] == [late.id]


def test_requests_recorded_before_due_dates_existed_get_the_30_days_they_were_promised(db_factory):
    url = db_factory.create(migrate=False)
    command.upgrade(alembic_config(url), "0007")
    asked = datetime(2026, 12, 1, 9, 30)
    with make_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO privacy_requests (kind, status, reference, requested_at) "
                "VALUES ('erasure', 'pending', 'PRIV-000001', :asked)"
            ),
            {"asked": asked},
        )
    upgrade(url)
    with session_scope(url) as session:
        [view] = requests.pending_requests(session)
    assert view.due_at == asked + timedelta(days=30)


# --- the scheduler's warning and the CLI --------------------------------------------------------------------------


class NoSender:
    def send(self, follow_up):
        raise AssertionError("nothing is due")


def _overdue_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "bot.privacy.deadlines" and r.levelno == logging.WARNING
    ]


def test_the_scheduler_warns_hourly_listing_the_overdue_requests(fresh_shop_db, caplog):
    late_id, fine_id = _customer_ids(fresh_shop_db, 2)
    now = utcnow()
    late = _ask(fresh_shop_db, late_id, at=now - timedelta(days=31))
    fine = _ask(fresh_shop_db, fine_id, at=now - timedelta(days=1))
    clock = [now]
    housekeeping = PrivacyHousekeeping(OverdueCheck(fresh_shop_db))
    scheduler = FollowUpScheduler(fresh_shop_db, NoSender(), clock=lambda: clock[0], housekeeping=housekeeping)
    caplog.set_level(logging.WARNING, logger="bot.privacy.deadlines")

    scheduler.tick()
    [warning] = _overdue_warnings(caplog)
    assert late.reference in warning and fine.reference not in warning
    assert f"due {late.due_at:%Y-%m-%d}" in warning and "1 privacy request(s) overdue" in warning

    clock[0] = now + timedelta(minutes=10)
    scheduler.tick()  # within the hour: not again
    assert len(_overdue_warnings(caplog)) == 1
    clock[0] = now + timedelta(minutes=61)
    scheduler.tick()
    assert len(_overdue_warnings(caplog)) == 2

    with session_scope(fresh_shop_db) as session:
        requests.mark_done(session, late.id, by="dpo")
    clock[0] = now + timedelta(minutes=122)
    scheduler.tick()  # nothing overdue: nothing to warn about
    assert len(_overdue_warnings(caplog)) == 2


def test_an_unreachable_database_is_logged_not_raised_into_the_scheduler(caplog):
    check = OverdueCheck("postgresql+psycopg2://nobody@127.0.0.1:1/tandem")
    caplog.set_level(logging.ERROR, logger="bot.privacy.deadlines")
    assert check(utcnow()) is None
    assert any("due dates" in r.getMessage() for r in caplog.records)


def test_the_scheduler_always_gets_the_overdue_check_and_retention_only_when_configured(monkeypatch):
    monkeypatch.delenv("TANDEM_CONVERSATION_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    try:
        housekeeping = housekeeping_from_settings("sqlite:///elsewhere.db")
    finally:
        get_settings.cache_clear()
    assert housekeeping.overdue.database_url == "sqlite:///elsewhere.db" and housekeeping.retention is None


def test_the_cli_lists_pending_requests_by_due_date_and_exits_1_while_any_is_overdue(fresh_shop_db, capsys):
    late_id, fine_id = _customer_ids(fresh_shop_db, 2)
    now = utcnow()
    late = _ask(fresh_shop_db, late_id, at=now - timedelta(days=45))
    fine = _ask(fresh_shop_db, fine_id, at=now - timedelta(days=2))
    common = ["--database-url", fresh_shop_db]

    assert main(["privacy", "requests", *common]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(late.reference) and "OVERDUE" in lines[0]
    assert f"due {late.due_at:%Y-%m-%d %H:%M} UTC" in lines[0]
    assert lines[1].startswith(fine.reference) and "OVERDUE" not in lines[1]
    assert lines[-1] == "2 pending, 1 overdue"

    assert main(["privacy", "requests", "--overdue", *common]) == 1
    listed = capsys.readouterr().out
    assert late.reference in listed and fine.reference not in listed

    with session_scope(fresh_shop_db) as session:
        requests.mark_done(session, late.id, by="dpo")
    assert main(["privacy", "requests", *common]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 pending, 0 overdue"
