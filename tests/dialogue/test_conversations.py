"""The Rasa project as data: it validates, and every flow's conversation test passes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.rasa_model import RASA, ROOT, rasa_env, trained_model

pytestmark = pytest.mark.slow


ACTION_RESPONSE_FAMILIES = {
    # Responses that actions build from data: every value the data can take must have a response.
    "utter_order_{}": ["placed", "processing", "shipped", "out_for_delivery", "delivered", "cancelled", "returned"],
    "utter_cannot_cancel_{}": ["shipped", "out_for_delivery", "delivered", "already_cancelled", "returned", "not_found"],
    "utter_no_orders_{}": ["order_for_status", "order_for_delivery", "order_for_cancel", "order_for_address"],
    "utter_cannot_change_address_{}": ["shipped", "delivered", "closed"],
}


RASA_DEFAULT_ACTION_RESPONSES = {"utter_default"}  # sent by Rasa's action_default_fallback
# Intents an NLU component sets rather than learns (bot/nlu/language_detector.py): no training examples.
COMPONENT_INTENTS = {"other_language"}


def responses_used_by_actions() -> set:
    used = set(RASA_DEFAULT_ACTION_RESPONSES)
    for path in (ROOT / "actions").glob("*.py"):
        used |= set(re.findall(r'["\'](utter_[a-z_]+)["\']', path.read_text()))  # response="...", or a table
    for family, values in ACTION_RESPONSE_FAMILIES.items():
        used |= {family.format(v) for v in values}
    # Workflows (data/workflows/*.yml) send their responses through the journey actions.
    from bot.journeys.workflows import responses_used

    used |= responses_used()
    # Forms ask for each slot with utter_ask_<slot>.
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    used |= {f"utter_ask_{slot}" for form in (domain.get("forms") or {}).values() for slot in form["required_slots"]}
    return used


def test_every_response_an_action_sends_exists():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    missing = responses_used_by_actions() - set(domain["responses"])
    assert not missing, f"actions send responses that domain.yml lacks: {sorted(missing)}"


def test_the_order_statuses_and_cancel_reasons_are_all_covered():
    from bot.db.models import ORDER_STATUSES
    from bot.shop.orders import CancelDecision

    assert set(ACTION_RESPONSE_FAMILIES["utter_order_{}"]) == set(ORDER_STATUSES)
    assert set(ACTION_RESPONSE_FAMILIES["utter_cannot_cancel_{}"]) == {
        d.value for d in CancelDecision if d not in (CancelDecision.CANCELLABLE, CancelDecision.CANCELLED)
    }
    from bot.shop.orders import AddressDecision  # the others have responses of their own (actions/orders.py)

    answered_apart = {AddressDecision.CHANGEABLE, AddressDecision.CHANGED, AddressDecision.NOT_FOUND,
                      AddressDecision.NOT_AN_ADDRESS}
    assert set(ACTION_RESPONSE_FAMILIES["utter_cannot_change_address_{}"]) == {
        d.value for d in AddressDecision if d not in answered_apart}


def test_rasa_data_validate_is_clean():
    """`rasa data validate` finds nothing but responses that only actions send."""
    result = subprocess.run(
        [RASA, "data", "validate", "--max-history", "5"],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    sent_by_actions = responses_used_by_actions()
    problems = []
    for line in output.splitlines():
        if "UserWarning" not in line:
            continue
        unused = re.search(r"The utterance '(utter_[a-z_]+)' is not used in any story or rule", line)
        if unused and unused.group(1) in sent_by_actions:
            continue
        untrained = re.search(r"The intent '([a-z_]+)' is listed in the domain file, but is not found in the NLU", line)
        if untrained and untrained.group(1) in COMPONENT_INTENTS:
            continue
        problems.append(line.split("UserWarning:", 1)[-1].strip())
    assert not problems, "\n".join(problems)


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


def test_the_action_server_serves_exactly_the_domains_custom_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert set(executor.actions) == set(domain["actions"])
