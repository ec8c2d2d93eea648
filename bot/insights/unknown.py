"""What customers ask that the bot does not know: the messages it fell back on or was unsure of, grouped by meaning.

The texts come from the messages written in the period (`insight_turns`: fallback, or the NLU's confidence below config/dashboard.yml's
`low_confidence_below`), the most frequent distinct texts of the period and of the previous one. Each is embedded
with the NLU's own sentence encoder (bot.text_encoder; the vectors are kept in memory, so a text costs its ~10 ms
once per process), and the texts of both periods are clustered together (average linkage on cosine distance, cut
at `same_meaning`): a cluster's size in each period gives its trend. Without the encoder, every distinct text is
its own group and the panel says why.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import InsightTurn
from bot.insights.dashboard_config import DashboardConfig, dashboard_config
from bot.insights.scope import Filters, scoped_turns

log = logging.getLogger(__name__)

T = InsightTurn
MAX_TEXT_CHARS = 300  # what is embedded and shown of one message


class Encoder(Protocol):
    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class QuestionCount:
    text: str
    count: int


@dataclass(frozen=True)
class UnknownTexts:
    """The not-understood messages of a period: how many, and the most frequent distinct texts with their counts."""

    messages: int
    texts: tuple[QuestionCount, ...]


@dataclass(frozen=True)
class QuestionCluster:
    size: int  # messages in the period
    previous: int  # messages in the previous period
    examples: tuple[str, ...]  # the most frequent texts, most frequent first

    @property
    def trend(self) -> str:
        if self.previous == 0:
            return "new" if self.size else "gone"
        change = (self.size - self.previous) / self.previous
        return "rising" if change >= 0.25 else "falling" if change <= -0.25 else "steady"


@dataclass(frozen=True)
class UnknownQuestions:
    messages: int  # not-understood messages in the period
    previous_messages: int
    clustered: int  # of `messages`, how many are in the texts that were grouped (the most frequent ones)
    clusters: tuple[QuestionCluster, ...]
    note: str | None = None  # why the grouping is not by meaning, when it is not


def unknown_texts(session: Session, f: Filters, config: DashboardConfig | None = None) -> UnknownTexts:
    """The period's not-understood messages: the count, and the `max_texts` most frequent texts (lower-cased and
    trimmed, so "Paypal?" and "paypal? " are one)."""
    config = config or dashboard_config()
    not_understood = (T.text.is_not(None), or_(T.fallback.is_(True), T.confidence < config.low_confidence_below))
    text = func.lower(func.trim(func.substr(T.text, 1, MAX_TEXT_CHARS)))
    rows = session.execute(
        scoped_turns(
            select(text, func.count(), func.sum(func.count()).over())  # the window: every message, before LIMIT
            .select_from(T)
            .where(*not_understood)
            .group_by(text)
            .order_by(func.count().desc(), text)
            .limit(config.max_texts),
            f,
        )
    ).all()
    total = int(rows[0][2]) if rows else 0
    return UnknownTexts(total, tuple(QuestionCount(t, int(n)) for t, n, _ in rows if t))


# --- embeddings, kept ------------------------------------------------------------------------------------------------


class EmbeddingCache:
    """Text -> vector, the least recently used dropped beyond `capacity` (float16: 384 numbers take 768 bytes)."""

    def __init__(self, encoder: Encoder, capacity: int = 50_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = self.encoder.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors):
                    self._vectors[text] = vector.astype(np.float16)
        with self._lock:
            out = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # dropped meanwhile by another caller's texts
                    vector = self.encoder.embed([text])[0].astype(np.float16)
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
                out.append(vector)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return np.array(out, dtype=np.float32).reshape(len(texts), -1)


_shared: EmbeddingCache | None = None
_shared_error: str | None = None
_shared_lock = threading.Lock()


def shared_embeddings() -> EmbeddingCache | None:
    """This process's encoder and its cache, loaded on first use (about a second); None, once, if it cannot load."""
    global _shared, _shared_error
    with _shared_lock:
        if _shared is None and _shared_error is None:
            from bot.text_encoder import EncoderUnavailable, TextEncoder

            try:
                _shared = EmbeddingCache(TextEncoder())
            except (EncoderUnavailable, OSError, RuntimeError) as exc:
                _shared_error = str(exc)
                log.warning("unknown questions are not grouped by meaning: %s", exc)
        return _shared


def encoder_problem() -> str | None:
    return _shared_error


# --- grouping ----------------------------------------------------------------------------------------------------------


def group_by_meaning(vectors: np.ndarray, same_meaning: float) -> np.ndarray:
    """A cluster number per row: average-linkage clusters of cosine distance, cut where the average similarity
    inside a cluster would fall below `same_meaning`."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    tree = linkage(unit, method="average", metric="cosine")
    return fcluster(tree, t=1.0 - same_meaning, criterion="distance") - 1


def cluster_questions(
    current: UnknownTexts,
    previous: UnknownTexts,
    embeddings: EmbeddingCache | None,
    config: DashboardConfig | None = None,
) -> UnknownQuestions:
    """Both periods' texts grouped together; the largest groups of the period first."""
    config = config or dashboard_config()
    now = {q.text: q.count for q in current.texts}
    before = {q.text: q.count for q in previous.texts}
    texts = list(dict.fromkeys([*now, *before]))
    note = None
    if embeddings is None:
        labels = np.arange(len(texts))
        note = (
            "Questions are not grouped by meaning: the sentence encoder is unavailable ("
            + (encoder_problem() or "not loaded")
            + ")."
        )
    else:
        labels = group_by_meaning(embeddings.embed(texts), config.same_meaning)
    groups: dict[int, list[str]] = {}
    for text, label in zip(texts, labels):
        groups.setdefault(int(label), []).append(text)
    clusters = []
    for members in groups.values():
        size = sum(now.get(t, 0) for t in members)
        if not size:
            continue
        asked = [t for t in members if now.get(t, 0)]  # examples from this period only
        examples = sorted(asked, key=lambda t: (-now[t], -before.get(t, 0), t))[: config.examples]
        clusters.append(QuestionCluster(size, sum(before.get(t, 0) for t in members), tuple(examples)))
    clusters.sort(key=lambda c: (-c.size, -c.previous, c.examples))
    return UnknownQuestions(
        messages=current.messages,
        previous_messages=previous.messages,
        clustered=sum(now.values()),
        clusters=tuple(clusters[: config.clusters]),
        note=note,
    )


def unknown_questions(
    session: Session,
    f: Filters,
    config: DashboardConfig | None = None,
    embeddings: EmbeddingCache | None = None,
) -> UnknownQuestions:
    """The panel in one call: the texts from the database, then the grouping (with this process's encoder unless
    `embeddings` is given)."""
    config = config or dashboard_config()
    current, previous = unknown_texts(session, f, config), unknown_texts(session, f.previous(), config)
    return cluster_questions(current, previous, embeddings if embeddings is not None else shared_embeddings(), config)
