"""The customer-facing texts of a resolution workflow (workflows/<name>.yml) for the console's editor: its title
(the bot names the journey by it: "Back to: Late or missing delivery") and its buttons' titles, with the responses
each step says (kept in domain/, edited as responses); and the edit of one text, exactly at its place in the file.

An edit is validated before the file is replaced, by the validator of `tandem workflows validate`
(bot.journeys.workflows.validator) run on a copy of the workflows folder holding the new text: a problem the
workflows did not have before refuses it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from bot.review import yaml_spans
from bot.review.yaml_spans import SpanError

MAX_TITLE = 200
KEY = re.compile(r"title|steps\.([A-Za-z0-9_\-]{1,80})\.buttons\.(\d{1,3})\.title")
RESPONSE_FIELDS = ("response", "notice")


class WorkflowTextError(SpanError):
    """A workflow text that cannot be changed as asked; safe to show."""


class NoSuchWorkflow(WorkflowTextError):
    """No workflow file has the name (404)."""


@dataclass(frozen=True)
class WorkflowText:
    key: str  # `title`, or `steps.<step>.buttons.<n>.title`
    label: str
    text: str
    line: int


@dataclass(frozen=True)
class StepTexts:
    id: str
    kind: str
    responses: tuple[str, ...]  # the domain responses the step says, in the order of the step's fields
    buttons: tuple[WorkflowText, ...]
    line: int


@dataclass(frozen=True)
class WorkflowTexts:
    name: str  # the file's stem: the editor's address
    file: str  # relative to the project
    version: str
    title: WorkflowText
    steps: tuple[StepTexts, ...]


@dataclass(frozen=True)
class WorkflowSummary:
    name: str
    file: str
    title: str
    steps: int


def workflow_files(workflows_dir: Path) -> list[Path]:
    return sorted(p for p in Path(workflows_dir).glob("*.yml") if p.is_file())


def path_of(workflows_dir: Path, name: str) -> Path:
    path = Path(workflows_dir) / f"{name}.yml"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,63}", name) or not path.is_file():
        raise NoSuchWorkflow(f"there is no workflow {name!r}")
    return path


def summaries(workflows_dir: Path, root: Path) -> tuple[WorkflowSummary, ...]:
    out = []
    for path in workflow_files(workflows_dir):
        data = yaml_spans.plain(path.read_text(encoding="utf-8")) or {}
        steps = data.get("steps") if isinstance(data, dict) else None
        title = str(data.get("title") or path.stem) if isinstance(data, dict) else path.stem
        out.append(
            WorkflowSummary(path.stem, _relative(path, root), title, len(steps) if isinstance(steps, dict) else 0)
        )
    return tuple(out)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _step(step_id: str, node: MappingNode) -> StepTexts:
    kind = yaml_spans.child(node, "kind")
    responses = []
    for field in RESPONSE_FIELDS:
        found = yaml_spans.child(node, field)
        if found is not None and isinstance(found[1], ScalarNode):
            responses.append(str(found[1].value))
    reject = yaml_spans.at(node, ("expect", "reject_response"))
    if isinstance(reject, ScalarNode):
        responses.append(str(reject.value))
    buttons = []
    seq = yaml_spans.at(node, ("expect", "buttons"))
    for i, button in enumerate(seq.value if isinstance(seq, SequenceNode) else []):
        title = yaml_spans.child(button, "title")
        if title is not None and isinstance(title[1], ScalarNode):
            buttons.append(
                WorkflowText(
                    f"steps.{step_id}.buttons.{i}.title",
                    f"{step_id}: button {i + 1}",
                    str(title[1].value),
                    title[1].start_mark.line + 1,
                )
            )
    kind_name = str(kind[1].value) if kind is not None and isinstance(kind[1], ScalarNode) else "?"
    return StepTexts(step_id, kind_name, tuple(dict.fromkeys(responses)), tuple(buttons), node.start_mark.line + 1)


def read(workflows_dir: Path, root: Path, name: str) -> WorkflowTexts:
    path = path_of(workflows_dir, name)
    text = path.read_text(encoding="utf-8")
    tree = yaml_spans.compose(text, path.name)
    title = yaml_spans.child(tree, "title")
    if title is None or not isinstance(title[1], ScalarNode):
        raise WorkflowTextError(f"{path.name} has no title")
    steps = yaml_spans.child(tree, "steps")
    step_nodes = steps[1].value if steps is not None and isinstance(steps[1], MappingNode) else []
    return WorkflowTexts(
        name,
        _relative(path, root),
        yaml_spans.version(text),
        WorkflowText("title", "Title", str(title[1].value), title[1].start_mark.line + 1),
        tuple(_step(str(k.value), v) for k, v in step_nodes if isinstance(v, MappingNode)),
    )


def _path(key: str) -> tuple[str | int, ...]:
    match = KEY.fullmatch(key)
    if match is None:
        raise WorkflowTextError(f"{key[:80]!r} is not a text of a workflow (title, or steps.<step>.buttons.<n>.title)")
    if key == "title":
        return ("title",)
    return ("steps", match.group(1), "expect", "buttons", int(match.group(2)), "title")


def plan(text: str, key: str, value: str, file: str) -> tuple[str, dict[str, Any]]:
    """The file's new text with the text at `key` changed, and what changed (for the audit), verified by parsing."""
    value = value.strip()
    if not value or "\n" in value:
        raise WorkflowTextError("a workflow text is one line, not empty")
    if len(value) > MAX_TITLE:
        raise WorkflowTextError(f"a workflow text of at most {MAX_TITLE} characters, not {len(value)}")
    path = _path(key)
    tree = yaml_spans.compose(text, file)
    node = yaml_spans.at(tree, path)
    if not isinstance(node, ScalarNode):
        raise WorkflowTextError(f"{file} has no text {key}")
    if node.value == value:
        raise WorkflowTextError("nothing to save: the text is as it was")
    parent = yaml_spans.at(tree, path[:-1])
    flow = isinstance(parent, MappingNode) and bool(parent.flow_style)
    after = yaml_spans.replace_scalar(text, node, value, flow=flow)
    expected = deepcopy(yaml_spans.plain(text))
    target = expected
    for step in path[:-1]:
        target = target[step]
    before = target[path[-1]]
    target[path[-1]] = value
    changes = {"text": key, "before": str(before), "after": value}
    return yaml_spans.verify(after, expected, file), changes


def problems(workflows_dir: Path, domain_dir: Path, path: Path | None = None, text: str | None = None) -> set[str]:
    """The validator's problems of the workflows folder (with `path` holding `text` when given), by file name."""
    from bot.journeys.workflows.validator import validate_workflows

    with tempfile.TemporaryDirectory(prefix="tandem-workflows-") as tmp:
        folder = Path(tmp)
        for file in workflow_files(workflows_dir):
            shutil.copyfile(file, folder / file.name)
        if path is not None and text is not None:
            (folder / path.name).write_text(text, encoding="utf-8")
        found = validate_workflows([folder], domain_dir)
    return {describe(p) for p in found}


def describe(problem: Any) -> str:
    """A validator's problem without its line (an edit may move lines): file, step, what is wrong."""
    step = f"step '{problem.step}': " if problem.step else ""
    return f"{Path(problem.file).name}: {step}{problem.message}"


def check(workflows_dir: Path, domain_dir: Path, path: Path, text: str) -> None:
    new = sorted(problems(workflows_dir, domain_dir, path, text) - problems(workflows_dir, domain_dir))
    if new:
        raise WorkflowTextError(f"the workflow would not validate: {new[0]}")
