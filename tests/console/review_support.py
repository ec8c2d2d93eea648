"""Helpers of the NLU inbox's console tests: a copy of the training data to write into (never the checkout's own,
whose fingerprint the trained model and other tests depend on), and customer messages the bot was unsure about."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from bot.db.session import session_scope
from bot.review.service import TrainingData
from tests.review.rows import Msg, conversation, unsure

ROOT = Path(__file__).resolve().parents[2]
# What customers wrote: personal data in the first, two spellings of one question, a product question, a fallback,
# an example the training data has, and two questions that mean the same.
PERSONAL = "pls send back TD104233, mail jo.bloggs@gmail.com or ring 07700 900123"
PERSONAL_VALUES = ("TD104233", "104233", "jo.bloggs", "07700", "900123")
PERSONAL_REDACTED = "pls send back TD010001, mail customer1@example.com or ring <phone>"
# Tables the inbox tests write to, children first.
REVIEW_TABLES = (
    "review_audit",
    "review_annotations",
    "review_messages",
    "insight_turns",
    "insight_conversations",
    "agent_sessions",
    "agents",
)


def _digest(folders: tuple[Path, ...]) -> dict[str, str]:
    return {
        str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@contextmanager
def training_copy(tmp_path: Path) -> Iterator[TrainingData]:
    """data/nlu and domain/ copied under `tmp_path` (the paths shown are `data/nlu/<topic>.yml`, as in the project);
    fails if the checkout's own files changed meanwhile."""
    project = (ROOT / "data" / "nlu", ROOT / "domain")
    before = _digest(project)
    shutil.copytree(ROOT / "data" / "nlu", tmp_path / "data" / "nlu")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    yield TrainingData(nlu_dir=tmp_path / "data" / "nlu", domain_dir=tmp_path / "domain", root=tmp_path)
    assert _digest(project) == before, "a test wrote into the checkout's data/nlu or domain/"


def clear(url: str) -> None:
    with session_scope(url) as session:
        for table in REVIEW_TABLES:
            session.execute(text(f"DELETE FROM {table}"))


def seed_inbox(url: str) -> dict[str, int]:
    """A day of messages the bot was unsure about (seven distinct texts, eight messages); their ids by name."""
    with session_scope(url) as session:
        ids = conversation(
            session,
            "inbox-a",
            [
                unsure(PERSONAL, 0, intent="order_status"),
                unsure("where has TD220001 got to", 1),
                unsure("where has td-330001 got to?", 2),
                Msg("do u have the pixel 9 in blue", "product_question", 0.52, 0.3, False, 3),
                Msg("blorp zzz", "nlu_fallback", 0.3, 0.2, True, 4),
                unsure("where is my order", 5),  # orders.yml has it already
                unsure("can i return my headphones", 6),  # these two mean the same (the sentence encoder)
                unsure("i want to send my headphones back", 7),
            ],
        )
    names = ("personal", "where_first", "where", "pixel", "blorp", "known", "headphones", "headphones_back")
    return dict(zip(names, ids))
