"""The workflow validator: one small broken workflow per rule, and the five shop workflows pass clean."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bot.journeys.workflows import responses_used, validate_workflows
from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR, ROOT, WorkflowLoadError, load_workflows
from bot.journeys.workflows.schema import Problem

DOMAIN = """\
version: "3.1"
intents:
  - affirm
  - deny
  - report_problem
responses:
  utter_workflow_reask:
    - text: "Sorry?"
  utter_workflow_wait_for_outcome:
    - text: "Take your time."
  utter_workflow_already_tried:
    - text: "You tried that."
  utter_try:
    - text: "Try turning it off and on. Better?"
  utter_ask_order:
    - text: "Which order?"
  utter_order_known:
    - text: "Order {order_id} is {order_status}."
  utter_refunded:
    - text: "Refunded {refund_amount} (reference {refund_reference})."
  utter_mystery:
    - text: "Hello {nobody_fills_this}."
"""

# A valid workflow: each case below breaks exactly one rule of it.
TINY = """\
title: Tiny
problem: {intents: [report_problem]}
start: try_it
steps:
  try_it:
    kind: instruct
    response: utter_try
    next_if_fixed: fixed
    next_if_not: person
    on_fail: person
  fixed:
    kind: resolve
    outcome: fixed
  person:
    kind: escalate
    reason: not_fixed
