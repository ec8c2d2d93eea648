"""config/handoff.yml: the rules CX teams edit are validated, name only real intents and workflows, and route."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from bot.domain_files import load_domain
from bot.handoff.routing import DEFAULT_PATH, HandoffConfigError, load_rules, parse_rules
from bot.journeys.workflows.loader import load_workflows
from bot.settings import PROJECT_ROOT


def _raw():
    return yaml.safe_load(DEFAULT_PATH.read_text())


def test_the_shipped_rules_name_only_intents_of_the_domain_and_workflows_that_exist():
    rules = load_rules()
    domain = load_domain(PROJECT_ROOT / "domain")
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    workflows = set(load_workflows())
    for queue in rules.queues:
        assert set(queue.intents) <= intents, (queue.key, set(queue.intents) - intents)
        assert set(queue.workflows) <= workflows, (queue.key, set(queue.workflows) - workflows)
    assert workflows <= {w for q in rules.queues for w in q.workflows}, "every workflow escalates to a queue"


def test_routing_prefers_the_journeys_workflow_then_the_latest_topic():
    rules = load_rules()
    assert rules.route(workflow="wrong_charge", intents=("delivery_problem",)) == "billing"
    assert rules.route(intents=("delivery_problem", "billing_question")) == "delivery"
    assert rules.route(intents=("greet",)) == rules.default_queue == "general"


def test_priority_adds_the_mood_and_the_customers_value_and_stays_within_0_and_100():
    rules = load_rules()
    assert rules.priority(reason="asked", sentiment=None, spend=None) == 40
    assert rules.priority(reason="asked", sentiment=-0.5, spend=Decimal("1600")) == 40 + 15 + 10
    assert rules.priority(reason="asked", sentiment=0.9, spend=None) == 40, "a good mood never lowers it"
    assert rules.priority(reason="unknown_reason", sentiment=None, spend=None) == rules.default_reason_points
    assert rules.priority(reason="very_negative_while_failing", sentiment=-1, spend=Decimal("1e6")) == 100


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(default_queue="nowhere"), "default_queue"),
        (lambda d: d["queues"]["billing"].update(intents="billing_question"), "queues.billing.intents"),
        (lambda d: d["queues"]["billing"].update(colour="red"), "queues.billing: unknown keys colour"),
        (lambda d: d["priority"]["reasons"].update(asked=101), "priority.reasons.asked"),
        (lambda d: d["wait"].update(default_handle_minutes=0), "wait.default_handle_minutes"),
        (lambda d: d.update(queues={}), "queues"),
        (lambda d: d.update(extra=1), "unknown keys: extra"),
    ],
)
def test_a_broken_file_is_refused_with_the_key_named(change, message):
    raw = _raw()
    change(raw)
    with pytest.raises(HandoffConfigError, match=message):
        parse_rules(raw)


def test_a_missing_or_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(HandoffConfigError, match="no such file"):
        load_rules(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("queues: [unclosed")
    with pytest.raises(HandoffConfigError, match="not valid YAML"):
        load_rules(broken)
