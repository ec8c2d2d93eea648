"""What customers ask that the bot does not know: the not-understood messages of the seeded week, grouped by meaning
with the NLU's own sentence encoder (the real one), each group with its size, trend and examples."""

from __future__ import annotations

import numpy as np

from bot.insights import unknown
from bot.insights.dashboard_config import DashboardConfig
from bot.insights.unknown import EmbeddingCache, QuestionCount, UnknownTexts, cluster_questions
from tests.insights.dashboard_seed import EXPECTED, WEEK, week, week_db  # noqa: F401


def test_fallbacks_and_unsure_answers_are_grouped_by_meaning_with_their_trend(week):
    panel = unknown.unknown_questions(week, WEEK)
    assert (panel.messages, panel.previous_messages) == EXPECTED["unknown_messages"]
    assert panel.note is None
    groups = [(c.size, c.previous, c.trend, set(c.examples)) for c in panel.clusters]
    assert groups == [
        # PayPal: twice this week (c2), once the week before (p1): rising.
        (2, 1, "rising", {"can i pay with paypal", "do you accept paypal?"}),
        # The London shop: c3's fallback and c4's unsure answer (confidence 0.5), new this week.
        (2, 0, "new", {"where is your shop in london", "where is your london store?"}),
    ]


def test_the_texts_are_the_most_frequent_distinct_ones(week):
    texts = unknown.unknown_texts(week, WEEK, DashboardConfig(max_texts=1))
    assert texts.messages == 4
    assert len(texts.texts) == 1  # capped; ties are broken by the text


class CountingEncoder:
    """Stands in for the encoder to count what is embedded: two directions, by the text's first word."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        return np.array([[1.0, 0.0] if t.startswith("pay") else [0.0, 1.0] for t in texts], dtype=np.float32)


def test_embeddings_are_kept_so_a_text_is_embedded_once():
    encoder = CountingEncoder()
    cache = EmbeddingCache(encoder, capacity=3)
    now = UnknownTexts(3, (QuestionCount("pay by card", 2), QuestionCount("store hours", 1)))
    before = UnknownTexts(1, (QuestionCount("paypal?", 1),))
    first = cluster_questions(now, before, cache, DashboardConfig())
    again = cluster_questions(now, before, cache, DashboardConfig())
    assert first == again
    assert sorted(encoder.seen) == ["pay by card", "paypal?", "store hours"]
    assert [(c.size, c.previous) for c in first.clusters] == [(2, 1), (1, 0)]
    cache.embed(["another one"])  # over capacity: the least recently used goes
    assert len(cache) == 3


def test_without_the_encoder_each_text_is_its_own_group_and_the_panel_says_why():
    now = UnknownTexts(3, (QuestionCount("pay by card", 2), QuestionCount("paypal?", 1)))
    panel = cluster_questions(now, UnknownTexts(0, ()), None, DashboardConfig())
    assert [c.examples for c in panel.clusters] == [("pay by card",), ("paypal?",)]
    assert panel.note and "not grouped by meaning" in panel.note
