"""Save as test: a reviewed conversation (or its corrected version, a customer message given another intent) becomes a
Rasa test story appended to a file under tests/conversations/, which `./tandem test` runs with the trained model.

The story is the redacted transcript (bot.review.transcript): each customer message with its intent (entity
placeholders marked, `[TD010001](order_id)`) and the actions the bot ran after it. It is appended as text, the way a
person would add it, so the file's comments, order and style stay and a git diff shows exactly the new lines; the
result must parse to the old stories plus exactly the new one, and Rasa's own story reader must accept it
(bot.rasa_checks.stories, in a child process: Rasa stays at the edge) before it replaces the file. The row recording it and
its audit are written in the caller's transaction, before the file, which is written last.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.db.models import ReviewSavedTest, utcnow
from bot.domain_files import load_domain
from bot.review import audit, nlu_files
from bot.review.config import review_config
from bot.review.conversation_marks import SUBJECT
from bot.review.conversations import ConversationError
from bot.review.nlu_files import FileEdit
from bot.review.redact import Redacted
from bot.review.transcript import Transcript, transcript
from bot.settings import PROJECT_ROOT

HEADER = (
    "# Conversation tests saved from the console's conversation review (Save as test): real conversations,\n"
    "# redacted, with the intents a reviewer confirmed or corrected. `./tandem test` runs them with the trained model.\n"
    'version: "3.1"\n\nstories:\n'
)
CHECK_SECONDS = 60
MAX_NAME = 120
_WRITING = threading.Lock()  # one writer of a test file at a time in a process: an edit replaces the file whole


class StoryError(ConversationError):
    """A story that cannot be saved (nothing to test, a bad correction, a file Rasa would not read); safe to show."""


@dataclass(frozen=True)
class StoryFile:
    """Where saved stories go, the domain their intents and actions must belong to, and the project root that paths
    are shown relative to (what git shows)."""

    path: Path
    domain_dir: Path = nlu_files.DOMAIN_DIR
    root: Path = PROJECT_ROOT

    @classmethod
    def default(cls) -> StoryFile:
        return cls(PROJECT_ROOT / review_config().conversations.test_file)

    @property
    def shown(self) -> str:
        try:
            return str(self.path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(self.path)


@dataclass(frozen=True)
class SavedStory:
    story: str
    file: str  # relative to the project
    corrected: tuple[int, ...]  # the transcript lines whose intent was changed
    edit: FileEdit

    def diff(self) -> str:
        """The change as git would show it (paths relative to the project)."""
        old = (self.edit.before or "").splitlines(keepends=True)
        new = self.edit.after.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.file}", f"b/{self.file}"))


def _intents(domain_dir: Path) -> frozenset[str]:
    items = load_domain(domain_dir).get("intents", [])
    return frozenset(str(next(iter(i))) if isinstance(i, dict) else str(i) for i in items)


def story_steps(t: Transcript, corrections: Mapping[int, str], known_intents: frozenset[str]) -> list[dict[str, Any]]:
    """The transcript as story steps, each user line's intent replaced by `corrections[line index]` when given."""
    users = {line.index: line for line in t.user_lines}
    for index, intent in corrections.items():
        if index not in users:
            raise StoryError(f"line {index} of the conversation is not a customer message")
        if intent not in known_intents:
            raise StoryError(f"{intent!r} is not an intent of the domain")
    steps: list[dict[str, Any]] = []
    for line in t.lines:
        if line.kind == "user":
            chosen = corrections[line.index] if line.index in corrections else line.intent
            if not chosen:
                raise StoryError(f"the customer's message on line {line.index} has no intent: choose one")
            step: dict[str, Any] = {"intent": chosen}
            if line.text:
                step = {"user": Redacted(line.text, line.placeholders).example, **step}
            steps.append(step)
        elif line.kind == "action" and line.action and steps:  # actions before the first message are the start's
            steps.append({"action": line.action})
    if not steps:
        raise StoryError("the conversation has no customer message to test")
    return steps


def _scalar(value: str) -> str:
    """A one-line YAML scalar: plain when YAML reads it back unchanged, else double-quoted (JSON is valid YAML)."""
    try:
        if yaml.safe_load(value) == value and ": " not in value and not value.startswith(("-", "?", "[", "{")):
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


