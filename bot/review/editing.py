"""Saving a CX user's edit of a response or a workflow text, as the console's editors do: refused when the file
changed since the editor read it (its version), validated before the file is replaced (bot.review.response_checks,
the workflows' validator), audited in the caller's transaction (bot.review.audit), then written whole.

The audit row is added before the file is written and the transaction commits after (as annotations do): should the
commit fail, the file holds the edit without its row. One writer at a time in a process; the file's version is checked
again just before it is replaced, so an annotation written meanwhile is never lost (the edit is refused instead).
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.domain_files import load_domain
from bot.review import audit, nlu_files, response_checks, responses, workflow_texts
from bot.review.audit import AuditEntry
from bot.review.responses import Response, ResponseError, VariationEdit
from bot.review.service import TrainingData
from bot.review.yaml_spans import SpanError, version

_WRITING = threading.Lock()
RESPONSE = "response"
WORKFLOW = "workflow"
RECENT = 10


class EditConflict(SpanError):
    """The file changed since the editor read it: reload and edit again (409)."""

    def __init__(self, file: str) -> None:
        super().__init__(f"the file {file} changed since you opened it (someone saved it meanwhile): reload, then edit")


@dataclass(frozen=True)
class Saved:
    file: str  # relative to the project
    version: str  # the file's new version, for the next edit
    summary: str  # "1 line changed"
    changes: dict[str, Any]
    entry: AuditEntry

    @property
    def message(self) -> str:
        return f"Saved: {self.summary} in {self.file}."


def workflows_dir(data: TrainingData) -> Path:
    return data.root / "workflows"


def diff_summary(before: str, after: str) -> str:
    removed = added = 0
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        removed += line.startswith("- ")
        added += line.startswith("+ ")
    changed = min(removed, added)
    parts = [(changed, "changed"), (added - changed, "added"), (removed - changed, "removed")]
    text = ", ".join(f"{n} line{'s' if n != 1 else ''} {what}" for n, what in parts if n)
    return text or "no line changed"


def _write(path: Path, before: str, after: str, file: str) -> None:
    if path.read_text(encoding="utf-8") != before:
        raise EditConflict(file)
    nlu_files.apply([nlu_files.FileEdit(path, before, after)])


def _checked_edit(edit: VariationEdit, response: Response, data: TrainingData) -> VariationEdit:
    """The edit with its text checked (and trimmed) and its condition one the editor offers; a condition asked for
    that is the variation's own already is no change."""
    if edit.op == "remove":
        return edit
    set_condition = edit.set_condition
    if edit.op == "change" and set_condition and edit.index is not None and edit.index < len(response.variations):
        old = response.variations[edit.index]
        if old.condition == ((edit.condition,) if edit.condition else ()):
            set_condition = False
        elif not old.condition_editable:
            raise ResponseError(
                f"variation {edit.index + 1} of {response.name} has a condition the editor keeps as it is "
                f"({' and '.join(c.label for c in old.condition)}): edit it in {response.file}"
            )
    condition = edit.condition if set_condition or edit.op == "add" else None
    allowed = responses.allowed_conditions(data.domain_dir)
    if condition is not None and condition not in allowed:
        choices = ", ".join(c.label for c in allowed)
        raise ResponseError(f"{condition.label} is not a condition a variation may have (they are: {choices})")
    text = edit.text
    if text is not None or edit.op == "add":
        slots = {str(name) for name in load_domain(data.domain_dir).get("slots") or {}}
        text = response_checks.check_text(
            text or "", known=response.placeholders(), slots=slots, max_length=responses.MAX_TEXT
        )
    return VariationEdit(edit.op, edit.index, text, set_condition, condition)


def save_response(
    session: Session,
    name: str,
    edit: VariationEdit,
    *,
    expected_version: str,
    by: str,
    data: TrainingData,
    rasa: bool = True,
) -> Saved:
    """Change, add or remove one variation of response `name`, if its file is still at `expected_version`."""
    by = audit.check_actor(by)
    with _WRITING:
        response, path = responses.find(data.domain_dir, data.root, name)
        before = path.read_text(encoding="utf-8")
        if version(before) != expected_version:
            raise EditConflict(response.file)
        after, changes = responses.plan(before, name, _checked_edit(edit, response, data), response.file)
        response_checks.check_domain(data.domain_dir, path, after, workflows_dir=workflows_dir(data), rasa=rasa)
        changes["file"] = response.file
        entry = audit.record(
            session, actor=by, action="response_edited", subject_kind=RESPONSE, subject_id=name, changes=changes
        )
        session.flush()
        _write(path, before, after, response.file)
    return Saved(response.file, version(after), diff_summary(before, after), changes, entry)


def save_workflow_text(
    session: Session, name: str, key: str, text: str, *, expected_version: str, by: str, data: TrainingData
) -> Saved:
    """Change one text of workflow `name` (its title, a button's title), if its file is still at `expected_version`."""
    by = audit.check_actor(by)
    folder = workflows_dir(data)
    with _WRITING:
        path = workflow_texts.path_of(folder, name)
        file = responses.relative(path, data.root)
        before = path.read_text(encoding="utf-8")
        if version(before) != expected_version:
            raise EditConflict(file)
        after, changes = workflow_texts.plan(before, key, text, file)
        workflow_texts.check(folder, data.domain_dir, path, after)
        changes["file"] = file
        entry = audit.record(
            session, actor=by, action="workflow_text_edited", subject_kind=WORKFLOW, subject_id=name, changes=changes
        )
        session.flush()
        _write(path, before, after, file)
    return Saved(file, version(after), diff_summary(before, after), changes, entry)


def recent(session: Session, kind: str, name: str) -> tuple[AuditEntry, ...]:
    return audit.trail(session, kind, name, limit=RECENT)
