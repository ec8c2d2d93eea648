"""Annotating an inbox message in one step, as the console and `tandem review annotate` do: the decision and its
audit in the database, the example in `data/nlu/` (a new intent in `domain/` too), the file noted on the annotation.

The files are planned before any is written (a duplicate example or a file that cannot be edited refuses the whole
annotation) and written inside the caller's transaction, which commits after: should that commit fail, the example is
in the file (a visible git change) without its annotation, and annotating again is refused as a duplicate example.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from bot.domain_files import load_domain
from bot.review import audit, nlu_files
from bot.review.annotations import (
    INTENT_NAME,
    NOT_AN_INTENT,
    AnnotationError,
    AnnotationView,
    Decision,
    annotate,
    inbox_message,
    mark_written,
)
from bot.review.audit import AuditError
from bot.review.examples import EntitySpan
from bot.review.nlu_files import FileEdit, NluFileError
from bot.settings import PROJECT_ROOT

# One writer of the training data at a time in a process (the console annotates from several threads): an edit is
# planned from the file's text and replaces it whole, so two planned side by side would lose one example.
_WRITING = threading.Lock()
MAX_GROUP = 200  # the most messages one group annotation takes (a page of the inbox at most)


@dataclass(frozen=True)
class TrainingData:
    """Where accepted examples go; recorded paths are relative to `root` (the project: what git shows)."""

    nlu_dir: Path = nlu_files.NLU_DIR
    domain_dir: Path = nlu_files.DOMAIN_DIR
    root: Path = PROJECT_ROOT


@dataclass(frozen=True)
class Annotated:
    annotation: AnnotationView
    edits: tuple[FileEdit, ...]  # the files changed, each with its diff
    files: tuple[str, ...] = ()  # their paths relative to the project (what git shows), in the same order


@dataclass(frozen=True)
class Refused:
    """A message of a group that was not annotated, and why (safe to show)."""

    message_id: int
    reason: str


@dataclass(frozen=True)
class GroupAnnotated:
    done: tuple[Annotated, ...]
    refused: tuple[Refused, ...]


@dataclass(frozen=True)
class Choices:
    """What an annotation may name: the domain's intents and entities, the topics of data/nlu and domain/."""

    intents: tuple[str, ...]
    entities: tuple[str, ...]
    nlu_topics: tuple[str, ...]
    domain_topics: tuple[str, ...]


def _names(items: Sequence[object]) -> frozenset[str]:
    return frozenset(str(next(iter(i))) if isinstance(i, dict) else str(i) for i in items)


