"""`tandem recs ...` as a CX person runs it, against the real databases."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import BehaviourEvent, CustomerSegment, PersonalizationConsent
from bot.db.session import session_scope
from bot.personalization.model_store import current_version

FIXTURES = Path(__file__).parent / "fixtures"


def _count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_stores_the_good_rows_and_hands_back_the_bad_ones_to_fix(fresh_shop_db, tmp_path, capsys) -> None:
    rejects = tmp_path / "rejects.csv"
    code = main(
        [
            "recs",
            "import",
            str(FIXTURES / "malformed.csv"),
            "--database-url",
            fresh_shop_db,
            "--rejects",
            str(rejects),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1  # something was rejected: scripts can tell
    stored = _count(fresh_shop_db, BehaviourEvent)
    with rejects.open() as f:
        rows = list(csv.DictReader(f))
    assert stored >= 1 and rows and all(r["reject_reason"] for r in rows)
    assert f"{len(rows)} rejected rows written" in out
    # Importing the same file again adds nothing.
    main(["recs", "import", str(FIXTURES / "malformed.csv"), "--database-url", fresh_shop_db, "--no-progress"])
    assert _count(fresh_shop_db, BehaviourEvent) == stored


def test_import_of_a_file_it_cannot_read_says_why(fresh_shop_db, tmp_path, capsys) -> None:
    odd = tmp_path / "events.xlsx"
    odd.write_text("not really")
    assert main(["recs", "import", str(odd), "--database-url", fresh_shop_db, "--no-progress"]) == 2
    assert "tandem recs import" in capsys.readouterr().err


def test_consents_then_segments_train_recommend_and_report(fresh_shop_db, tmp_path, capsys) -> None:
    models = tmp_path / "models"
    assert main(
        [
            "recs",
            "import",
            "--consents",
            str(FIXTURES / "consents.csv"),
            "--database-url",
            fresh_shop_db,
            "--no-progress",
        ]
    ) in (0, 1)
    assert _count(fresh_shop_db, PersonalizationConsent) >= 1
    assert (
        main(["recs", "segments", "--database-url", fresh_shop_db, "--models-dir", str(models), "--no-progress"]) == 0
    )
    assert _count(fresh_shop_db, CustomerSegment) == 60
    assert main(["recs", "train", "--database-url", fresh_shop_db, "--models-dir", str(models), "--no-progress"]) == 0
    assert current_version(models) is not None
    capsys.readouterr()
    assert (
        main(
            [
                "recs",
                "recommend",
                "CUST-00001",
                "--category",
                "headphones",
                "--database-url",
                fresh_shop_db,
                "--models-dir",
                str(models),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "strategy:" in out and "AUD-" in out
    assert _count(fresh_shop_db, BehaviourEvent) == 0  # a dry run stores no impressions
    assert main(["recs", "report", "--database-url", fresh_shop_db]) == 0
    assert "No recommendation impressions" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["recs"], ["recs", "train", "--history-days", "soon"]])
def test_bad_command_lines_get_usage_not_a_traceback(command, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(command)
    assert exc.value.code == 2
