"""The dashboard's tables as people and spreadsheets read them: raw CSV (a customer's words never run as a formula),
rates with their intervals in one cell, and `tandem insights report` in the terminal; plus `tandem agents create
--role cx`."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from bot.cli import main
from bot.console.agents import get_agent
from bot.db.session import session_scope
from bot.insights.period import filters_from, last_days, start_of
from bot.insights.scope import FilterError
from bot.insights.tables import Column, Table
from tests.insights.dashboard_seed import SINCE, UNTIL, week, week_db  # noqa: F401

NOW = datetime(2026, 11, 8, 12, 0)


def test_csv_keeps_raw_values_and_defuses_formulas():
    table = Table(
        "t",
        "T",
        (Column("text", "Text", "text"), Column("rate", "Rate", "rate"), Column("when", "When", "date")),
        (("=HYPERLINK(1)", 0.123456789, SINCE.date()), ("-2+3", None, None), ("plain, with a comma", 1.0, None)),
    )
    rows = list(csv.reader(io.StringIO(table.csv())))
    assert rows[0] == ["text", "rate", "when"]
    assert rows[1] == ["'=HYPERLINK(1)", "0.123457", "2026-11-02"]
    assert rows[2] == ["'-2+3", "", ""]
    assert rows[3][0] == "plain, with a comma"
    assert table.formatted()[0][1] == "12.3%" and table.formatted()[1][1] == "—"


def test_a_rate_and_its_interval_read_as_one_cell():
    table = Table(
        "t",
        "T",
        (
            Column("arm", "Arm", "text"),
            Column("x_rate", "Conversion", "rate"),
            Column("x_ci_low", "low", "rate"),
            Column("x_ci_high", "high", "rate"),
        ),
        (("hybrid", 0.25, 0.181, 0.334),),
    )
    headers, rows = table.display()
    assert headers == ["Arm", "Conversion (95% CI)"]
    assert rows == [["hybrid", "25.0% (18.1–33.4%)"]]


def test_periods_as_people_write_them():
    assert start_of("7d", NOW) == datetime(2026, 11, 1, 12, 0)
    assert start_of("2w", NOW) == datetime(2026, 10, 25, 12, 0)
    assert start_of("2026-11-02", NOW) == SINCE
    f = filters_from("2026-11-02", "2026-11-08", NOW, channel=" rest ", segment="")
    assert (f.since, f.until, f.channel, f.segment) == (SINCE, UNTIL, "rest", None)
    assert (
        (filters_from(None, None, NOW).since, filters_from(None, None, NOW).until)
        == last_days(7, NOW)
        == (SINCE, UNTIL)
    )
    for bad in ("yesterday", "0d", "2026-13-01"):
        with pytest.raises(FilterError):
            start_of(bad, NOW)


def test_the_report_prints_the_week_against_the_one_before(week_db, capsys):
    code = main(
        [
            "insights",
            "report",
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-08",
            "--database-url",
            week_db,
            "--no-clusters",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Insights 2026-11-02 to 2026-11-09 UTC, compared with 2026-10-26 to 2026-11-02 UTC")
    assert "Containment (no person needed)                 60.0%            50.0%" in out
    assert "hybrid beats popularity on conversion, p < 0.001" in out
    assert "What customers ask that the bot does not know" not in out  # --no-clusters
    code = main(
        [
            "insights",
            "report",
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-08",
            "--channel",
            "rest",
            "--database-url",
            week_db,
            "--no-clusters",
        ]
    )
    out = capsys.readouterr().out
    assert "only channel rest" in out
    assert "Conversations                                      2                1" in out
    assert main(["insights", "report", "--since", "someday", "--database-url", week_db]) == 2


def test_agents_create_a_cx_user_without_queues(week_db, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code = main(
        [
            "agents",
            "create",
            "cara",
            "--name",
            "Cara Lee",
            "--role",
            "cx",
            "--password-stdin",
            "--database-url",
            week_db,
        ]
    )
    assert code == 0 and "Created cx cara (Cara Lee): the insights." in capsys.readouterr().out
    with session_scope(week_db) as session:
        cara = get_agent(session, "cara")
    assert cara is not None and cara.sees_insights and not cara.works_queues and cara.home == "/insights"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code = main(
        [
            "agents",
            "create",
            "cx2",
            "--name",
            "C",
            "--role",
            "cx",
            "--queues",
            "billing",
            "--password-stdin",
            "--database-url",
            week_db,
        ]
    )
    assert code == 1 and "works no queue" in capsys.readouterr().err