def _stamp(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    """Which YAML files the folders hold and when each last changed: what the choices are read from."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix in nlu_files.YAML_SUFFIXES and path.is_file():
                stat = path.stat()
                found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


@lru_cache(maxsize=8)
def _choices(data: TrainingData, stamp: tuple[tuple[str, int, int], ...]) -> Choices:
    domain = load_domain(data.domain_dir)
    return Choices(
        intents=tuple(sorted(_names(domain.get("intents", [])))),
        entities=tuple(sorted(_names(domain.get("entities", [])))),
        nlu_topics=tuple(p.stem for p in nlu_files.nlu_files(data.nlu_dir)),
        domain_topics=tuple(sorted(p.stem for p in Path(data.domain_dir).glob("*.yml"))),
    )


def choices(data: TrainingData | None = None) -> Choices:
    """Read again only when a file changed (parsing the domain takes about 0.1 s: every page of the inbox asks)."""
    data = data or TrainingData()
    return _choices(data, _stamp(data.domain_dir, data.nlu_dir))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def annotate_message(
    session: Session,
    message_id: int,
    *,
    by: str,
    intent: str | None = None,
    discard: bool = False,
    entities: tuple[EntitySpan, ...] | None = None,
    nlu_file: str | None = None,
    domain_file: str | None = None,
    data: TrainingData | None = None,
    at: datetime | None = None,
) -> Annotated:
    """Discard the message, or accept it under `intent` (the NLU's own when None): a confirmation, a relabelling to
    an intent of the domain, or a new intent, which needs `nlu_file` (the topic of `data/nlu/` it goes into) and
    goes into the domain topic `domain_file` (by default the one of the same name). `entities`: spans of the
    redacted text (None: its placeholders of known entities)."""
    data = data or TrainingData()
    if discard:
        if intent is not None or entities:
            raise AnnotationError("discard, or give an intent: not both")
        return Annotated(annotate(session, message_id, Decision("discarded"), by=by, at=at), ())
    message = inbox_message(session, message_id)
    intent = intent or message.intent
    schema = load_domain(data.domain_dir)
    known = _names(schema.get("intents", []))
    entity_names = _names(schema.get("entities", []))
    for span in entities or ():
        if span.entity not in entity_names:
            raise AnnotationError(
                f"{span.entity!r} is not an entity of the domain; the entities are {', '.join(sorted(entity_names))}"
            )
    if intent in known:
        action = "confirmed" if intent == message.intent else "relabelled"
    elif nlu_file is None:
        raise AnnotationError(
            f"{intent!r} is not an intent of the domain; to create it, choose the data/nlu file it goes into"
        )
    else:
        action = "new_intent"
    view = annotate(session, message_id, Decision(action, intent, entities), by=by, at=at)
    assert view.intent is not None
    with _WRITING:  # after the annotation's row: a writer waiting here holds no lock another one waits for
        edits = [nlu_files.plan_example(view.intent, view.example, nlu_dir=data.nlu_dir, new_file=nlu_file)]
        if action == "new_intent":
            domain = nlu_files.topic_file(data.domain_dir, domain_file or Path(edits[0].path).stem)
            listed = nlu_files.plan_domain_intent(view.intent, domain)
            edits += [listed] if listed is not None else []
        nlu_files.apply(edits)
    files = tuple(_relative(edit.path, data.root) for edit in edits)
    written = mark_written(session, view.id, files[0], by=by, at=at)
    return Annotated(written, tuple(edits), files)


def annotate_group(
    session: Session,
    message_ids: Sequence[int],
    *,
    by: str,
    intent: str | None = None,
    discard: bool = False,
    nlu_file: str | None = None,
    domain_file: str | None = None,
    data: TrainingData | None = None,
    at: datetime | None = None,
) -> GroupAnnotated:
    """The same decision on each message of a group the inbox showed (each its own NLU intent when `intent` is None;
    a new intent is created by the first and taken by the rest), each in a savepoint of its own: a message that is
    refused (annotated already, a duplicate example, nothing to confirm) leaves the others annotated."""
    by = audit.check_actor(by)
    if intent is not None and (not INTENT_NAME.fullmatch(intent) or intent in NOT_AN_INTENT):
        raise AnnotationError(f"{intent!r} is not an intent name (lower case letters, digits and _)")
    if nlu_file is not None:
        nlu_files.topic_file((data or TrainingData()).nlu_dir, nlu_file)  # a name that cannot be a file: refused once
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        raise AnnotationError("choose at least one message")
    if len(ids) > MAX_GROUP:
        raise AnnotationError(f"a group annotation takes at most {MAX_GROUP} messages, not {len(ids)}")
    done: list[Annotated] = []
    refused: list[Refused] = []
    for message_id in ids:
        try:
            with session.begin_nested():
                done.append(
                    annotate_message(
                        session,
                        message_id,
                        by=by,
                        intent=intent,
                        discard=discard,
                        nlu_file=nlu_file,
                        domain_file=domain_file,
                        data=data,
                        at=at,
                    )
                )
        except (AnnotationError, NluFileError, AuditError) as exc:
            refused.append(Refused(message_id, str(exc)))
    return GroupAnnotated(tuple(done), tuple(refused))