"""


@pytest.fixture
def check(tmp_path: Path):
    domain = tmp_path / "domain.yml"
    domain.write_text(DOMAIN)

    def run(text: str, name: str = "tiny.yml") -> list[Problem]:
        path = tmp_path / "workflows" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return validate_workflows([path], domain)

    return run


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_the_five_shop_workflows_validate_clean() -> None:
    assert validate_workflows([DEFAULT_WORKFLOWS_DIR]) == []
    assert set(load_workflows()) == {
        "no_internet",
        "device_wont_turn_on",
        "late_delivery",
        "return_refund",
        "wrong_charge",
    }


def test_the_domains_workflow_block_holds_exactly_the_responses_the_workflows_send() -> None:
    domain = (ROOT / "domain" / "workflows.yml").read_text()
    block = domain.split("  # --- workflow responses (workflows/*.yml) ---\n", 1)[1]
    assert set(re.findall(r"^  (utter_\w+):$", block, re.MULTILINE)) == responses_used()


def test_the_tiny_workflow_is_valid(check) -> None:
    assert check(TINY) == []


def test_invalid_yaml_is_reported_with_its_line(check) -> None:
    problem = only(check(TINY + "  broken: [unclosed\n"))
    assert "not valid YAML" in problem.message and problem.line is not None and problem.line >= 17


def test_an_unknown_step_kind_is_named_with_the_known_ones(check) -> None:
    problem = only(check(TINY.replace("kind: resolve", "kind: celebrate")))
    assert problem.step == "fixed" and "unknown step kind 'celebrate'" in problem.message
    assert "resolve" in problem.message and problem.line == 12


def test_an_unknown_key_in_a_step_is_rejected_at_its_line(check) -> None:
    problem = only(check(TINY.replace("    outcome: fixed\n", "    outcome: fixed\n    reponse: utter_try\n")))
    assert problem.step == "fixed" and "unknown key reponse" in problem.message and problem.line == 14


def test_an_unknown_top_level_key_is_rejected(check) -> None:
    problem = only(check("owner: cx-team\n" + TINY))
    assert "unknown key 'owner'" in problem.message and problem.line == 1


def test_a_required_key_that_is_missing_is_named(check) -> None:
    problem = only(check(TINY.replace("    on_fail: person\n", "")))
    assert problem.step == "try_it" and "needs on_fail" in problem.message


def test_a_reference_to_a_step_that_does_not_exist(check) -> None:
    problem = only(check(TINY.replace("next_if_not: person", "next_if_not: persn")))
    assert problem.step == "try_it" and "next_if_not points to unknown step 'persn'" in problem.message


def test_a_missing_start_step(check) -> None:
    problem = only(check(TINY.replace("start: try_it\n", "")))
    assert "missing 'start'" in problem.message


def test_a_start_step_that_does_not_exist(check) -> None:
    problem = only(check(TINY.replace("start: try_it", "start: begin")))
    assert "start step 'begin' does not exist" in problem.message and problem.line == 3


def test_an_unreachable_step(check) -> None:
    problem = only(check(TINY + "  forgotten:\n    kind: escalate\n    reason: nobody_comes_here\n"))
    assert problem.step == "forgotten" and "unreachable" in problem.message and problem.line == 17


def test_a_loop_without_an_exit(check) -> None:
    text = textwrap.dedent("""\
        title: Forever
        problem: {intents: [report_problem]}
        start: gate
        steps:
          gate:
            kind: check
            when: {fact: customer.devices, gt: 0}
            then: try_it
            else: person
          try_it:
            kind: instruct
            response: utter_try
            next_if_fixed: wait
            next_if_not: wait
            on_fail: try_it
          wait:
            kind: follow_up
            after: 1d
            next: try_it
          person:
            kind: escalate
            reason: no_devices
    """)
    problems = check(text)
    loop = [p for p in problems if "loop without an exit" in p.message]
    assert len(loop) == 1 and "try_it, wait" in loop[0].message and loop[0].line == 10, problems


def test_an_ask_with_retries_and_on_fail_is_an_exit_from_a_loop(check) -> None:
    text = TINY.replace("next_if_not: person", "next_if_not: wait")
    text += "  wait:\n    kind: follow_up\n    after: 1d\n    next: try_it\n"
    assert check(text) == []  # try_it -> wait -> try_it, but try_it's on_fail leads to a person


def test_a_loop_of_automatic_steps_would_spin_within_one_turn(check) -> None:
    text = TINY.replace("next_if_not: person", "next_if_not: a") + textwrap.indent(
        textwrap.dedent("""\
        a:
          kind: check
          when: {fact: customer.has_home_internet, is: true}
          then: b
          else: person
        b:
          kind: check
          when: {fact: customer.devices, gt: 0}
          then: a
          else: person
    """),
        "  ",
    )
    problem = only(check(text))
    assert "a, b form a loop of automatic steps" in problem.message


def test_a_resolve_without_the_customer_confirming(check) -> None:
    problem = only(check(TINY.replace("next_if_not: person", "next_if_not: fixed")))
    assert problem.step == "fixed" and "without the customer confirming" in problem.message


def test_a_button_marked_confirms_counts_as_the_customers_confirmation(check) -> None:
    text = TINY.replace("start: try_it", "start: choose") + textwrap.indent(
        textwrap.dedent("""\
        choose:
          kind: ask
          response: utter_try
          expect:
            buttons:
              - {title: "Leave it", value: leave, next: fixed, confirms: true, means: [deny]}
              - {title: "Try", value: try, next: try_it, means: [affirm]}
          on_fail: person
    """),
        "  ",
    )
    assert check(text) == []
    problem = only(check(text.replace(", confirms: true", "")))
    assert "without the customer confirming" in problem.message


def test_a_workflow_without_an_escalate_step(check) -> None:
    text = TINY.replace("kind: escalate\n    reason: not_fixed", "kind: resolve\n    outcome: gave_up")
    problems = check(text)
    assert any("no escalate step" in p.message for p in problems), problems


def test_a_failure_path_that_never_reaches_a_person(check) -> None:
    text = TINY.replace("on_fail: person", "on_fail: retry_later") + textwrap.indent(
        textwrap.dedent("""\
        retry_later:
          kind: follow_up
          after: 1d
          next: try_again
        try_again:
          kind: instruct
          response: utter_try
          next_if_fixed: fixed
          next_if_not: try_again_later
          on_fail: try_again_later
        try_again_later:
          kind: resolve
          outcome: never
    """),
        "  ",
    )
    problems = check(text)
    assert any(p.step == "try_it" and "never reaches an escalate step" in p.message for p in problems), problems


def test_a_response_missing_from_the_domain(check) -> None:
    problem = only(check(TINY.replace("reason: not_fixed", "reason: not_fixed\n    response: utter_sorry")))
    assert problem.step == "person" and "response 'utter_sorry' is not in domain.yml" in problem.message


def test_a_placeholder_nothing_in_the_workflow_fills(check) -> None:
    problem = only(check(TINY.replace("reason: not_fixed", "reason: not_fixed\n    response: utter_mystery")))
    assert "{nobody_fills_this}" in problem.message


def test_an_unknown_operation_and_unknown_or_missing_params(check) -> None:
    text = TINY.replace("next_if_not: person", "next_if_not: refund") + textwrap.indent(
        textwrap.dedent("""\
        refund:
          kind: operation
          operation: refund_everything
          next: person
          on_error: person
    """),
        "  ",
    )
    assert "unknown operation 'refund_everything'" in only(check(text)).message
    text = text.replace("refund_everything", "issue_refund").replace(
        "on_error: person", "on_error: person\n    params: {amount: 5}"
    )
    messages = [p.message for p in check(text)]
    assert any("needs param 'order_id'" in m for m in messages) and any("no param 'amount'" in m for m in messages)


def test_unknown_facts_are_rejected(check) -> None:
    text = TINY.replace("start: try_it", "start: gate") + textwrap.indent(
        textwrap.dedent("""\
        gate:
          kind: check
          when: {fact: order.colour, equals: red}
          then: try_it
          else: person
    """),
        "  ",
    )
    problems = check(text)
    assert any("unknown fact 'order.colour'" in p.message for p in problems), problems
    problem = only(check(text.replace("order.colour", "weather.today")))
    assert "unknown fact 'weather.today'" in problem.message
    problem = only(check(text.replace("order.colour", "context.mood")))
    assert "'mood' is not an input, an answer's save_as or an operation's result" in problem.message
    problem = only(check(text.replace("order.colour", "order.status")))
    assert "needs context 'order_id'" in problem.message
    assert check("inputs: [order_id]\n" + text.replace("order.colour", "order.status")) == []


def test_an_operation_result_field_must_be_one_the_operation_returns(check) -> None:
    text = (
        "inputs: [order_id]\n"
        + TINY.replace("next_if_not: person", "next_if_not: refund")
        + textwrap.indent(
            textwrap.dedent("""\
        refund:
          kind: operation
          operation: issue_refund
          params: {order_id: {fact: context.order_id}}
          next: refunded_much
          on_error: person
        refunded_much:
          kind: check
          when: {fact: context.refund.amount, gt: 100}
          then: person
          else: person
    """),
            "  ",
        )
    )
    assert check(text) == []
    problem = only(check(text.replace("context.refund.amount", "context.refund.colour")))
    assert "the result 'refund' has amount" in problem.message


def test_a_bad_condition_and_a_bad_delay_are_explained(check) -> None:
    text = TINY.replace("next_if_not: person", "next_if_not: wait") + textwrap.indent(
        textwrap.dedent("""\
        wait:
          kind: follow_up
          after: two days
          next: gate
        gate:
          kind: check
          when: {fact: customer.devices, bigger: 2}
          then: try_it
          else: person
    """),
        "  ",
    )
    messages = {p.step: p.message for p in check(text)}
    assert "'after' must be a delay like 2d" in messages["wait"]
    assert "unknown operator bigger" in messages["gate"]


def test_a_step_id_given_twice(check) -> None:
    problems = check(TINY + "  fixed:\n    kind: resolve\n    outcome: again\n")
    assert any(p.step == "fixed" and "given twice" in p.message and p.line == 17 for p in problems), problems


def test_a_yes_no_button_value_must_be_quoted(check) -> None:
    text = TINY.replace("start: try_it", "start: choose") + textwrap.indent(
        textwrap.dedent("""\
        choose:
          kind: ask
          response: utter_try
          expect:
            buttons:
              - {title: "Yes", value: yes, next: try_it, means: [affirm]}
          on_fail: person
    """),
        "  ",
    )
    problem = only(check(text))
    assert "put it in quotes" in problem.message


def test_an_intent_the_domain_does_not_know(check) -> None:
    problem = only(check(TINY.replace("intents: [report_problem]", "intents: [report_issue]")))
    assert "problem intent 'report_issue' is not in the domain" in problem.message


def test_also_reports_are_checked_like_the_problem_itself(check) -> None:
    also = "problem: {intents: [report_problem], also: [{intents: [deny], keywords: [broken]}]}"
    assert check(TINY.replace("problem: {intents: [report_problem]}", also)) == []
    unknown = only(
        check(
            TINY.replace(
                "problem: {intents: [report_problem]}",
                "problem: {intents: [report_problem], also: [{intents: [report_issue]}]}",
            )
        )
    )
    assert "problem intent 'report_issue' is not in the domain" in unknown.message
    nested = only(
        check(
            TINY.replace(
                "problem: {intents: [report_problem]}",
                "problem: {intents: [report_problem], also: [{intents: [deny], also: []}]}",
            )
        )
    )
    assert "no 'also' of its own" in nested.message


def test_unless_is_a_list_of_phrases(check) -> None:
    assert (
        check(
            TINY.replace(
                "problem: {intents: [report_problem]}", "problem: {intents: [report_problem], unless: [will it]}"
            )
        )
        == []
    )
    problem = only(
        check(
            TINY.replace(
                "problem: {intents: [report_problem]}", "problem: {intents: [report_problem], unless: {will: it}}"
            )
        )
    )
    assert "'unless' is a list of words or phrases" in problem.message


def test_the_runner_refuses_files_with_problems(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text(TINY.replace("kind: resolve", "kind: party"))
    with pytest.raises(WorkflowLoadError, match="unknown step kind 'party'"):
        load_workflows([tmp_path])


def test_the_same_workflow_id_in_two_files_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("id: same\n" + TINY)
    (tmp_path / "b.yml").write_text("id: same\n" + TINY)
    with pytest.raises(WorkflowLoadError, match="workflow id 'same' is also used by"):
        load_workflows([tmp_path])


def test_a_file_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text(DOMAIN)
    problem = only(validate_workflows([tmp_path / "nope.yml"], tmp_path / "domain.yml"))
    assert "cannot read" in problem.message
