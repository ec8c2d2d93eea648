"""The conversation tests (tests/conversations/*.yml, what `./tandem test` plays) against a candidate model:
`rasa test core`, as tests/dialogue/test_conversations.py runs it, and which stories failed at which step."""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.model_release.rasa_process import run_rasa
from bot.settings import PROJECT_ROOT

STORIES = PROJECT_ROOT / "tests" / "conversations"
FAILED = "failed_test_stories.yml"
_STORY = re.compile(r"^- story:\s*(?P<name>.+?)\s*(?:\((?P<source>[^()]*)\))?\s*$")
_PREDICTED = re.compile(r"^\s*-\s*(?P<step>.+?)\s+#\s*predicted:\s*(?P<predicted>.+?)\s*$")


@dataclass(frozen=True)
class FailedStory:
    name: str
    source: str | None  # the test file it is from
    steps: tuple[str, ...]  # "action: utter_x (predicted: utter_y)", one per wrong prediction

    def __str__(self) -> str:
        where = f" ({Path(self.source).name})" if self.source else ""
        return f"story '{self.name}'{where}: " + "; ".join(self.steps or ("failed",))


@dataclass(frozen=True)
class ConversationResult:
    passed: bool
    failed: tuple[FailedStory, ...]
    error: str | None  # Rasa did not run the tests at all
    log: Path


def stories_key(stories: Path = STORIES) -> str:
    """Changes when any test story changes: a model's result for the old stories is no answer for the new ones."""
    digest = hashlib.sha256()
    for path in sorted(stories.rglob("*.yml")):
        digest.update(str(path.relative_to(stories)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def failed_stories(text: str) -> list[FailedStory]:
    """Rasa's failed_test_stories.yml: each story with the steps it got wrong (the `# predicted:` comments)."""
    failed: list[FailedStory] = []
    name: str | None = None
    source: str | None = None
    steps: list[str] = []
    for line in text.splitlines():
        story = _STORY.match(line)
        if story:
            if name is not None:
                failed.append(FailedStory(name, source, tuple(steps)))
            name, source, steps = story.group("name"), story.group("source"), []
            continue
        wrong = _PREDICTED.match(line)
        if wrong and name is not None:
            steps.append(f"{wrong.group('step')} (predicted: {wrong.group('predicted')})")
    if name is not None:
        failed.append(FailedStory(name, source, tuple(steps)))
    return failed


def run_conversation_tests(model: Path, log: Path, timeout: float, stories: Path = STORIES) -> ConversationResult:
    with tempfile.TemporaryDirectory(prefix="tandem-conversations-") as workdir:
        out = Path(workdir)
        run = run_rasa(
            ["test", "core", "--model", str(model), "--stories", str(stories), "--out", str(out), "--no-plot"],
            log,
            timeout,
        )
        report = out / FAILED
        if not run.ok or not report.exists():
            why = "ran out of time" if run.returncode == -1 else f"exited with code {run.returncode}"
            return ConversationResult(False, (), f"`rasa test core` {why}: {run.tail(1500).strip()}", log)
        failed = failed_stories(report.read_text(encoding="utf-8"))
    return ConversationResult(not failed, tuple(failed), None, log)
