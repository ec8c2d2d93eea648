"""The check a model passes before it may be published: the data validates, the model trains, every conversation
test passes, and on no intent of the held-out messages is it worse than the serving model beyond the tolerance.

Each step says how long it took and, when it failed, why (Rasa's errors, the failing stories and steps, the intents
that got worse with the messages now misunderstood). A failed validation stops the check (there is nothing to
train); otherwise the tests and the regression check both run, so one check shows every reason. The result is kept
in the model's manifest; what it was judged against (the test stories, the held-out file, the serving model, the
tolerance) is kept with it, so a publish can tell a result that no longer holds (`is_current`). A model's
predictions on the held-out file are cached in its manifest: the serving model is evaluated once, not at every check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.model_release import heldout
from bot.model_release.config import ReleaseConfig
from bot.model_release.conversations import STORIES, run_conversation_tests, stories_key
from bot.model_release.progress import Progress, ProgressEvent, silent
from bot.model_release.registry import ModelView, Registry
from bot.model_release.regression import compare
from bot.model_release.train import TrainingFailed, train_candidate
from bot.model_release.validation import validate
from bot.settings import PROJECT_ROOT


@dataclass(frozen=True)
class StepResult:
    step: str  # validate | train | conversations | regression
    passed: bool
    seconds: float
    summary: str
    details: tuple[str, ...] = ()  # why it failed (or what it warns about), a line each


@dataclass(frozen=True)
class CheckResult:
    model: str | None  # None: the data did not validate, nothing was trained
    passed: bool
    steps: tuple[StepResult, ...]
    inputs: Mapping[str, Any] = field(default_factory=dict)  # what the result was judged against
    regression: Mapping[str, Any] | None = None  # RegressionReport.to_json(): every intent's scores
    at: str = ""

    @property
    def reasons(self) -> list[str]:
        """Why publishing is refused: each failed step's summary and details."""
        return [line for s in self.steps if not s.passed for line in (s.summary, *s.details)]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "passed": self.passed,
            "reasons": self.reasons,
            "steps": [
                {
                    "step": s.step,
                    "passed": s.passed,
                    "seconds": round(s.seconds, 1),
                    "summary": s.summary,
                    "details": list(s.details),
                }
                for s in self.steps
            ],
            "inputs": dict(self.inputs),
            "regression": dict(self.regression) if self.regression is not None else None,
            "at": self.at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckResult:
        steps = tuple(
            StepResult(s["step"], bool(s["passed"]), float(s["seconds"]), s["summary"], tuple(s.get("details") or ()))
            for s in data.get("steps") or ()
        )
        return cls(
            data.get("model"),
            bool(data.get("passed")),
            steps,
            dict(data.get("inputs") or {}),
            data.get("regression"),
            data.get("at", ""),
        )


def judged_against(registry: Registry, config: ReleaseConfig, held_out_key: str, stories: Path) -> dict[str, Any]:
    """What a check result depends on besides the model itself."""
    current = registry.current()
    return {
        "stories": stories_key(stories),
        "held_out": held_out_key,
        "metric": config.metric,
        "tolerance": config.tolerance,
        "serving": current.name if current else None,
    }


def is_current(view: ModelView, registry: Registry, config: ReleaseConfig, stories: Path | None = None) -> bool:
    """Whether the model's check result still holds: same tests, held-out file, tolerance and serving model."""
    if not view.check:
        return False
    try:
        key = heldout.load_held_out(config.held_out).key
    except heldout.HeldOutError:
        return False
    inputs = judged_against(registry, config, key, stories or STORIES)
    return dict(view.check.get("inputs") or {}) == inputs


def _predictions(
    registry: Registry,
    view: ModelView,
    held_out: heldout.HeldOutSet,
    workdir: Path,
    timeout: float,
    progress: Progress,
    fraction: float,
) -> heldout.Predictions:
    cached = registry.evaluation(view.name, held_out.key)
    if cached is not None:
        progress(
            ProgressEvent("regression", f"{view.name}'s answers to them are known from an earlier check", fraction)
        )
        return heldout.from_json(cached)
    progress(ProgressEvent("regression", f"{view.name} parses them (about a minute)", fraction))
    predictions = heldout.evaluate(view.path, held_out, workdir / f"evaluate-{view.name}.log", timeout)
    registry.save_evaluation(view.name, held_out.key, heldout.to_json(predictions))
    return predictions


def _conversations(
    registry: Registry, view: ModelView, stories: Path, workdir: Path, config: ReleaseConfig, progress: Progress
) -> StepResult:
    started = time.monotonic()
    previous = view.check or {}
    if (previous.get("inputs") or {}).get("stories") == stories_key(stories):
        for step in previous.get("steps") or ():
            if step["step"] == "conversations":
                progress(
                    ProgressEvent("conversations", "the tests have not changed since this model's last check", 1.0)
                )
                return StepResult(
                    "conversations", bool(step["passed"]), 0.0, step["summary"], tuple(step.get("details") or ())
                )
    progress(ProgressEvent("conversations", f"playing the conversation tests ({stories.name}/) against {view.name}"))
    result = run_conversation_tests(view.path, workdir / "conversations.log", config.conversations_timeout, stories)
    seconds = time.monotonic() - started
    if result.error:
        return StepResult("conversations", False, seconds, "the conversation tests could not run", (result.error,))
    if result.failed:
        return StepResult(
            "conversations",
            False,
            seconds,
            f"{len(result.failed)} conversation test(s) failed",
            tuple(str(story) for story in result.failed),
        )
    return StepResult("conversations", True, seconds, "every conversation test passes")


