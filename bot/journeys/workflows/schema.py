"""The shape of a workflow once read from YAML: steps as frozen dataclasses, and the edges between them.

One class per step kind (`types.STEP_KINDS`), so the runner and the validator dispatch on the class and a
field that only one kind has cannot be misread by another. `edges()` is the single description of the step
graph: the validator walks it, the runner follows the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.journeys.workflows.conditions import Condition

# Which answer an `ask` waits for.
EXPECT_INTENT, EXPECT_ENTITY, EXPECT_BUTTONS = "intent", "entity", "buttons"
# How an entity answer is read: an order number (TD + 6 digits), an amount of money, a whole number, text.
VALUE_TYPES = ("text", "order_number", "money", "number")
# Lists of the customer's orders an `ask` for an order can offer as buttons.
ORDER_CHOICES = ("open_orders", "recent_orders", "returnable_orders", "delivery_orders")
# Who the journey waits for during a follow-up.
WAITING = {"company": "waiting_for_company", "customer": "waiting_for_customer"}
DEFAULT_RETRIES = 2
# The intent and entity a workflow button sends: `/workflow_answer{"answer": "<value>"}`.
ANSWER_INTENT, ANSWER_ENTITY = "workflow_answer", "answer"
# What an `instruct` step takes as "that fixed it" and as "it did not" (intents of data/nlu/answers.yml).
FIXED_MEANINGS = ("problem_solved", "affirm")
NOT_FIXED_MEANINGS = ("problem_persists", "deny")
# Intents that mean the same as a meaning when the bot asks a question: "no thanks" is a no, even though the
# NLU files it as declining a suggestion.
SAME_AT_A_QUESTION = {"deny": ("not_interested",)}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow file, pointing at the file, step and line where it can be fixed."""

    file: str
    step: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: step '{self.step}': {self.message}" if self.step else f"{where}: {self.message}"


@dataclass(frozen=True)
class Meaning:
    """What a typed answer must say to choose an option: an intent, or an entity with a value."""

    intent: str | None = None
    entity: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Meaning:
        """`want_refund` (an intent) or `product_category=phones` (an entity and its value)."""
        if "=" in text:
            entity, value = (part.strip() for part in text.split("=", 1))
            return cls(entity=entity, value=value)
        return cls(intent=text.strip())

    def __str__(self) -> str:
        return self.intent if self.intent else f"{self.entity}={self.value}"


@dataclass(frozen=True)
class Button:
    title: str
    value: str
    next: str
    confirms: bool = False  # choosing it is the customer's confirmation (see `Edge.confirms`)
    means: tuple[Meaning, ...] = ()  # how a customer who types instead of tapping says the same


@dataclass(frozen=True)
class Expect:
    """The answer an `ask` accepts: one of intents, an entity value, or one of its buttons."""

    kind: str
    intents: Mapping[str, str] = field(default_factory=dict)  # intent -> next step
    entity: str | None = None
    save_as: str | None = None
    value_type: str = "text"
    choices: str | None = None  # ORDER_CHOICES: offer the customer's orders as buttons
    accept_if: Condition | None = None  # checked with the answer already in the context
    reject_response: str | None = None  # said when `accept_if` fails, before asking again
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Case:
    when: Condition
    next: str


@dataclass(frozen=True, kw_only=True)
class Step:
    id: str
    line: int | None = None

    @property
    def kind(self) -> str:
        return KIND_OF[type(self)]


@dataclass(frozen=True, kw_only=True)
class AskStep(Step):
    response: str
    expect: Expect
    on_fail: str
    next: str | None = None  # entity answers; intents and buttons name their own next step
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True, kw_only=True)
class CheckStep(Step):
    when: Condition
    then: str
    else_: str


@dataclass(frozen=True, kw_only=True)
class InstructStep(Step):
    response: str
    next_if_fixed: str
    next_if_not: str
    on_fail: str
    retries: int = DEFAULT_RETRIES
    # Words that say the customer already did this ("held the power button"): the step is passed as not fixed.
    already_tried: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BranchStep(Step):
    cases: tuple[Case, ...]
    default: str


@dataclass(frozen=True, kw_only=True)
class OperationStep(Step):
    operation: str
    next: str
    on_error: str
    params: Mapping[str, Any] = field(default_factory=dict)  # literal values or Fact references
    save_as: str = ""  # context key of the result; the step id when empty
    response: str | None = None  # said after the operation succeeded

    @property
    def result_key(self) -> str:
        return self.save_as or self.id


