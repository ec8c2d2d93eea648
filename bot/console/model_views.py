"""How the registry's models look on the console's model page and in its JSON: each model's state (serving, kept
for a rollback, checked, refused), its check's steps, the failing conversation test stories and the per-intent
NLU differences, read back from the check result the registry keeps (bot.model_release.check.CheckResult)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.model_release.registry import ModelView

STEP_LABELS = {
    "validate": "Validate the data",
    "train": "Train",
    "conversations": "Conversation tests",
    "regression": "NLU regression check",
    "publish": "Load into each Rasa server",
    "rollback": "Load the previous model into each Rasa server",
}
STATE_LABELS = {
    "serving": "Serving",
    "previous": "Kept for rollback",
    "passed": "Check passed",
    "refused": "Refused by its check",
    "unchecked": "Not checked",
    "withdrawn": "Withdrawn",
}
# bot.model_release.conversations.FailedStory as its check result keeps it: "story 'NAME' (FILE): STEP; STEP"
_STORY = re.compile(r"^story '(?P<name>.*)'(?: \((?P<file>[^()]*)\))?: (?P<steps>.*)$")
_STEP = re.compile(r"^(?P<expected>.+?) \(predicted: (?P<predicted>.+)\)$")
EPSILON = 1e-9


def model_state(view: ModelView, rollback_target: str | None) -> str:
    if view.serving:
        return "serving"
    if view.in_stack and view.name == rollback_target:
        return "previous"
    check = view.check or {}
    if check:
        return "passed" if check.get("passed") else "refused"
    return "withdrawn" if view.withdrawn else "unchecked"


def failing_stories(details: Sequence[str]) -> list[dict[str, Any]]:
    """Each failed conversation test: its name, file, and the steps the model got wrong (expected, predicted)."""
    stories: list[dict[str, Any]] = []
    for line in details:
        found = _STORY.match(line)
        if found is None:
            stories.append({"name": line, "file": None, "steps": []})
            continue
        steps = []
        for step in found.group("steps").split("; "):
            wrong = _STEP.match(step)
            steps.append(
                {"expected": wrong.group("expected"), "predicted": wrong.group("predicted")}
                if wrong
                else {"expected": step, "predicted": None}
            )
        stories.append({"name": found.group("name"), "file": found.group("file"), "steps": steps})
    return stories


def intent_differences(regression: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The per-intent table: every intent whose score changed, the worse ones first, and how many did not change."""
    if not regression or not regression.get("serving_model"):
        return None
    metric = str(regression.get("metric") or "f1")
    rows = []
    unchanged = 0
    for change in regression.get("changes") or ():
        if abs(float(change.get("delta") or 0.0)) <= EPSILON:
            unchanged += 1
            continue
        serving, candidate = change.get("serving") or {}, change.get("candidate") or {}
        rows.append(
            {
                "intent": change["intent"],
                "serving": serving.get(metric),
                "candidate": candidate.get(metric),
                "delta": float(change["delta"]),
                "worse": bool(change.get("worse")),
                "newly_wrong": [{"text": pair[0], "predicted": pair[1]} for pair in change.get("newly_wrong") or ()],
            }
        )
    rows.sort(key=lambda r: (not r["worse"], r["delta"], r["intent"]))
    return {
        "metric": metric,
        "tolerance": regression.get("tolerance"),
        "serving_model": regression.get("serving_model"),
        "candidate_model": regression.get("candidate_model"),
        "messages": regression.get("messages"),
        "serving_accuracy": regression.get("serving_accuracy"),
        "candidate_accuracy": regression.get("candidate_accuracy"),
        "rows": rows,
        "unchanged": unchanged,
    }


def check_json(check: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A check result as the page shows it."""
    if not check:
        return None
    steps = [
        {**dict(s), "label": STEP_LABELS.get(str(s.get("step")), str(s.get("step")))} for s in check.get("steps") or ()
    ]
    stories = [
        story
        for s in steps
        if s.get("step") == "conversations" and not s.get("passed")
        for story in failing_stories([str(d) for d in s.get("details") or ()])
        if story["file"] is not None or story["steps"]
    ]
    return {
        "passed": bool(check.get("passed")),
        "at": check.get("at") or "",
        "reasons": list(check.get("reasons") or []),
        "steps": steps,
        "failing_stories": stories,
        "intents": intent_differences(check.get("regression")),
        "judged_against": (check.get("inputs") or {}).get("serving"),
    }


def model_json(view: ModelView, rollback_target: str | None) -> dict[str, Any]:
    state = model_state(view, rollback_target)
    check = view.check or {}
    return {
        "name": view.name,
        "state": state,
        "state_label": STATE_LABELS[state],
        "serving": view.serving,
        "kept_for_rollback": view.in_stack and not view.serving,
        "trained_at": view.trained_at.isoformat(),
        "trained_by": view.trained_by,
        "file_exists": view.exists,
        "published": [
            {"at": p.at.isoformat(), "by": p.by, "action": p.action}
            for p in view.publications
            if p.action != "withdraw"
        ],
        "withdrawn": view.withdrawn,
        "check": check_json(check),
        "can_publish": bool(check.get("passed")) and not view.serving and view.exists,
        "why_not_publish": why_not_publish(view),
    }


def why_not_publish(view: ModelView) -> str | None:
    """Why the page offers no Publish for this model (None: it does)."""
    check = view.check or {}
    if view.serving:
        return f"{view.name} serves already."
    if not view.exists:
        return f"The file of {view.name} is gone: check the data again to train it."
    if view.in_stack and not check.get("passed"):
        return f"{view.name} served before: a rollback brings it back."
    if not check:
        return f"{view.name} has not been checked: check the current data first."
    if not check.get("passed"):
        return f"{view.name} failed its check, so it may not be published."
    return None
