"""`tandem recs import`: behaviour and consent files go into the behaviour store row by row, bad rows are
reported (never stopping the import), and importing a file again changes nothing."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.db.models import BehaviourEvent, Customer, PersonalizationConsent, Product
from bot.db.session import make_engine, session_scope
from bot.personalization.importer import (
    ImportFileError,
    ImportReport,
    detect_format,
    import_consents,
    import_events,
    source_for,
)

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 1, 12)  # the small shop's clock

# malformed.csv: line -> (field, part of the reason). Lines 2, 14 and 19 are good; 17 repeats line 2.
MALFORMED_CSV_REJECTS = {
    3: ("customer_id", "unknown customer 'CUST-99999'"),
    4: ("sku", "unknown SKU 'NOPE-0001'"),
    5: ("kind", "'teleport' is not one of view, purchase"),
    6: ("timestamp", "not an ISO 8601 date-time or Unix seconds: 'yesterday'"),
    7: ("value", "a rating must be from 1 to 5, not '7'"),
    8: ("sku", "missing (only a dismissal may name just a category)"),
    9: ("customer_id", "missing"),
    10: ("value", "not a number: 'two'"),
    11: (None, "empty line"),
    12: (None, "9 fields, but the header has 8"),
    13: (None, "7 fields, but the header has 8"),
    15: ("timestamp", "in the future (2030-01-01 00:00:00 UTC)"),
    16: ("value", "missing (a rating needs a value from 1 to 5)"),
    18: ("category", "unknown category 'no such category'"),
    20: ("timestamp", "before 1990 (1970-01-01 00:00:00 UTC): '0'"),
}


def _import(url: str, path: Path, **kwargs) -> ImportReport:
    with session_scope(url) as s:
        return import_events(s, path, progress=kwargs.pop("progress", False), now=NOW, **kwargs)


def _imported_events(url: str) -> dict[str, set[tuple]]:
    """Imported events by source, as (customer, kind, sku, category, value, time, channel, strategy,
    request id, external id)."""
    e = BehaviourEvent
    stmt = (
        select(
            e.source,
            Customer.external_id,
            e.kind,
            Product.sku,
            e.category,
            e.value,
            e.occurred_at,
            e.channel,
            e.strategy,
            e.request_id,
            e.external_id,
        )
        .join(Customer, Customer.id == e.customer_id)
        .outerjoin(Product, Product.id == e.product_id)
        .where(e.source.like("import:%"))
    )
    by_source: dict[str, set[tuple]] = {}
    with session_scope(url) as s:
        for source, *row in s.execute(stmt):
            by_source.setdefault(source, set()).add(tuple(row))
    return by_source


def _count_imported(url: str) -> int:
    with session_scope(url) as s:
        return s.execute(
            select(func.count()).select_from(BehaviourEvent).where(BehaviourEvent.source.like("import:%"))
        ).scalar_one()


def _assert_rejects(report: ImportReport, expected: dict[int, tuple[str | None, str]]) -> None:
    got = {r.line: r for r in report.rejected}
    assert sorted(got) == sorted(expected)
    for line, (field, reason) in expected.items():
        assert got[line].field == field, (line, got[line])
        assert reason in got[line].reason, (line, got[line].reason)
        if field:
            assert got[line].reason.startswith(f"{field}: "), got[line].reason
    assert report.rows_read == report.imported + report.duplicates + report.rejected_count


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _event(event_id: str, **extra) -> dict:
    return {
        "customer_id": "CUST-00001",
        "kind": "view",
        "sku": "PHN-0001",
        "timestamp": "2026-10-01T09:00:00Z",
        "event_id": event_id,
        **extra,
    }


def _csv_lines(events: list[dict]) -> list[str]:
    columns = ["customer_id", "kind", "sku", "timestamp", "channel", "event_id"]
    return [",".join(columns)] + [",".join(str(e.get(c, "")) for c in columns) for e in events]


# --- formats -------------------------------------------------------------------------------------------------


def test_csv_json_jsonl_and_alias_columns_store_the_same_events(fresh_shop_db, tmp_path):
    excel = tmp_path / "events_excel.csv"  # what a spreadsheet saves: a byte order mark and CRLF line ends
    excel.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "events.csv").read_bytes().replace(b"\n", b"\r\n"))
    names = ("events.csv", "events_aliases.csv", "events.json", "events.jsonl", "events_excel.csv")
    reports = [_import(fresh_shop_db, FIXTURES / name if name != excel.name else excel) for name in names]
    for report in reports:
        assert (report.rows_read, report.imported, report.duplicates, report.rejected) == (8, 8, 0, []), report
    assert reports[1].ignored_columns == ["comment"]

    by_source = _imported_events(fresh_shop_db)
    assert sorted(by_source) == sorted(f"import:{name}" for name in names)
    events = by_source["import:events.csv"]
    assert all(by_source[source] == events for source in by_source)

    by_id = {row[-1]: row for row in events}
    # zones converted to naive UTC, Unix seconds read, the default channel filled in
    assert by_id["ev-1"][5] == datetime(2026, 10, 1, 9, 0)
    assert by_id["ev-2"][5] == datetime(2026, 10, 2, 8, 30)
    assert by_id["ev-3"][:7] == (
        "CUST-00002",
        "rating",
        "AUD-0001",
        "headphones",
        4.5,
        datetime(2026, 9, 21, 14, 13, 20),
        "import",
    )
    assert by_id["ev-4"][6:9] == ("chat", "popular", "req-1")
    # a dismissal of a whole category, named as people say it
    assert by_id["ev-6"][:4] == ("CUST-00004", "dismissal", None, "phone_accessories")
    # rows without an event id get one derived from their content
    derived = [row for row in events if not row[-1].startswith("ev-")]
    assert len(derived) == 2 and all(row[-1].startswith("sha256:") for row in derived)


def test_format_comes_from_the_extension_or_is_given():
    assert detect_format("a/b/events.CSV") == "csv"
    assert detect_format("events.json") == "json"
    assert detect_format("events.ndjson") == "jsonl"
    assert detect_format("events.txt", "JSONL") == "jsonl"
    with pytest.raises(ImportFileError, match=r"cannot tell the format of events\.txt.*\.csv, \.json.*\.jsonl"):
        detect_format("events.txt")
    with pytest.raises(ImportFileError, match="unknown format 'xml'"):
        detect_format("events.csv", "xml")


def test_files_that_cannot_be_imported_at_all_are_clear_errors(session, tmp_path):
    cases = {
        "events.txt": ("customer_id,kind\n", "cannot tell the format"),
        "no_kind.csv": ("customer_id,sku,time\nCUST-00001,PHN-0001,2026-10-01\n", r"lacks required column\(s\): kind"),
        "no_target.csv": ("customer_id,kind,time\n", r"lacks required column\(s\): sku or category"),
        "twice.csv": ("customer_id,kind,sku,product_id,time\n", "columns 'sku' and 'product_id' both mean sku"),
        "object.json": ('{"events": []}', "must hold one list of objects"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(ImportFileError, match=message):
            import_events(session, tmp_path / name, progress=False, now=NOW)
    with pytest.raises(ImportFileError, match="no such file"):
        import_events(session, tmp_path / "missing.csv", progress=False)


def test_empty_and_header_only_files_give_a_clear_report(session, tmp_path):
    shutil.copy(FIXTURES / "empty.csv", tmp_path / "empty.jsonl")
    (tmp_path / "empty_list.json").write_text(" [ ]\n")
    expected = {
        FIXTURES / "empty.csv": "the file is empty",
        tmp_path / "empty.jsonl": "the file is empty",
        FIXTURES / "header_only.csv": "the file has a header row but no rows",
        tmp_path / "empty_list.json": "the file holds no rows",
    }
    for path, note in expected.items():
        report = import_events(session, path, progress=False, now=NOW)
        assert (report.rows_read, report.imported, report.rejected_count) == (0, 0, 0)
        assert report.notes == [f"{note}: nothing to import"]
        assert "0 rows read" in str(report) and note in str(report)


# --- malformed rows ------------------------------------------------------------------------------------------


def test_every_malformed_csv_row_is_rejected_with_its_line_and_reason_and_the_good_rows_are_stored(fresh_shop_db):
    report = _import(fresh_shop_db, FIXTURES / "malformed.csv")

    _assert_rejects(report, MALFORMED_CSV_REJECTS)
    assert (report.rows_read, report.imported, report.duplicates) == (19, 3, 1)  # line 17 repeats line 2
    assert {row[-1] for row in _imported_events(fresh_shop_db)["import:malformed.csv"]} == {
        "good-1",
        "good-2",
        "good-3",
    }
    lines = (FIXTURES / "malformed.csv").read_text().splitlines()
    assert all(r.raw == lines[r.line - 1] for r in report.rejected)
    summary = str(report)
    assert summary.startswith("malformed.csv: 19 rows read, 3 imported, 1 duplicate skipped, 15 rejected")
    assert "line 3: customer_id: unknown customer 'CUST-99999'" in summary
    assert "and 10 more rejected rows" in summary

    # importing it again: the good rows are duplicates now; past max_rejects rejects are only counted
    again = _import(fresh_shop_db, FIXTURES / "malformed.csv", max_rejects=2)
    assert (again.imported, again.duplicates, again.rejected_count, again.rejects_not_kept) == (0, 4, 15, 13)
    assert len(again.rejected) == 2 and "13 rejected rows past max_rejects were counted" in str(again)


def test_unreadable_json_lines_are_rejected_one_by_one(fresh_shop_db, tmp_path):
    path = tmp_path / "malformed.jsonl"
    good = json.dumps(_event("j-good-3", customer_id="CUST-00003")).encode()
    path.write_bytes((FIXTURES / "malformed.jsonl").read_bytes() + b'{"kind": "vi\xffew"}\n' + good + b"\n")

    report = _import(fresh_shop_db, path)

    _assert_rejects(
        report,
        {
            2: (None, "not valid JSON: Expecting value"),
            3: (None, "not a JSON object but list"),
            4: (None, "empty line"),
            5: ("sku", "must be a single value, not a list or object"),
            6: ("sku", "given twice (as 'sku' and 'product_id')"),
            7: ("value", "not a number: 'five'"),
            9: ("timestamp", "(Unix milliseconds? give seconds)"),
            10: (None, "not UTF-8 text (byte 13 of the line)"),
        },
    )
    assert report.imported == 3
    assert {row[-1] for row in _imported_events(fresh_shop_db)["import:malformed.jsonl"]} == {
        "j-good-1",
        "j-good-2",
        "j-good-3",
    }


def test_a_json_list_is_read_element_by_element_up_to_a_syntax_error(fresh_shop_db):
    report = _import(fresh_shop_db, FIXTURES / "malformed.json")

    _assert_rejects(
        report,
        {
            3: ("customer_id", "unknown customer 'CUST-99999'"),
            4: (None, "not a JSON object but str"),
            6: (None, "not valid JSON: Expecting ',' delimiter; the rest of the file was not read"),
        },
    )
    assert report.imported == 2
    assert report.notes == ["stopped reading at line 6; the rows before it were imported"]
    assert _count_imported(fresh_shop_db) == 2


def test_huge_fields_and_lines_are_rejected_without_stopping_the_import(fresh_shop_db, tmp_path):
    huge = "x" * 1_000_000
    events = [
        _event("a"),
        _event("huge", channel=huge),
        _event("b"),
        _event("line", channel="y" * 5_000_000),
        _event("c"),
    ]
    # name: (lines, line of the first event); a JSON list element cannot be skipped, so it holds no huge line
    files = {
        "huge.csv": (_csv_lines(events), 2),
        "huge.jsonl": ([json.dumps(e) for e in events], 1),
        "huge.json": (["["] + [json.dumps(e) + "," for e in events[:2]] + [json.dumps(events[2]), "]"], 2),
    }
    for name, (lines, first) in files.items():
        report = _import(fresh_shop_db, _write_lines(tmp_path / name, lines))
        expected = {
            first + 1: (None, "field larger than field limit")
            if name == "huge.csv"
            else ("channel", "1,000,000 characters long (at most 4,096)")
        }
        if name != "huge.json":
            expected[first + 3] = (None, "line longer than 4,194,304 bytes")
        _assert_rejects(report, expected)
        assert all(len(r.raw) <= 200 for r in report.rejected)
        assert report.imported == (2 if name == "huge.json" else 3)
    assert _count_imported(fresh_shop_db) == 3 + 3 + 2


# --- idempotency and the rejects file ------------------------------------------------------------------------


def test_importing_the_same_file_again_adds_nothing(fresh_shop_db, tmp_path):
    first = _import(fresh_shop_db, FIXTURES / "events.csv", progress=True)
    again = _import(fresh_shop_db, FIXTURES / "events.csv", batch_size=3)
    assert (first.imported, first.duplicates) == (8, 0)
    assert (again.imported, again.duplicates, again.rejected_count) == (0, 8, 0)

    # repeats in one file are duplicates too, also across batches
    repeated = _write_lines(tmp_path / "events.txt", (FIXTURES / "events.jsonl").read_text().splitlines() * 2)
    report = _import(fresh_shop_db, repeated, format="jsonl", batch_size=5)
    assert (report.imported, report.duplicates) == (8, 8)
    assert _count_imported(fresh_shop_db) == 16
    assert _imported_events(fresh_shop_db)["import:events.txt"] == _imported_events(fresh_shop_db)["import:events.csv"]


def test_the_rejects_file_round_trips_and_only_the_fixed_rows_are_added(fresh_shop_db, tmp_path):
    report = _import(fresh_shop_db, FIXTURES / "malformed.csv")
    rejects = tmp_path / "rejects.csv"
    assert report.write_rejects(rejects) == 15

    with open(rejects, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    assert [int(r["reject_line"]) for r in rows] == sorted(MALFORMED_CSV_REJECTS)
    assert all(MALFORMED_CSV_REJECTS[int(r["reject_line"])][1] in r["reject_reason"] for r in rows)
    by_id = {r["event_id"]: r for r in rows if r["event_id"]}
    assert by_id["bad-customer"]["customer_id"] == "CUST-99999" and by_id["bad-customer"]["reject_raw"]
    by_id["bad-customer"]["customer_id"] = "CUST-00010"
    by_id["bad-kind"]["kind"] = "click"
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)

    report = _import(fresh_shop_db, fixed)
    assert (report.imported, report.duplicates, report.rejected_count) == (2, 0, 13)
    assert report.ignored_columns == []  # the reject_* columns are expected
    assert _count_imported(fresh_shop_db) == 3 + 2
    assert (_import(fresh_shop_db, fixed).imported, _count_imported(fresh_shop_db)) == (0, 5)


# --- database failures ---------------------------------------------------------------------------------------


def _refuse_channel(url: str, channel: str) -> None:
    """A trigger that makes the database itself refuse events of `channel`."""
    with make_engine(url).begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_channel BEFORE INSERT ON behaviour_events "
                    f"WHEN NEW.channel = '{channel}' BEGIN SELECT RAISE(ABORT, 'channel refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_channel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.channel = '{channel}' THEN RAISE EXCEPTION 'channel refused'; END IF; RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_channel BEFORE INSERT ON behaviour_events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_channel()"
                )
            )


def test_a_batch_the_database_refuses_loses_only_the_rows_it_refuses(fresh_shop_db, tmp_path):
    _refuse_channel(fresh_shop_db, "boom")
    events = [_event(f"e{i}", channel="boom" if i == 3 else "web") for i in range(7)]
    report = _import(fresh_shop_db, _write_lines(tmp_path / "refused.csv", _csv_lines(events)), batch_size=5)

    assert report.imported == 6
    [rejected] = report.rejected
    assert rejected.line == 5 and rejected.field is None
    assert rejected.reason.startswith("the database refused it:") and "channel refused" in rejected.reason
    assert rejected.values["event_id"] == "e3"
    assert {row[-1] for row in _imported_events(fresh_shop_db)["import:refused.csv"]} == {
        f"e{i}" for i in range(7) if i != 3
    }


# --- consents ------------------------------------------------------------------------------------------------


def _consents(url: str) -> dict[str, tuple]:
    with session_scope(url) as s:
        rows = s.execute(
            select(
                Customer.external_id,
                PersonalizationConsent.granted,
                PersonalizationConsent.updated_at,
                PersonalizationConsent.source,
            ).join(Customer, Customer.id == PersonalizationConsent.customer_id)
        )
        return {ext: tuple(rest) for ext, *rest in rows}


def test_consents_are_imported_newest_answer_wins_and_reimport_changes_nothing(fresh_shop_db, tmp_path):
    def run(path: Path) -> ImportReport:
        with session_scope(fresh_shop_db) as s:
            return import_consents(s, path, progress=False, now=NOW)

    report = run(FIXTURES / "consents.csv")
    _assert_rejects(
        report,
        {
            6: ("customer_id", "unknown customer 'CUST-99999'"),
            7: ("granted", "not true/false, 1/0 or yes/no: 'maybe'"),
            8: ("updated_at", "in the future"),
            9: ("updated_at", "missing"),
        },
    )
    assert (report.imported, report.duplicates) == (3, 1)  # CUST-00003's older answer is superseded
    source = "import:consents.csv"
    assert _consents(fresh_shop_db) == {
        "CUST-00001": (True, datetime(2026, 10, 1, 9), source),
        "CUST-00002": (False, datetime(2026, 10, 1, 9), source),
        "CUST-00003": (False, datetime(2026, 9, 21, 14, 15), source),
    }
    assert (run(FIXTURES / "consents.csv").imported, len(_consents(fresh_shop_db))) == (0, 3)

    update = _write_lines(
        tmp_path / "update.jsonl",
        [
            json.dumps({"userId": "CUST-00001", "granted": False, "timestamp": "2026-10-20T00:00:00"}),
            json.dumps({"userId": "CUST-00002", "granted": True, "timestamp": "2026-09-01T00:00:00"}),
            json.dumps({"userId": "CUST-00007", "granted": 1, "time": 1790000000}),
        ],
    )
    report = run(update)
    assert (report.imported, report.duplicates, report.rejected_count) == (2, 1, 0)
    consents = _consents(fresh_shop_db)
    assert consents["CUST-00001"] == (False, datetime(2026, 10, 20), "import:update.jsonl")
    assert consents["CUST-00002"][0] is False  # the file's answer is older than the stored one
    assert consents["CUST-00007"][0] is True


# --- naming --------------------------------------------------------------------------------------------------


def test_the_source_names_the_file_and_fits_its_column():
    assert source_for("/data/events.csv") == "import:events.csv"
    long_a = source_for("behaviour_events_export_2026_10_a.csv")
    long_b = source_for("behaviour_events_export_2026_10_b.csv")
    assert len(long_a) == len(long_b) == 32
    assert long_a.startswith("import:behaviour_events") and long_a != long_b
