"""The step runner's rules: asking again, retries, interruptions, follow-ups, hand-overs and its safety cap."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.journeys.types import UserInput
from bot.journeys.workflows import (
    OperationRegistry,
    ShopDbFacts,
    UnknownStep,
    WorkflowRunner,
    WorkflowStateError,
    default_operations,
    load_workflows,
    match_workflow,
)
from bot.journeys.workflows.loader import read_workflows
from bot.journeys.workflows.network import NetworkStatus
from bot.journeys.workflows.runner import REASK_RESPONSE, STEP_LIMIT_REASON
from bot.shop.seed import seed_now
from tests.conftest import SHOP_ANCHOR

NOW = seed_now(SHOP_ANCHOR)
WORKFLOWS = load_workflows()
CUSTOMER = "CUST-00001"  # home internet, one phone, one delivered order
BANANA = UserInput(intent="inform", text="banana")


@pytest.fixture
def runner() -> WorkflowRunner:
    return WorkflowRunner(
        WORKFLOWS, ShopDbFacts.at(NOW), default_operations().with_config(network_status=NetworkStatus())
    )


def at_restart(runner: WorkflowRunner, session):
    result = runner.start("no_internet", CUSTOMER, {}, session, journey_id="j1")
    assert result.current_step == "restart_router"
    return result


def test_an_unexpected_answer_is_asked_again_and_counted_in_the_context(runner, session) -> None:
    first = at_restart(runner, session)
    again = runner.advance("no_internet", "restart_router", first.context, BANANA, CUSTOMER, session)
    assert again.unexpected_answer and again.state == "waiting_for_customer"
    assert again.current_step == "restart_router" and again.steps_taken == ("restart_router",)
    assert [m.response for m in again.messages] == [REASK_RESPONSE, "utter_wf_internet_restart_router"]
    assert again.context["_retries"] == {"restart_router": 1}
    twice = runner.advance("no_internet", "restart_router", again.context, BANANA, CUSTOMER, session)
    assert twice.context["_retries"] == {"restart_router": 2} and twice.state == "waiting_for_customer"
    third = runner.advance("no_internet", "restart_router", twice.context, BANANA, CUSTOMER, session)
    assert third.state == "escalated" and third.escalation_reason == "answers_not_understood"
    assert third.unexpected_answer and third.context["_retries"] == {}


def test_the_retry_count_given_by_the_store_overrides_the_context(runner, session) -> None:
    first = at_restart(runner, session)
    result = runner.advance("no_internet", "restart_router", first.context, BANANA, CUSTOMER, session, retries_used=2)
    assert result.state == "escalated"


def test_a_fitting_answer_after_a_miss_clears_the_count(runner, session) -> None:
    first = at_restart(runner, session)
    missed = runner.advance("no_internet", "restart_router", first.context, BANANA, CUSTOMER, session)
    fixed = runner.advance("no_internet", "restart_router", missed.context, UserInput("affirm"), CUSTOMER, session)
    assert fixed.state == "resolved" and not fixed.unexpected_answer and fixed.context["_retries"] == {}


def test_the_context_given_is_left_untouched(runner, session) -> None:
    context = {"note": "from the store"}
    result = runner.start("no_internet", CUSTOMER, context, session)
    assert context == {"note": "from the store"} and result.context["outage"]["found"] is False


def test_after_an_interruption_the_question_comes_back_without_counting_a_retry(runner, session) -> None:
    first = at_restart(runner, session)
    question = UserInput(intent="order_status", text="where is my order?")
    assert not runner.accepts("no_internet", "restart_router").answered_by(question)
    assert runner.accepts("no_internet", "restart_router").answered_by(UserInput("deny"))
    back = runner.prompt("no_internet", "restart_router", first.context, CUSTOMER, session)
    assert [m.response for m in back.messages] == ["utter_wf_internet_restart_router"]
    assert back.steps_taken == () and back.context.get("_retries", {}) == {} and not back.unexpected_answer


@pytest.mark.parametrize("text", ["ok", "Okay!", "will do", "hang on, let me try"])
def test_an_ok_to_try_this_waits_for_the_outcome_instead_of_closing_the_issue(runner, session, text) -> None:
    first = at_restart(runner, session)
    heard = UserInput(intent="affirm", text=text, ranking=(("affirm", 0.9),))
    assert runner.accepts("no_internet", "restart_router").choose(heard) is None
    waiting = runner.advance("no_internet", "restart_router", first.context, heard, CUSTOMER, session)
    assert waiting.state == "waiting_for_customer" and waiting.current_step == "restart_router"
    assert not waiting.unexpected_answer and waiting.context.get("_retries", {}) == {}
    (message,) = waiting.messages
    assert message.response == "utter_workflow_wait_for_outcome"  # its buttons are in domain/workflows.yml
    worked = runner.advance(
        "no_internet",
        "restart_router",
        waiting.context,
        UserInput(intent="affirm", text="yes that did it"),
        CUSTOMER,
        session,
    )
    assert worked.state == "resolved"


def test_an_answer_that_closes_the_issue_is_taken_only_on_a_sure_first_guess(runner) -> None:
    """ "It's arrived" resolves a late delivery: typed, only when the NLU is sure; other answers may be a close
    runner-up ("tried that already" often ranks second)."""
    accepts = runner.accepts("late_delivery", "choose_remedy")
    sure = UserInput("problem_solved", text="it just arrived", ranking=(("problem_solved", 0.8),))
    assert accepts.choose(sure).value == "arrived"
    second = UserInput(
        "delivery_problem",
        text="someone's at the door, it's here",
        ranking=(("delivery_problem", 0.59), ("problem_solved", 0.3)),
    )
    assert accepts.choose(second) is None
    unsure = UserInput(
        "nlu_fallback",
        text="what happened to it?",
        ranking=(("nlu_fallback", 0.35), ("problem_solved", 0.28), ("problem_persists", 0.28)),
    )
    assert accepts.choose(unsure) is None
    runner_up = UserInput(
        "delivery_problem", text="just send another one", ranking=(("delivery_problem", 0.5), ("want_replacement", 0.4))
    )
    assert accepts.choose(runner_up).value == "replacement"


def test_buttons_are_understood_when_tapped_or_typed(runner, session) -> None:
    first = at_restart(runner, session)
    lights = runner.advance("no_internet", "restart_router", first.context, UserInput("deny"), CUSTOMER, session)
    (message,) = lights.messages
    assert message.buttons[0] == {"title": "Lights look normal", "payload": '/workflow_answer{"answer": "normal"}'}
    typed = runner.advance(
        "no_internet", "lights", lights.context, UserInput("inform", text="No lights at all"), CUSTOMER, session
    )
    assert typed.current_step == "check_power" and typed.context["router_lights"] == "no_power"


def test_an_order_number_typed_without_an_entity_is_read_from_the_text(session) -> None:
    runner = WorkflowRunner(WORKFLOWS, ShopDbFacts.at(NOW))
    asked = runner.start("late_delivery", "CUST-00026", {}, session)
    (message,) = asked.messages
    assert message.buttons == (
        {"title": message.buttons[0]["title"], "payload": '/workflow_answer{"order_id": "TD103300"}'},
    )
    answered = runner.advance(
        "late_delivery",
        "ask_order",
        asked.context,
        UserInput("inform", text="it's order td-103300"),
        "CUST-00026",
        session,
    )
    assert answered.context["order_id"] == "TD103300" and answered.current_step == "slightly_late"


def test_asked_which_order_the_customer_may_name_what_is_in_it(session) -> None:
    """ "the <item> one" to "which order?" takes the order listed with that item, like its button."""
    runner = WorkflowRunner(WORKFLOWS, ShopDbFacts.at(NOW))
    for customer in (f"CUST-{i:05d}" for i in range(1, 80)):
        asked = runner.start("late_delivery", customer, {}, session)
        if asked.current_step == "ask_order" and len(asked.messages[-1].buttons) >= 2:
            break
    else:
        pytest.fail("no customer with two orders to choose from")
    listed = [b["title"].split(": ", 1) for b in asked.messages[-1].buttons]
    number, items = next((n, i) for n, i in listed if sum(i == other for _, other in listed) == 1)
    answered = runner.advance(
        "late_delivery", "ask_order", asked.context, UserInput("inform", text=f"the {items} one"), customer, session
    )
    assert answered.context["order_id"] == number and answered.current_step != "ask_order"


def test_another_customers_order_is_not_accepted(session) -> None:
    runner = WorkflowRunner(WORKFLOWS, ShopDbFacts.at(NOW))
    asked = runner.start("late_delivery", "CUST-00026", {}, session)
    other = runner.advance(
        "late_delivery",
        "ask_order",
        asked.context,
        UserInput("inform", {"order_id": "TD103309"}),
        "CUST-00026",
        session,
    )
    assert other.unexpected_answer and other.current_step == "ask_order" and "order_id" not in other.context
    assert (
        other.messages[0].response == "utter_wf_order_not_found" and other.messages[0].values["order_id"] == "TD103309"
    )


def test_a_follow_up_waits_and_a_customer_back_early_continues_at_once(session) -> None:
    runner = WorkflowRunner(WORKFLOWS, ShopDbFacts.at(NOW))
    asked = runner.start("late_delivery", "CUST-00026", {"order_id": "TD103300"}, session)
    assert asked.state == "waiting_for_customer" and asked.current_step == "slightly_late"
    waiting = runner.advance(
        "late_delivery",
        "slightly_late",
        asked.context,
        UserInput("wait_longer", text="i'll wait"),
        "CUST-00026",
        session,
    )
    assert waiting.state == "waiting_for_company" and waiting.current_step == "wait_slightly_late"
    (follow_up,) = waiting.follow_ups
    assert (follow_up.delay_seconds, follow_up.step, follow_up.response) == (
        2 * 86400,
        "arrived_after_wait",
        "utter_wf_follow_up_hello",
    )
    early = runner.advance(
        "late_delivery", "wait_slightly_late", waiting.context, UserInput("greet"), "CUST-00026", session
    )
    assert [m.response for m in early.messages] == ["utter_wf_delivery_arrived"]  # no "it's Tandem again"
    fired = runner.resume("late_delivery", "wait_slightly_late", waiting.context, "CUST-00026", session)
    assert [m.response for m in fired.messages] == ["utter_wf_follow_up_hello", "utter_wf_delivery_arrived"]


def test_answers_and_resumes_at_steps_that_cannot_take_them_are_refused(runner, session) -> None:
    first = at_restart(runner, session)
    with pytest.raises(WorkflowStateError):
        runner.advance("no_internet", "outage_check", first.context, UserInput("affirm"), CUSTOMER, session)
    with pytest.raises(WorkflowStateError):
        runner.resume("no_internet", "restart_router", first.context, CUSTOMER, session)
    with pytest.raises(UnknownStep):
        runner.advance("no_internet", "renamed_step", first.context, UserInput("affirm"), CUSTOMER, session)
    with pytest.raises(UnknownStep):
        runner.start("teleport", CUSTOMER, {}, session)


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))


def test_a_follow_up_can_hand_the_journey_to_another_workflow(tmp_path: Path, session) -> None:
    _write(
        tmp_path,
        "first.yml",
        """\
        title: First
        problem: {intents: [report_problem]}
        start: later
        steps:
          later:
            kind: follow_up
            after: 1d
            response: utter_wf_follow_up_hello
            workflow: no_internet
    """,
    )
    workflows = {**load_workflows([tmp_path]), "no_internet": WORKFLOWS["no_internet"]}
    runner = WorkflowRunner(
        workflows, ShopDbFacts.at(NOW), default_operations().with_config(network_status=NetworkStatus())
    )
    waiting = runner.start("first", CUSTOMER, {"note": "kept"}, session)
    assert waiting.follow_ups[0].workflow == "no_internet" and waiting.follow_ups[0].step is None
    fired = runner.resume("first", "later", waiting.context, CUSTOMER, session)
    assert fired.workflow == "no_internet" and fired.current_step == "restart_router"
    assert fired.messages[0].response == "utter_wf_follow_up_hello" and fired.context["note"] == "kept"


def test_a_runaway_chain_of_automatic_steps_is_stopped_and_handed_to_a_person(tmp_path: Path, session) -> None:
    _write(
        tmp_path,
        "spin.yml",
        """\
        title: Spin
        problem: {intents: [report_problem]}
        start: a
        steps:
          a: {kind: check, when: {fact: customer.devices, gt: 0}, then: b, else: person}
          b: {kind: check, when: {fact: customer.devices, gt: 0}, then: a, else: person}
          person: {kind: escalate, reason: no_devices}
    """,
    )
    workflows, problems = read_workflows([tmp_path])
    assert problems == []  # the shape is fine; only the validator's loop rule rejects it
    result = WorkflowRunner(workflows, ShopDbFacts.at(NOW), max_automatic_steps=10).start("spin", CUSTOMER, {}, session)
    assert (
        result.state == "escalated" and result.escalation_reason == STEP_LIMIT_REASON and len(result.steps_taken) == 10
    )


def test_an_operation_already_run_in_the_journey_is_not_run_again(tmp_path: Path, session) -> None:
    calls: list[str] = []
    registry = OperationRegistry()

    @registry.register("note_call", returns=("count",))
    def note_call(call):
        calls.append(call.key)
        return {"count": len(calls)}

    _write(
        tmp_path,
        "again.yml",
        """\
        title: Again
        problem: {intents: [report_problem]}
        start: act
        steps:
          act: {kind: operation, operation: note_call, next: ask, on_error: person}
          ask:
            kind: ask
            response: utter_wf_internet_fixed_after_visit
            expect: {intent: {affirm: done, deny: act}}
            on_fail: person
          done: {kind: resolve, outcome: done}
          person: {kind: escalate, reason: failed}
    """,
    )
    runner = WorkflowRunner(load_workflows([tmp_path]), ShopDbFacts.at(NOW), registry)
    first = runner.start("again", CUSTOMER, {}, session, journey_id="j-7")
    again = runner.advance("again", "ask", first.context, UserInput("deny"), CUSTOMER, session, journey_id="j-7")
    assert again.steps_taken == ("act", "ask") and again.context["act"] == {"count": 1}
    assert calls == ["j-7:again:act"]


@pytest.mark.parametrize(
    "intent, text, entities, expected",
    [
        ("report_problem", "no internet since this morning", {}, "no_internet"),
        ("report_problem", "my phone won't turn on", {"device": "phone"}, "device_wont_turn_on"),
        ("report_problem", "my router has a red light on", {"device": "router"}, "no_internet"),
        ("report_problem", "the screen on my phone is cracked", {"device": "phone"}, None),
        ("report_problem", "intenet not wokring", {}, "no_internet"),  # one typo away from a keyword
        ("report_problem", "my interent is down", {}, "no_internet"),  # two letters swapped
        ("report_problem", "my interest in the screen is gone", {}, None),  # two letters from "internet": no match
        ("delivery_problem", "my parcel is late", {}, "late_delivery"),
        ("delivery_problem", "the box arrived damaged", {}, "return_refund"),  # it goes back: refund or exchange
        ("report_problem", "the headphones i got are faulty", {}, "return_refund"),
        ("delivery_problem", "you sent me the wrong thing", {}, "return_refund"),
        ("report_problem", "my router is faulty", {"device": "router"}, "no_internet"),  # its own workflow first
        ("return_item", "i want to return an item", {}, "return_refund"),
        ("billing_question", "i've been overcharged", {}, "wrong_charge"),
        ("billing_question", "you charged extra on this bill", {}, "wrong_charge"),
        ("billing_question", "will i be charged extra for using data in france?", {}, None),  # a question: `unless`
        ("billing_question", "can i get a copy of my last bill", {}, None),
        ("greet", "hi", {}, None),
    ],
)
def test_the_report_picks_the_workflow_that_fits(intent, text, entities, expected) -> None:
    assert match_workflow(WORKFLOWS.values(), UserInput(intent=intent, entities=entities, text=text)) == expected


def test_a_fix_the_report_says_was_tried_already_is_not_asked_for_again(runner, session) -> None:
    """ "Restarted the router twice already": the bot goes on to the next check instead of asking for it."""
    said = "internet down since this morning, i've restarted the router twice already"
    result = runner.start("no_internet", CUSTOMER, {}, session, journey_id="j1", said=said)
    assert result.current_step == "lights" and "restart_router" in result.steps_taken
    assert [m.response for m in result.messages][-2:] == [
        "utter_workflow_already_tried",
        "utter_wf_internet_ask_lights",
    ]


def test_not_having_tried_it_is_not_having_tried_it(runner, session) -> None:
    said = "my internet is down, i haven't restarted the router yet"
    assert at_restart(runner, session).current_step == "restart_router"
    result = runner.start("no_internet", CUSTOMER, {}, session, journey_id="j2", said=said)
    assert result.current_step == "restart_router"


def test_tried_everything_passes_over_every_fix_and_an_answer_can_say_so_too(runner, session) -> None:
    device = {"device_category": "phones"}
    said = "phone wont turn on, i've tried everything, can i get a replacement?"
    result = runner.start("device_wont_turn_on", CUSTOMER, device, session, journey_id="j3", said=said)
    assert not {"charge", "other_charger", "forced_restart"} & {result.current_step}
    assert {"charge", "other_charger", "forced_restart"} <= set(result.steps_taken)
    assert [m.response for m in result.messages].count("utter_workflow_already_tried") == 1
    # At a fix, "no, and I already tried a different charger" skips that one as well.
    first = runner.start("device_wont_turn_on", CUSTOMER, device, session, journey_id="j4")
    assert first.current_step == "charge"
    answer = UserInput(intent="deny", text="no, and i already tried a different charger and cable")
    moved = runner.advance("device_wont_turn_on", "charge", first.context, answer, CUSTOMER, session)
    assert moved.current_step == "forced_restart" and "other_charger" in moved.steps_taken
