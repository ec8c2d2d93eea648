"""Read workflow YAML files into `schema.Workflow` objects, reporting every shape problem with its line.

This is the structural half of validation (keys, kinds, types, conditions, durations); the graph, the
responses, operations and facts are checked by `validator.py` on what this returns. A step that cannot be
read is left out of `Workflow.steps` but named in `broken_steps`, so references to it are not reported as
dangling on top of the real problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bot.journeys.types import STEP_KINDS
from bot.journeys.workflows.conditions import ConditionError, parse_condition, parse_fact_ref
from bot.journeys.workflows.schema import (
    DEFAULT_RETRIES,
    EXPECT_BUTTONS,
    EXPECT_ENTITY,
    EXPECT_INTENT,
    ORDER_CHOICES,
    VALUE_TYPES,
    WAITING,
    AskStep,
    BranchStep,
    Button,
    Case,
    CheckStep,
    EscalateStep,
    Expect,
    FollowUpStep,
    InstructStep,
    Meaning,
    OperationStep,
    Problem,
    ResolveStep,
    Step,
    Trigger,
    Workflow,
)
from bot.journeys.workflows.yaml_lines import LineLoader, LineMap, line_of

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_WORKFLOWS_DIR = ROOT / "workflows"

TOP_REQUIRED = ("title", "problem", "start", "steps")
TOP_OPTIONAL = ("id", "description", "inputs")
COMMON_STEP_KEYS = ("kind", "description")
STEP_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind -> (required, optional)
    "ask": (("response", "expect", "on_fail"), ("next", "retries")),
    "check": (("when", "then", "else"), ()),
    "instruct": (("response", "next_if_fixed", "next_if_not", "on_fail"), ("retries", "already_tried")),
    "branch": (("cases", "default"), ()),
    "operation": (("operation", "next", "on_error"), ("params", "save_as", "response")),
    "follow_up": (("after",), ("next", "workflow", "response", "notice", "waiting")),
    "escalate": (("reason",), ("response",)),
    "resolve": (("outcome",), ("response",)),
}
assert set(STEP_KEYS) == set(STEP_KINDS)
ENTITY_KEYS = ("entity", "save_as", "type", "choices", "accept_if", "reject_response")
BUTTON_KEYS = ("title", "value", "next", "confirms", "means")
TRIGGER_KEYS = ("intents", "keywords", "entities", "unless", "also")
DEFAULT_VALUE_TYPES = {"order_id": "order_number", "amount": "money"}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: Any) -> int | None:
    """ "2d", "6h", "1d12h", "30m" -> seconds; None when it is not a duration."""
    match = _DURATION.match(str(text).strip()) if text not in (None, "") else None
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    seconds = days * 86400 + hours * 3600 + minutes * 60
    return seconds or None


class _StepError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class _Reader:
    """Reads one file; collects problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, step: str | None, message: str, line: int | None) -> None:
        self.problems.append(Problem(self.file, step, message, line))

    # --- small typed getters; raise _StepError --------------------------------------------------------------

    @staticmethod
    def text(node: LineMap, key: str, what: str = "a name") -> str:
        value = node[key]
        if isinstance(value, bool):
            raise _StepError(f"'{key}' is read as {value} by YAML: put it in quotes", line_of(node, key))
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
            raise _StepError(f"'{key}' must be {what}", line_of(node, key))
        return str(value)

    def optional_text(self, node: LineMap, key: str, what: str = "a name") -> str | None:
        return self.text(node, key, what) if node.get(key) is not None else None

    @staticmethod
    def condition(node: LineMap, key: str):
        try:
            return parse_condition(node[key], line_of(node, key))
        except ConditionError as exc:
            raise _StepError(f"'{key}': {exc}", exc.line) from None

    @staticmethod
    def check_keys(node: LineMap, allowed: Iterable[str], where: str) -> None:
        unknown = [str(k) for k in node if k not in allowed]
        if unknown:
            raise _StepError(
                f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in {where} "
                f"(allowed: {', '.join(allowed)})",
                line_of(node, unknown[0]),
            )

    @staticmethod
    def phrases(node: LineMap, key: str, where: str) -> tuple[str, ...]:
        raw = node.get(key) or []
        if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
            raise _StepError(f"{where} '{key}' is a list of words or phrases", line_of(node, key))
        return tuple(k.lower() for k in raw)

    def retries(self, node: LineMap) -> int:
        value = node.get("retries", DEFAULT_RETRIES)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _StepError("'retries' must be a whole number, 0 or more", line_of(node, "retries"))
        return value

    # --- steps --------------------------------------------------------------------------------------------------

    def expect(self, node: LineMap, has_next: bool) -> Expect:
        raw = node["expect"]
        line = line_of(node, "expect")
        if not isinstance(raw, LineMap):
            raise _StepError("'expect' must be a mapping with intent, entity or buttons", line)
        forms = [k for k in (EXPECT_INTENT, EXPECT_ENTITY, EXPECT_BUTTONS) if k in raw]
        if len(forms) != 1:
            raise _StepError("'expect' needs exactly one of intent, entity or buttons", line)
        form = forms[0]
        if form != EXPECT_ENTITY and has_next:
            raise _StepError(
                f"'next' does not apply to expect {form}: each {form} names its next step", line_of(node, "next")
            )
        if form == EXPECT_INTENT:
            self.check_keys(raw, (EXPECT_INTENT,), "expect")
            intents = raw[EXPECT_INTENT]
            if not isinstance(intents, LineMap) or not intents:
                raise _StepError(
                    "expect intent maps each intent to its next step, e.g. {affirm: a, deny: b}",
                    line_of(raw, EXPECT_INTENT),
                )
            return Expect(EXPECT_INTENT, intents={str(i): self.text(intents, i, "a step id") for i in intents})
        if form == EXPECT_BUTTONS:
            self.check_keys(raw, (EXPECT_BUTTONS, "save_as"), "expect")
            items = raw[EXPECT_BUTTONS]
            if not isinstance(items, list) or not items:
                raise _StepError("expect buttons is a list of {title, value, next}", line_of(raw, EXPECT_BUTTONS))
            buttons = []
            for item in items:
                if not isinstance(item, LineMap):
                    raise _StepError("each button is a mapping {title, value, next}", line_of(raw, EXPECT_BUTTONS))
                self.check_keys(item, BUTTON_KEYS, "button")
                for key in ("title", "value", "next"):
                    if key not in item:
                        raise _StepError(f"a button needs '{key}'", line_of(item))
                confirms = item.get("confirms", False)
                if not isinstance(confirms, bool):
                    raise _StepError("'confirms' must be true or false", line_of(item, "confirms"))
                means = item.get("means")
                if not isinstance(means, list) or not means or not all(isinstance(m, str) and m.strip() for m in means):
                    raise _StepError(
                        "a button needs 'means': the intents (or entity=value) that say the same when "
                        "typed, e.g. [want_refund] or [product_category=phones]",
                        line_of(item, "means") or line_of(item),
                    )
                buttons.append(
                    Button(
                        self.text(item, "title", "text"),
                        self.text(item, "value", "text"),
                        self.text(item, "next", "a step id"),
                        confirms,
                        tuple(Meaning.parse(m) for m in means),
                    )
                )
            values = [b.value for b in buttons]
            if len(set(values)) != len(values):
                raise _StepError("two buttons have the same value", line_of(raw, EXPECT_BUTTONS))
            return Expect(EXPECT_BUTTONS, buttons=tuple(buttons), save_as=self.optional_text(raw, "save_as"))
        self.check_keys(raw, ENTITY_KEYS, "expect")
        if not has_next:
            raise _StepError("an ask expecting an entity needs 'next'", line_of(node))
        entity = self.text(raw, "entity")
        value_type = str(raw.get("type") or DEFAULT_VALUE_TYPES.get(entity, "text"))
        if value_type not in VALUE_TYPES:
            raise _StepError(f"unknown type '{value_type}' (known: {', '.join(VALUE_TYPES)})", line_of(raw, "type"))
        choices = self.optional_text(raw, "choices")
        if choices is not None and choices not in ORDER_CHOICES:
            raise _StepError(
                f"unknown choices '{choices}' (known: {', '.join(ORDER_CHOICES)})", line_of(raw, "choices")
            )
        return Expect(
            EXPECT_ENTITY,
            entity=entity,
            save_as=self.optional_text(raw, "save_as"),
            value_type=value_type,
            choices=choices,
            accept_if=self.condition(raw, "accept_if") if "accept_if" in raw else None,
            reject_response=self.optional_text(raw, "reject_response"),
        )

    def step(self, step_id: str, node: LineMap, line: int | None) -> Step:
        kind = node.get("kind")
        if kind not in STEP_KINDS:
            raise _StepError(f"unknown step kind {kind!r} (known: {', '.join(STEP_KINDS)})", line_of(node, "kind"))
        required, optional = STEP_KEYS[kind]
        self.check_keys(node, (*COMMON_STEP_KEYS, *required, *optional), f"a {kind} step")
        missing = [k for k in required if k not in node]
        if missing:
            raise _StepError(f"a {kind} step needs {', '.join(missing)}", line_of(node))
        base: dict[str, Any] = {"id": step_id, "line": line}
        if kind == "ask":
            return AskStep(
                **base,
                response=self.text(node, "response"),
                expect=self.expect(node, "next" in node),
                on_fail=self.text(node, "on_fail"),
                next=self.optional_text(node, "next"),
                retries=self.retries(node),
            )
        if kind == "check":
            return CheckStep(
                **base, when=self.condition(node, "when"), then=self.text(node, "then"), else_=self.text(node, "else")
            )
        if kind == "instruct":
            return InstructStep(
                **base,
                response=self.text(node, "response"),
                next_if_fixed=self.text(node, "next_if_fixed"),
                next_if_not=self.text(node, "next_if_not"),
                on_fail=self.text(node, "on_fail"),
                retries=self.retries(node),
                already_tried=self.phrases(node, "already_tried", "an instruct step's"),
            )
        if kind == "branch":
            return self.branch(base, node)
        if kind == "operation":
            return self.operation(base, node)
        if kind == "follow_up":
            return self.follow_up(base, node)
        if kind == "escalate":
            return EscalateStep(**base, reason=self.text(node, "reason"), response=self.optional_text(node, "response"))
        return ResolveStep(**base, outcome=self.text(node, "outcome"), response=self.optional_text(node, "response"))

    def branch(self, base: dict, node: LineMap) -> BranchStep:
        raw = node["cases"]
        if not isinstance(raw, list) or not raw:
            raise _StepError("'cases' is a list of {when, next}", line_of(node, "cases"))
        cases = []
        for item in raw:
            if not isinstance(item, LineMap):
                raise _StepError("each case is a mapping {when, next}", line_of(node, "cases"))
            self.check_keys(item, ("when", "next"), "a case")
            if "when" not in item or "next" not in item:
                raise _StepError("a case needs 'when' and 'next'", line_of(item))
            cases.append(Case(self.condition(item, "when"), self.text(item, "next", "a step id")))
        return BranchStep(**base, cases=tuple(cases), default=self.text(node, "default"))

    def operation(self, base: dict, node: LineMap) -> OperationStep:
        raw = node.get("params") or {}
        if not isinstance(raw, Mapping):
            raise _StepError("'params' maps parameter names to values or {fact: ...}", line_of(node, "params"))
        params = {}
        for name, value in raw.items():
            ref = parse_fact_ref(value)
            if ref is None and isinstance(value, Mapping):
                raise _StepError(f"param '{name}': a value or {{fact: ...}}", line_of(raw, name))
            params[str(name)] = ref if ref is not None else value
        return OperationStep(
            **base,
            operation=self.text(node, "operation"),
            next=self.text(node, "next"),
            on_error=self.text(node, "on_error"),
            params=params,
            save_as=self.optional_text(node, "save_as") or "",
            response=self.optional_text(node, "response"),
        )

    def follow_up(self, base: dict, node: LineMap) -> FollowUpStep:
        seconds = parse_duration(node["after"])
        if seconds is None:
            raise _StepError(
                f"'after' must be a delay like 2d, 6h, 1d12h or 30m, not {node['after']!r}", line_of(node, "after")
            )
        if ("next" in node) == ("workflow" in node):
            raise _StepError(
                "a follow_up needs either 'next' (where the journey continues) or 'workflow' "
                "(the workflow it starts), not both",
                line_of(node),
            )
        waiting = str(node.get("waiting", "company"))
        if waiting not in WAITING:
            raise _StepError(f"'waiting' is one of {', '.join(WAITING)}", line_of(node, "waiting"))
        return FollowUpStep(
            **base,
            after=str(node["after"]),
            after_seconds=seconds,
            next=self.optional_text(node, "next"),
            workflow=self.optional_text(node, "workflow"),
            response=self.optional_text(node, "response"),
            notice=self.optional_text(node, "notice"),
            waiting=waiting,
        )

    # --- the file -----------------------------------------------------------------------------------------------

    def trigger(self, data: LineMap) -> Trigger:
        raw = data["problem"]
        if not isinstance(raw, LineMap):
            raise _StepError(
                "'problem' is a mapping: intents (and optionally keywords, entities, also)", line_of(data, "problem")
            )
        also_raw = raw.get("also") or []
        if not isinstance(also_raw, list) or not all(isinstance(a, LineMap) for a in also_raw):
            raise _StepError(
                "problem 'also' is a list of other reports (intents, keywords, entities) that start it",
                line_of(raw, "also"),
            )
        also = []
        for other in also_raw:
            if "also" in other:
                raise _StepError("an 'also' report has no 'also' of its own", line_of(other, "also"))
            also.append(self._trigger(other))
        return replace(self._trigger(raw), also=tuple(also))

    def _trigger(self, raw: LineMap) -> Trigger:
        self.check_keys(raw, TRIGGER_KEYS, "problem")
        intents = raw.get("intents")
        if not isinstance(intents, list) or not intents or not all(isinstance(i, str) for i in intents):
            raise _StepError(
                "problem 'intents' is a non-empty list of intent names", line_of(raw, "intents") or line_of(raw)
            )
        keywords, unless = self.phrases(raw, "keywords", "problem"), self.phrases(raw, "unless", "problem")
        entities_raw = raw.get("entities") or {}
        if not isinstance(entities_raw, Mapping):
            raise _StepError(
                "problem 'entities' maps an entity to the values that select this workflow", line_of(raw, "entities")
            )
        entities = {
            str(k): tuple(str(v) for v in (vals if isinstance(vals, list) else [vals]))
            for k, vals in entities_raw.items()
        }
        return Trigger(tuple(intents), keywords, entities, unless=unless)

    def workflow(self, data: Any, stem: str) -> Workflow | None:
        if not isinstance(data, LineMap):
            self.problem(None, "a workflow file is a mapping with title, problem, start and steps", line_of(data) or 1)
            return None
        for key, line in data.duplicates:
            self.problem(None, f"'{key}' is given twice", line)
        unknown = [str(k) for k in data if k not in (*TOP_REQUIRED, *TOP_OPTIONAL)]
        for key in unknown:
            self.problem(
                None, f"unknown key '{key}' (allowed: {', '.join((*TOP_REQUIRED, *TOP_OPTIONAL))})", line_of(data, key)
            )
        missing = [k for k in TOP_REQUIRED if k not in data]
        for key in missing:
            self.problem(
                None,
                f"missing '{key}'" + (" (the step the workflow starts at)" if key == "start" else ""),
                line_of(data),
            )
        trigger = Trigger(())
        if "problem" in data:
            try:
                trigger = self.trigger(data)
            except _StepError as exc:
                self.problem(None, str(exc), exc.line)
        inputs = data.get("inputs") or []
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            self.problem(None, "'inputs' is a list of context keys the caller may fill", line_of(data, "inputs"))
            inputs = []
        steps: dict[str, Step] = {}
        broken: set[str] = set()
        raw_steps = data.get("steps")
        if "steps" in data and (not isinstance(raw_steps, LineMap) or not raw_steps):
            self.problem(None, "'steps' maps step ids to steps", line_of(data, "steps"))
            raw_steps = LineMap()
        for key, line in getattr(raw_steps, "duplicates", []):
            self.problem(str(key), "step id given twice", line)
        for step_id, node in (raw_steps or {}).items():
            step_id = str(step_id)
            if not isinstance(node, LineMap):
                self.problem(step_id, "a step is a mapping starting with 'kind'", line_of(raw_steps, step_id))
                broken.add(step_id)
                continue
            for key, line in node.duplicates:
                self.problem(step_id, f"'{key}' is given twice", line)
            try:
                steps[step_id] = self.step(step_id, node, line_of(raw_steps, step_id))
            except _StepError as exc:
                self.problem(step_id, str(exc), exc.line)
                broken.add(step_id)
        workflow_id = str(data.get("id") or stem)
        start = data.get("start")
        return Workflow(
            id=workflow_id,
            title=str(data.get("title") or workflow_id),
            problem=trigger,
            start=str(start) if start is not None else "",
            steps=steps,
            inputs=tuple(inputs),
            file=self.file,
            line_of=dict(data.key_lines),
            broken_steps=frozenset(broken),
        )