def _regression(
    registry: Registry, view: ModelView, workdir: Path, config: ReleaseConfig, progress: Progress, nlu_dir: Path
) -> tuple[StepResult, dict[str, Any] | None]:
    started = time.monotonic()
    serving = registry.current()
    if serving is not None and serving.name == view.name:
        return StepResult("regression", True, 0.0, f"{view.name} is the serving model: nothing to compare"), None
    try:
        held_out = heldout.load_held_out(config.held_out)
        examples, left_out = heldout.usable(held_out, heldout.training_examples(nlu_dir))
        progress(
            ProgressEvent(
                "regression",
                f"{len(examples)} held-out messages ({len(left_out)} more are training examples: left out)",
                0.0,
            )
        )
        candidate = _predictions(registry, view, held_out, workdir, config.evaluate_timeout, progress, 0.0)
        baseline = None
        if serving is not None:
            if not serving.exists:
                raise heldout.HeldOutError(
                    f"the serving model's file is gone ({serving.path}): nothing to compare with"
                )
            baseline = _predictions(registry, serving, held_out, workdir, config.evaluate_timeout, progress, 0.5)
    except heldout.HeldOutError as exc:
        return StepResult(
            "regression", False, time.monotonic() - started, "the NLU regression check could not run", (str(exc),)
        ), None
    report = compare(
        examples,
        candidate,
        baseline,
        metric=config.metric,
        tolerance=config.tolerance,
        candidate_model=view.name,
        serving_model=serving.name if serving else None,
        left_out=len(left_out),
    )
    seconds = time.monotonic() - started
    if serving is None:
        summary = f"nothing serves yet: accuracy {report.candidate_accuracy:.1%} on {report.messages} held-out messages"
    elif report.passed:
        summary = (
            f"no intent worse than {serving.name} by more than {config.tolerance:.2f} {config.metric}; accuracy "
            f"{report.serving_accuracy:.1%} -> {report.candidate_accuracy:.1%} on {report.messages} held-out messages"
        )
    else:
        summary = (
            f"{len(report.worse)} intent(s) worse than the serving {serving.name} by more than "
            f"{config.tolerance:.2f} {config.metric}"
        )
    return StepResult("regression", report.passed, seconds, summary, tuple(report.reasons())), report.to_json()


def check(
    registry: Registry,
    config: ReleaseConfig,
    workdir: Path,
    *,
    trained_by: str,
    progress: Progress = silent,
    sentiment_model: Path | None = None,
    env: dict[str, str] | None = None,
    stories: Path | None = None,
    root: Path = PROJECT_ROOT,
) -> CheckResult:
    """Validate, train (or reuse) the model of the data as it is now, test it, compare it with the serving one."""
    stories = stories or STORIES
    workdir.mkdir(parents=True, exist_ok=True)
    steps: list[StepResult] = []
    progress(ProgressEvent("validate", "rasa data validate and the workflows' validator"))
    started = time.monotonic()
    validation = validate(workdir / "validate.log", config.validate_timeout, root)
    steps.append(
        StepResult(
            "validate",
            validation.passed,
            time.monotonic() - started,
            "the data and workflows validate"
            if validation.passed
            else f"{len(validation.problems)} problem(s) in the data",
            validation.problems if not validation.passed else validation.warnings,
        )
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if not validation.passed:
        return CheckResult(None, False, tuple(steps), {}, None, now)

    started = time.monotonic()
    try:
        trained = train_candidate(
            registry.models_dir, workdir / "train.log", progress, sentiment_model=sentiment_model, env=env
        )
    except TrainingFailed as exc:
        steps.append(StepResult("train", False, time.monotonic() - started, "training failed", (str(exc)[-2000:],)))
        return CheckResult(None, False, tuple(steps), {}, None, now)
    view = registry.register(
        trained.path,
        trained_by=trained_by,
        fingerprint=trained.fingerprint,
        sentiment_model=str(sentiment_model) if sentiment_model else None,
        training_seconds=trained.seconds,
    )
    summary = f"trained {view.name}" if trained.seconds is not None else f"{view.name} was up to date"
    steps.append(StepResult("train", True, time.monotonic() - started, summary))

    steps.append(_conversations(registry, view, stories, workdir, config, progress))
    regression_step, regression = _regression(registry, view, workdir, config, progress, root / "data" / "nlu")
    steps.append(regression_step)

    held_out_key = heldout.load_held_out(config.held_out).key if config.held_out.exists() else ""
    result = CheckResult(
        view.name,
        all(s.passed for s in steps),
        tuple(steps),
        judged_against(registry, config, held_out_key, stories),
        regression,
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    registry.save_check(view.name, result.to_json())
    verdict = "passed: it may be published" if result.passed else "failed: it may not be published"
    progress(ProgressEvent("check", f"{view.name} {verdict}", 1.0))
    return result
