"""Whether an edited domain may be saved: the checks of `rasa data validate` that concern responses, run on the
candidate domain folder before the file is replaced.

Each variation has a text; its `{placeholders}` are slots of the domain or values the response is given already (an
action or a workflow fills them); its condition names a slot value the domain has. The whole folder then loads as
Rasa loads it (bot.rasa_checks.domain, in a child process: Rasa stays at the edges), and the workflows validate against it
as `tandem workflows validate` does (no new problem: a workflow's response must still have every placeholder filled).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.domain_files import DomainFileError, domain_files, load_domain
from bot.review.yaml_spans import SpanError
from bot.settings import PROJECT_ROOT

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SLOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RASA_TIMEOUT = 120.0


class ValidationError(SpanError):
    """The edited file would break the bot; the message says what (safe to show)."""


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def check_text(text: str, *, known: set[str], slots: set[str], max_length: int) -> str:
    """The text as saved (trimmed) if it may be said; `known`: the placeholders the response is given already."""
    text = text.strip()
    if not text:
        raise ValidationError("a variation needs a text: it is what the bot says")
    if len(text) > max_length:
        raise ValidationError(f"a text of at most {max_length} characters, not {len(text)}")
    for name in placeholders(text):
        if not SLOT_NAME.fullmatch(name):
            raise ValidationError(f"{{{name}}} is not a placeholder: a slot's name between braces, like {{order_id}}")
        if name not in slots and name not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise ValidationError(
                f"{{{name}}} is neither a slot of the domain nor a value this response is given (it is given: {choices})"
            )
    return text


@contextmanager
def candidate(domain_dir: Path, path: Path, text: str) -> Iterator[Path]:
    """A copy of the domain folder with `path` holding `text`: what the domain would be after the edit."""
    with tempfile.TemporaryDirectory(prefix="tandem-domain-") as tmp:
        folder = Path(tmp) / "domain"
        for file in domain_files(domain_dir):
            target = folder / file.relative_to(domain_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        (folder / path.relative_to(domain_dir)).write_text(text, encoding="utf-8")
        yield folder


def rasa_problems(folder: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """Rasa's own reading of the domain folder, in a child process (about 2 s)."""
    try:
        run = subprocess.run(
            [sys.executable, "-m", "bot.rasa_checks.domain", str(folder)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=RASA_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return ["Rasa took too long to read the domain; try again"]
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        return [f"Rasa could not read the domain: {(run.stderr or run.stdout).strip()[-500:]}"]
    return [str(p) for p in json.loads(lines[-1])["problems"]]


def workflow_problems(workflows_dir: Path, domain: Path) -> set[str]:
    from bot.journeys.workflows.validator import validate_workflows
    from bot.review.workflow_texts import describe

    if not workflows_dir.is_dir():
        return set()
    return {describe(p) for p in validate_workflows([workflows_dir], domain)}


def check_domain(domain_dir: Path, path: Path, text: str, *, workflows_dir: Path, rasa: bool = True) -> None:
    """Refuse (ValidationError) a new text of the domain file `path` that Rasa would not load, or that gives the
    workflows a problem they did not have."""
    before = workflow_problems(workflows_dir, domain_dir)
    with candidate(domain_dir, path, text) as folder:
        try:
            load_domain(folder)
        except DomainFileError as exc:
            raise ValidationError(str(exc).replace(str(folder), "domain")) from None
        new = sorted(workflow_problems(workflows_dir, folder) - before)
        if new:
            raise ValidationError(f"the workflows would break: {new[0]}")
        if rasa:
            found = rasa_problems(folder)
            if found:
                raise ValidationError("Rasa would not load the domain: " + found[0].replace(str(folder), "domain"))
