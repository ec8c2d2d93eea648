"""The check's first step: the training data as Rasa validates it (`rasa data validate`, as `./tandem check` and
the tests run it) and the workflow files as `tandem workflows validate` does, before a minute is spent training."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.model_release.rasa_process import run_rasa
from bot.settings import PROJECT_ROOT

MAX_HISTORY = "5"  # config.yml's policies look back 5 turns: story conflicts are judged over as many
_RASA_PROBLEM = re.compile(r"\b(ERROR|UserWarning)\b")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Exception|Error): ")
_NOISE = re.compile(r"Warning\b|^\s+(?:warnings\.warn|from |import )")
MAX_REASON = 1500


@dataclass(frozen=True)
class ValidationResult:
    passed: bool
    problems: tuple[str, ...]  # what blocks: Rasa's errors, the workflows' problems
    warnings: tuple[str, ...]  # what Rasa warns about (shown, not blocking)
    log: Path


def _rasa_lines(text: str) -> tuple[list[str], list[str]]:
    """(error lines, warning lines) of Rasa's output, each once, in order."""
    errors: dict[str, None] = {}
    warnings: dict[str, None] = {}
    for line in text.splitlines():
        match = _RASA_PROBLEM.search(line)
        if match is None:
            continue
        message = line.split("UserWarning:", 1)[-1].strip() if match.group(1) == "UserWarning" else line.strip()
        (errors if match.group(1) == "ERROR" else warnings)[message] = None
    return list(errors), list(warnings)


def failure_reason(output: str) -> str:
    """What a reader needs from a failed `rasa data validate`: the exception Rasa ended with (a YAML file it cannot
    read says which file and line), else the end of its output without colour codes and library warnings."""
    lines = _ANSI.sub("", output).splitlines()
    starts = [i for i, line in enumerate(lines) if _EXCEPTION.match(line)]
    if starts:
        return "\n".join(lines[starts[-1] :]).strip()[:MAX_REASON]
    kept = [line for line in lines if line.strip() and not _NOISE.search(line)]
    return "\n".join(kept).strip()[-MAX_REASON:]


def validate(log: Path, timeout: float, root: Path = PROJECT_ROOT) -> ValidationResult:
    from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR
    from bot.journeys.workflows.validator import DEFAULT_DOMAIN, validate_workflows

    run = run_rasa(["data", "validate", "--max-history", MAX_HISTORY], log, timeout, root=root)
    output = run.tail(200_000)
    errors, warnings = _rasa_lines(output)
    if run.ok:  # Rasa logs some findings as errors and still passes the data: those are warnings here too
        errors, warnings = [], errors + warnings
    problems = [f"rasa data validate: {line}" for line in errors]
    if not run.ok and not problems:
        why = "ran out of time" if run.returncode == -1 else f"failed with exit code {run.returncode}"
        problems.append(f"rasa data validate {why}: {failure_reason(output)}")
    problems += [f"workflows: {p}" for p in validate_workflows([DEFAULT_WORKFLOWS_DIR], DEFAULT_DOMAIN)]
    return ValidationResult(not problems and run.ok, tuple(problems), tuple(warnings), log)
