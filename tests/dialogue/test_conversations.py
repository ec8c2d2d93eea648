"""The Rasa project as data: it validates, and every flow's conversation test passes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.action_responses import ACTION_RESPONSE_FAMILIES, sent_by_actions, unused_response_warning
from bot.domain_files import load_domain
from tests.support.rasa_model import RASA, ROOT, rasa_env, trained_model

pytestmark = pytest.mark.slow


# Intents an NLU component sets rather than learns (bot/nlu/language_detector.py): no training examples.
COMPONENT_INTENTS = {"other_language"}


def test_every_response_an_action_sends_exists():
    domain = load_domain(ROOT / "domain")
    missing = sent_by_actions() - set(domain["responses"])
    assert not missing, f"actions send responses that the domain lacks: {sorted(missing)}"


def test_the_order_statuses_and_cancel_reasons_are_all_covered():
    from bot.db.models import ORDER_STATUSES
    from bot.shop.orders import CancelDecision

    assert set(ACTION_RESPONSE_FAMILIES["utter_order_{}"]) == set(ORDER_STATUSES)
    assert set(ACTION_RESPONSE_FAMILIES["utter_cannot_cancel_{}"]) == {
        d.value for d in CancelDecision if d not in (CancelDecision.CANCELLABLE, CancelDecision.CANCELLED)
    }
    from bot.shop.orders import AddressDecision  # the others have responses of their own (actions/orders.py)

    answered_apart = {
        AddressDecision.CHANGEABLE,
        AddressDecision.CHANGED,
        AddressDecision.NOT_FOUND,
        AddressDecision.NOT_AN_ADDRESS,
    }
    assert set(ACTION_RESPONSE_FAMILIES["utter_cannot_change_address_{}"]) == {
        d.value for d in AddressDecision if d not in answered_apart
    }


def rasa_data_validate(*arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa_cli", "data", "validate", "--max-history", "5", *arguments],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_rasa_data_validate_is_clean():
    """`rasa data validate` (as Tandem runs it: the `domain/` folder by default) has nothing to say: responses that
    only actions send are declared."""
    problems = []
    for line in rasa_data_validate().splitlines():
        if "UserWarning" not in line:
            continue
        untrained = re.search(r"The intent '([a-z_]+)' is listed in the domain file, but is not found in the NLU", line)
        if untrained and untrained.group(1) in COMPONENT_INTENTS:
            continue
        problems.append(line.split("UserWarning:", 1)[-1].strip())
    assert not problems, "\n".join(problems)


def test_only_the_responses_that_actions_send_are_spared_the_unused_warning(tmp_path: Path):
    """A response that no story, rule or action uses is still reported."""
    domain = shutil.copytree(ROOT / "domain", tmp_path / "domain")
    forgotten = {"version": "3.1", "responses": {"utter_nobody_sends_this": [{"text": "Forgotten."}]}}
    (domain / "forgotten.yml").write_text(yaml.safe_dump(forgotten, sort_keys=False))
    output = rasa_data_validate("--domain", str(domain))
    assert unused_response_warning("utter_nobody_sends_this") in output
    assert output.count("is not used in any story or rule") == 1, output[-4000:]


def test_every_flow_has_a_conversation_test():
    """Every rule's intent appears in some conversation test, so no flow goes untested."""
    rules = [
        rule
        for path in sorted((ROOT / "data" / "rules").glob("*.yml"))
        for rule in yaml.safe_load(path.read_text())["rules"]
    ]
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
        [
            RASA,
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            "tests/conversations",
            "--out",
            str(out),
            "--fail-on-prediction-errors",
        ],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + details
    assert "none of the test stories failed" in details.lower() or not details.strip(), details


def test_the_action_server_serves_exactly_the_domains_custom_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = load_domain(ROOT / "domain")
    assert set(executor.actions) == set(domain["actions"])
