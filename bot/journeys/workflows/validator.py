"""`validate_workflows`: everything that would make a workflow misbehave in front of a customer.

Beyond the file's shape (loader.py): dangling step references, unreachable steps, loops without an exit,
loops of automatic steps (the runner would spin within one turn), `resolve` steps reachable without the
customer confirming, workflows with no way to a person on failure, responses missing from the domain and
`{placeholders}` nothing fills, unknown intents, operations, parameters and facts.

The confirmation rule: remove every confirmation edge (an `affirm` answer, an instruct's `next_if_fixed`,
a button marked `confirms: true`) from the step graph; no `resolve` step may then be reachable from the
start. So every way to a resolve passes through the customer saying it is sorted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from bot.domain_files import DEFAULT_DOMAIN, DomainFileError, load_domain
from bot.journeys.workflows.conditions import Condition, FactRef, facts_in
from bot.journeys.workflows.facts import DEVICE_KEY, ORDER_KEY, PLAN_KEY, check_fact_name
from bot.journeys.workflows.graph import cycles, reachable, reversed_graph, successors
from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR, read_workflows
from bot.journeys.workflows.messages import FACT_VALUES
from bot.journeys.workflows.operations import OperationRegistry
from bot.journeys.workflows.runner import RUNNER_RESPONSES
from bot.journeys.workflows.schema import (
    ANSWER_ENTITY,
    EXPECT_BUTTONS,
    EXPECT_ENTITY,
    EXPECT_INTENT,
    AskStep,
    BranchStep,
    CheckStep,
    EscalateStep,
    FollowUpStep,
    OperationStep,
    Problem,
    ResolveStep,
    Step,
    Workflow,
    edges,
)
from bot.journeys.workflows.shop_operations import default_operations

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Domain:
    """The parts of the domain a workflow depends on: intents and responses (with their texts)."""

    def __init__(self, intents: Iterable[str], responses: Mapping[str, list[str]], path: str = "") -> None:
        self.intents = set(intents)
        self.responses = dict(responses)
        self.path = path

    @property
    def name(self) -> str:
        """What problems call it: the file's name, or the folder's with a slash (`domain/`)."""
        path = Path(self.path)
        if not self.path:
            return "the domain"
        return f"{path.name}/" if path.is_dir() else path.name

    @classmethod
    def load(cls, path: str | Path) -> Domain:
        """A domain file, or the folder of topic files (`domain/`) merged."""
        data = load_domain(path)
        intents = [next(iter(i)) if isinstance(i, dict) else str(i) for i in data.get("intents") or []]
        responses = {
            name: [str(v.get("text", "")) for v in (variants or []) if isinstance(v, dict)]
            for name, variants in (data.get("responses") or {}).items()
        }
        return cls(intents, responses, str(path))

    def placeholders(self, response: str) -> set[str]:
        return {name for text in self.responses.get(response, []) for name in _PLACEHOLDER.findall(text)}


def _responses(step: Step) -> Iterator[str]:
    for attr in ("response", "notice"):
        value = getattr(step, attr, None)
        if value:
            yield value
    if isinstance(step, AskStep) and step.expect.reject_response:
        yield step.expect.reject_response


def _conditions(step: Step) -> Iterator[Condition]:
    if isinstance(step, CheckStep):
        yield step.when
    elif isinstance(step, BranchStep):
        yield from (case.when for case in step.cases)
    elif isinstance(step, AskStep) and step.expect.accept_if is not None:
        yield step.expect.accept_if


def _facts(step: Step) -> Iterator[str]:
    for condition in _conditions(step):
        yield from facts_in(condition)
    if isinstance(step, OperationStep):
        yield from (v.path for v in step.params.values() if isinstance(v, FactRef))


class _WorkflowCheck:
    def __init__(self, workflow: Workflow, all_ids: set[str], domain: Domain, operations: OperationRegistry) -> None:
        self.w = workflow
        self.all_ids = all_ids
        self.domain = domain
        self.operations = operations
        self.problems: list[Problem] = []

    def add(self, step: Step | None, message: str, line: int | None = None) -> None:
        self.problems.append(
            Problem(self.w.file, step.id if step else None, message, line or (step.line if step else None))
        )

    # --- context keys: what the workflow's answers, inputs and operations put there ----------------------------

    def context_keys(self) -> dict[str, set[str] | None]:
        """key -> the fields it has (operation results), or None for a plain value."""
        keys: dict[str, set[str] | None] = {k: None for k in self.w.inputs}
        for step in self.w.steps.values():
            if isinstance(step, AskStep):
                if step.expect.kind == EXPECT_ENTITY:
                    keys[step.expect.save_as or step.expect.entity or ""] = None
                elif step.expect.kind == EXPECT_BUTTONS:
                    keys[step.expect.save_as or ANSWER_ENTITY] = None
            elif isinstance(step, OperationStep):
                returns = (
                    set(self.operations.get(step.operation).returns) if step.operation in self.operations else set()
                )
                keys[step.result_key] = returns | {"error"}
        return keys

    # --- checks --------------------------------------------------------------------------------------------------

    def references(self) -> bool:
        """Dangling step and workflow references; True when the graph is whole."""
        known = set(self.w.steps) | set(self.w.broken_steps)
        whole = not self.w.broken_steps
        if self.w.start and self.w.start not in known:
            self.add(None, f"start step '{self.w.start}' does not exist", self.w.line_of.get("start"))
            whole = False
        if not self.w.start:
            whole = False
        for step in self.w.steps.values():
            for edge in edges(step):
                if edge.target not in known:
                    self.add(step, f"{edge.label} points to unknown step '{edge.target}'")
                    whole = False
            if isinstance(step, FollowUpStep) and step.workflow and step.workflow not in self.all_ids:
                self.add(step, f"follow_up starts unknown workflow '{step.workflow}'")
        return whole

    def graph(self) -> None:
        steps = self.w.steps
        every = successors(steps)
        reached = reachable(every, [self.w.start])
        for sid in sorted(set(steps) - reached, key=lambda s: steps[s].line or 0):
            self.add(steps[sid], "unreachable: no step leads here from the start")

        ends = [
            sid
            for sid, s in steps.items()
            if isinstance(s, (EscalateStep, ResolveStep)) or (isinstance(s, FollowUpStep) and s.workflow)
        ]
        can_end = reachable(reversed_graph(every), ends)
        stuck = sorted(reached - can_end, key=lambda s: steps[s].line or 0)
        if stuck:
            self.add(
                steps[stuck[0]],
                "loop without an exit: no escalate or resolve step can be reached from steps " + ", ".join(stuck),
            )

        automatic = successors(steps, lambda e: e.automatic)
        for loop in cycles(automatic):
            self.add(
                steps[loop[0]],
                "steps " + ", ".join(loop) + " form a loop of automatic steps (no ask, "
                "instruct or follow_up in it): the runner would go round it within one turn",
            )

        unconfirmed = reachable(successors(steps, lambda e: not e.confirms), [self.w.start])
        for sid in sorted(unconfirmed):
            if isinstance(steps[sid], ResolveStep):
                self.add(
                    steps[sid],
                    "resolve is reachable without the customer confirming: put an affirm answer, "
                    "an instruct's next_if_fixed or a button with confirms: true on every way to it",
                )

        escalations = {sid for sid in reached if isinstance(steps[sid], EscalateStep)}
        if not escalations:
            self.add(
                None,
                "no escalate step: a workflow needs a way to hand over to a person when it fails",
                self.w.line_of.get("steps"),
            )
            return
        to_person = reachable(reversed_graph(every), escalations)
        for step in (steps[s] for s in sorted(reached)):
            failure = getattr(step, "on_fail", None) or getattr(step, "on_error", None)
            if failure and failure in steps and failure not in to_person:
                self.add(step, f"the failure path ('{failure}') never reaches an escalate step")

    def responses(self, keys: Mapping[str, set[str] | None]) -> None:
        fillable = set(keys) | set(FACT_VALUES["customer"])
        for namespace, key in (("order", ORDER_KEY), ("plan", PLAN_KEY), ("device", DEVICE_KEY)):
            if key in keys:  # the runner fills these only when the context names the order, plan or device
                fillable |= set(FACT_VALUES[namespace])
        fillable |= {f"{k}_{f}" for k, fields in keys.items() if fields for f in fields}
        for step in self.w.steps.values():
            for response in _responses(step):
                if response not in self.domain.responses:
                    self.add(step, f"response '{response}' is not in {self.domain.name}")
                    continue
                for name in sorted(self.domain.placeholders(response) - fillable):
                    self.add(step, f"response '{response}' uses {{{name}}}, which this workflow never fills")

    def intents(self) -> None:
        for intent in self.w.problem.all_intents:
            if intent not in self.domain.intents:
                self.add(None, f"problem intent '{intent}' is not in the domain", self.w.line_of.get("problem"))
        for step in self.w.steps.values():
            if isinstance(step, AskStep) and step.expect.kind == EXPECT_INTENT:
                for intent in step.expect.intents:
                    if intent not in self.domain.intents:
                        self.add(step, f"expects intent '{intent}', which is not in the domain")

    def operation_steps(self) -> None:
        for step in self.w.steps.values():
            if not isinstance(step, OperationStep):
                continue
            if step.operation not in self.operations:
                self.add(step, f"unknown operation '{step.operation}' (known: {', '.join(self.operations.names())})")
                continue
            spec = self.operations.get(step.operation)
            for name in spec.params:
                if name not in step.params:
                    self.add(step, f"operation '{step.operation}' needs param '{name}'")
            for name in step.params:
                if name not in (*spec.params, *spec.optional):
                    self.add(
                        step,
                        f"operation '{step.operation}' has no param '{name}' "
                        f"(params: {', '.join((*spec.params, *spec.optional)) or 'none'})",
                    )

    def fact_names(self, keys: Mapping[str, set[str] | None]) -> None:
        needs = {"order": ORDER_KEY, "plan": PLAN_KEY}
        for step in self.w.steps.values():
            for fact in _facts(step):
                why = check_fact_name(fact)
                if why:
                    self.add(step, why)
                    continue
                namespace, _, rest = fact.partition(".")
                if namespace == "context":
                    key, _, field = rest.partition(".")
                    if key not in keys:
                        self.add(
                            step,
                            f"unknown fact '{fact}': '{key}' is not an input, an answer's save_as "
                            "or an operation's result in this workflow",
                        )
                    elif (
                        field and (result_fields := keys[key]) is not None and field.split(".")[0] not in result_fields
                    ):
                        self.add(
                            step, f"unknown fact '{fact}': the result '{key}' has {', '.join(sorted(result_fields))}"
                        )
                elif namespace in needs and needs[namespace] not in keys:
                    self.add(step, f"fact '{fact}' needs context '{needs[namespace]}' (an input or an answer)")

    def run(self) -> list[Problem]:
        whole = self.references()
        if whole:
            self.graph()
        keys = self.context_keys()
        self.responses(keys)
        self.intents()
        self.operation_steps()
        self.fact_names(keys)
        return self.problems


def responses_used(paths: Iterable[str | Path] = (DEFAULT_WORKFLOWS_DIR,)) -> set[str]:
    """Every domain response the workflows (and the runner itself) may send: they are used even though no
    story, rule or `response="..."` in actions/ names them."""
    workflows, _ = read_workflows(paths)
    used = set(RUNNER_RESPONSES)
    for workflow in workflows.values():
        for step in workflow.steps.values():
            used |= set(_responses(step))
    return used


def validate_workflows(
    paths: Iterable[str | Path],
    domain_path: str | Path = DEFAULT_DOMAIN,
    operations: OperationRegistry | None = None,
) -> list[Problem]:
    """Every problem in the workflow files under `paths` (files or folders), checked against the domain."""
    operations = operations or default_operations()
    workflows, problems = read_workflows(paths)
    try:
        domain = Domain.load(domain_path)
    except (OSError, DomainFileError) as exc:
        return problems + [Problem(str(domain_path), None, f"cannot read the domain: {exc}")]
    for name in RUNNER_RESPONSES:
        if name not in domain.responses:
            problems.append(
                Problem(str(domain_path), None, f"response '{name}' (said by the workflow runner) is missing")
            )
    ids = set(workflows)
    for workflow in workflows.values():
        problems += _WorkflowCheck(workflow, ids, domain, operations).run()
    return problems
