"""`tandem workflows validate` as a CX editor runs it: what it prints and the exit code scripts rely on."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.workflows import register
from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR


def tandem(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tandem")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_the_shop_workflows_validate_with_exit_code_0(capsys) -> None:
    assert tandem(["workflows", "validate"]) == 0
    assert capsys.readouterr().out.strip() == "5 workflow files OK."


def test_a_broken_workflow_is_listed_with_file_line_and_step_and_exits_1(tmp_path: Path, capsys) -> None:
    good = (DEFAULT_WORKFLOWS_DIR / "late_delivery.yml").read_text()
    broken = tmp_path / "late_delivery.yml"
    broken.write_text(good.replace("next: choose_remedy", "next: choose_remedyy"))
    assert tandem(["workflows", "validate", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(
        line.startswith(f"{broken}:") and "step 'trace': next points to unknown step 'choose_remedyy'" in line
        for line in lines
    ), lines
    assert lines[-1] == "1 problem in 1 workflow file."


def test_a_path_that_does_not_exist_is_a_problem(tmp_path: Path, capsys) -> None:
    assert tandem(["workflows", "validate", str(tmp_path / "missing.yml")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_an_empty_folder_is_not_reported_as_fine(tmp_path: Path, capsys) -> None:
    assert tandem(["workflows", "validate", str(tmp_path)]) == 1
    assert "No workflow files found." in capsys.readouterr().out


def test_responses_are_checked_against_the_domain_given(tmp_path: Path, capsys) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text('version: "3.1"\nintents: [affirm, deny, return_item]\nresponses: {}\n')
    assert (
        tandem(["workflows", "validate", str(DEFAULT_WORKFLOWS_DIR / "return_refund.yml"), "--domain", str(domain)])
        == 1
    )
    out = capsys.readouterr().out
    assert "response 'utter_wf_return_choose' is not in domain.yml" in out
    assert "response 'utter_workflow_reask' (said by the workflow runner) is missing" in out
