"""The Rasa project as data: it validates, and every flow's conversation test passes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.rasa_model import RASA, ROOT, rasa_env, trained_model

pytestmark = pytest.mark.slow


def test_rasa_data_validate_is_clean():
    result = subprocess.run(
        [RASA, "data", "validate", "--fail-on-warnings", "--max-history", "5"],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_every_flow_has_a_conversation_test():
    """Every rule's intent appears in some conversation test, so no flow goes untested."""
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    rule_intents = {step["intent"] for rule in rules for step in rule["steps"] if "intent" in step}
    tested = set()
    for path in (ROOT / "tests" / "conversations").glob("*.yml"):
        for story in yaml.safe_load(path.read_text())["stories"]:
            tested |= {step["intent"] for step in story["steps"] if "intent" in step}
    assert rule_intents - {"nlu_fallback"} <= tested, sorted(rule_intents - tested)


def test_conversation_tests_pass(tmp_path: Path):
    model = trained_model()
    out = tmp_path / "results"
    result = subprocess.run(
        [RASA, "test", "core", "--model", str(model), "--stories", "tests/conversations",
         "--out", str(out), "--fail-on-prediction-errors"],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=900,
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (result.stdout[-3000:] + result.stderr[-3000:] + details)
    assert "none of the test stories failed" in details.lower() or not details.strip(), details