@dataclass(frozen=True, kw_only=True)
class FollowUpStep(Step):
    after: str
    after_seconds: int
    next: str | None = None
    workflow: str | None = None  # start this workflow when it fires, instead of continuing at `next`
    response: str | None = None  # said when it fires
    notice: str | None = None  # said now, when the follow-up is scheduled
    waiting: str = "company"


@dataclass(frozen=True, kw_only=True)
class EscalateStep(Step):
    reason: str
    response: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveStep(Step):
    outcome: str
    response: str | None = None


KIND_OF: dict[type, str] = {
    AskStep: "ask",
    CheckStep: "check",
    InstructStep: "instruct",
    BranchStep: "branch",
    OperationStep: "operation",
    FollowUpStep: "follow_up",
    EscalateStep: "escalate",
    ResolveStep: "resolve",
}
WAITS_FOR_CUSTOMER = (AskStep, InstructStep)  # a turn stops here until the customer answers
ENDS = (EscalateStep, ResolveStep)


@dataclass(frozen=True)
class Trigger:
    """What the customer reports that starts this workflow: one of `intents`, and when `keywords` or
    `entities` are given, at least one of them in the message, and none of `unless`; or any of the `also` reports
    ("faulty" said as a problem starts a return, as "send it back" does)."""

    intents: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    entities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    also: tuple[Trigger, ...] = ()
    unless: tuple[str, ...] = ()  # words that make it a question, not this problem ("will I be charged")

    @property
    def all_intents(self) -> tuple[str, ...]:
        return self.intents + tuple(i for other in self.also for i in other.intents)


@dataclass(frozen=True)
class Workflow:
    id: str
    title: str
    problem: Trigger
    start: str
    steps: Mapping[str, Step]
    inputs: tuple[str, ...] = ()  # context keys the caller may fill when starting (e.g. order_id)
    file: str = ""
    line_of: Mapping[str, int] = field(default_factory=dict)  # top-level key -> line
    broken_steps: frozenset[str] = frozenset()  # steps present in the file that could not be read

    def step(self, step_id: str) -> Step:
        try:
            return self.steps[step_id]
        except KeyError:
            raise UnknownStep(f"workflow '{self.id}' has no step '{step_id}'") from None


class UnknownStep(KeyError):
    """A step or workflow id that is not there (a journey saved by an older version of a workflow)."""


@dataclass(frozen=True)
class Edge:
    """A way from one step to the next.

    `confirms`: taking it means the customer confirmed (an affirm, "it works now", a button marked
    `confirms`); a `resolve` must only be reachable through such an edge. `automatic`: taken within the same
    turn without waiting for the customer or the clock.
    """

    label: str
    target: str
    confirms: bool = False
    automatic: bool = False


def edges(step: Step) -> list[Edge]:
    """Every step this one can lead to, labelled by the YAML key that names it."""
    if isinstance(step, AskStep):
        out = [Edge("on_fail", step.on_fail)]
        expect = step.expect
        if expect.kind == EXPECT_INTENT:
            out += [Edge(f"expect.intent.{i}", t, confirms=i in FIXED_MEANINGS) for i, t in expect.intents.items()]
        elif expect.kind == EXPECT_BUTTONS:
            out += [Edge(f"button '{b.value}'", b.next, confirms=b.confirms) for b in expect.buttons]
        elif step.next:
            out.append(Edge("next", step.next))
        return out
    if isinstance(step, InstructStep):
        return [
            Edge("next_if_fixed", step.next_if_fixed, confirms=True),
            Edge("next_if_not", step.next_if_not),
            Edge("on_fail", step.on_fail),
        ]
    if isinstance(step, CheckStep):
        return [Edge("then", step.then, automatic=True), Edge("else", step.else_, automatic=True)]
    if isinstance(step, BranchStep):
        out = [Edge(f"cases[{i}].next", c.next, automatic=True) for i, c in enumerate(step.cases)]
        return out + [Edge("default", step.default, automatic=True)]
    if isinstance(step, OperationStep):
        return [Edge("next", step.next, automatic=True), Edge("on_error", step.on_error, automatic=True)]
    if isinstance(step, FollowUpStep):
        return [Edge("next", step.next)] if step.next else []
    return []