def read_workflow_file(path: str | Path) -> tuple[Workflow | None, list[Problem]]:
    """One workflow file: the workflow as far as it could be read, and what is wrong with its shape."""
    path = Path(path)
    reader = _Reader(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem(str(path), None, f"cannot read: {exc.strerror or exc}")]
    try:
        data = yaml.load(text, Loader=LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            Problem(
                str(path),
                None,
                f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                mark.line + 1 if mark else None,
            )
        ]
    workflow = reader.workflow(data, path.stem)
    return workflow, reader.problems


def workflow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, and the *.yml / *.yaml files of folders, in a stable order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted([*p.glob("*.yml"), *p.glob("*.yaml")])
        else:
            out.append(p)
    return out


class WorkflowLoadError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("workflows cannot be loaded:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems


def read_workflows(paths: Iterable[str | Path]) -> tuple[dict[str, Workflow], list[Problem]]:
    """Every workflow under `paths` by id, and the shape problems (including an id used twice)."""
    workflows: dict[str, Workflow] = {}
    problems: list[Problem] = []
    for path in workflow_files(paths):
        workflow, found = read_workflow_file(path)
        problems += found
        if workflow is None:
            continue
        if workflow.id in workflows:
            problems.append(
                Problem(
                    str(path),
                    None,
                    f"workflow id '{workflow.id}' is also used by {workflows[workflow.id].file}",
                    workflow.line_of.get("id"),
                )
            )
            continue
        workflows[workflow.id] = workflow
    return workflows, problems


def load_workflows(paths: Iterable[str | Path] = (DEFAULT_WORKFLOWS_DIR,)) -> dict[str, Workflow]:
    """The workflows the runner uses; raises WorkflowLoadError listing every shape problem."""
    workflows, problems = read_workflows(paths)
    if problems:
        raise WorkflowLoadError(problems)
    return workflows