def render_story(name: str, steps: list[dict[str, Any]], indent: int = 2) -> list[str]:
    """The story's lines in the style of tests/conversations/ (`- user: |` blocks), its `- story:` at `indent`."""
    pad = " " * indent
    lines = [f"{pad}- story: {_scalar(name)}\n", f"{pad}  steps:\n"]
    for step in steps:
        if "user" in step:
            lines += [
                f"{pad}    - user: |\n",
                f"{pad}        {step['user']}\n",
                f"{pad}      intent: {step['intent']}\n",
            ]
        elif "intent" in step:
            lines.append(f"{pad}    - intent: {step['intent']}\n")
        else:
            lines.append(f"{pad}    - action: {step['action']}\n")
    return lines


def _stories(text: str | None, path: Path) -> list[Any]:
    if not text:
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoryError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("stories") or [], list):
        raise StoryError(f"{path.name} must be a mapping with a `stories:` list")
    return list(data.get("stories") or [])


def _unique(name: str, stories: list[Any]) -> str:
    taken = {s.get("story") for s in stories if isinstance(s, dict)}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def plan_story(file: StoryFile, name: str, steps: list[dict[str, Any]]) -> tuple[FileEdit, str]:
    """The file with the story appended (a new file starts with a header), checked to hold exactly one story more."""
    path = file.path
    before = path.read_text(encoding="utf-8") if path.exists() else None
    stories = _stories(before, path)
    name = _unique(name, stories)
    base = before if before and before.strip() else HEADER
    if before and before.strip() and "stories" not in (yaml.safe_load(before) or {}):
        base = before + ("" if before.endswith("\n") else "\n") + "\nstories:\n"
    indent = next(
        (len(line) - len(line.lstrip(" ")) for line in base.splitlines() if line.lstrip().startswith("- story:")), 2
    )
    after = base + ("" if base.endswith("\n") else "\n") + "\n" + "".join(render_story(name, steps, indent))
    expected = {"story": name, "steps": [{**s, "user": s["user"] + "\n"} if "user" in s else s for s in steps]}
    got = _stories(after, path)
    if got[: len(stories)] != stories or got[len(stories) :] != [expected]:
        raise StoryError(f"{path.name}: the story would not read back as written; nothing was written")
    return FileEdit(path, before, after), name


def rasa_check(text: str, name: str, domain_dir: Path) -> None:
    """Rasa's YAMLStoryReader over `text` as the file `name` (bot.rasa_checks.stories in a child process)."""
    with tempfile.TemporaryDirectory(prefix="tandem-story-") as folder:
        staged = Path(folder) / name
        staged.write_text(text, encoding="utf-8")
        try:
            result = subprocess.run(
                [sys.executable, "-m", "bot.rasa_checks.stories", str(staged), "--domain", str(domain_dir)],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=CHECK_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            raise StoryError(
                f"Rasa's story reader did not answer within {CHECK_SECONDS} s; nothing was written"
            ) from exc
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if result.returncode != 0 or "stories" not in answer:
        reason = answer.get("error") or (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise StoryError(f"the test story was not saved: {str(reason).replace(staged.as_posix(), name)}")


def save_test(
    session: Session,
    conversation_id: int,
    *,
    by: str,
    tracker_url: str,
    file: StoryFile | None = None,
    corrections: Mapping[int, str] | None = None,
    name: str | None = None,
    at: datetime | None = None,
) -> SavedStory:
    """Append the conversation as a test story (its `corrections`: transcript line -> intent), recorded and audited."""
    file = file or StoryFile.default()
    at = at or utcnow()
    by = audit.check_actor(by)
    corrections = dict(corrections or {})
    name = " ".join((name or f"reviewed conversation {conversation_id}").split())
    if not name or len(name) > MAX_NAME:
        raise StoryError(f"a story's name holds 1 to {MAX_NAME} characters")
    t = transcript(session, conversation_id, tracker_url)
    steps = story_steps(t, corrections, _intents(file.domain_dir))
    with _WRITING:
        edit, story = plan_story(file, name, steps)
        rasa_check(edit.after, file.path.name, file.domain_dir)
        session.add(
            ReviewSavedTest(
                conversation_id=conversation_id,
                story=story,
                file=file.shown,
                corrected=bool(corrections),
                saved_by=by,
                saved_at=at,
            )
        )
        audit.record(
            session,
            actor=by,
            action="conversation.saved_as_test",
            subject_kind=SUBJECT,
            subject_id=conversation_id,
            changes={
                "story": story,
                "file": file.shown,
                "source": t.source,
                "corrections": {str(k): v for k, v in sorted(corrections.items())},
            },
            at=at,
        )
        session.flush()
        nlu_files.apply([edit])
    return SavedStory(story, file.shown, tuple(sorted(corrections)), edit)
