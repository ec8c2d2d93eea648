"""The pure parts of sentiment: label mapping, per-conversation trend, and when to offer a person."""

from __future__ import annotations

import pytest

from bot.sentiment.escalation import STREAK, VERY_NEGATIVE_WHILE_FAILING, EscalationRules, escalation_reason
from bot.sentiment.labels import LabelMappingError, map_labels
from bot.sentiment.trend import MessageSentiment, conversation_trend, message_sentiments, trend


def user(text: str, label: str | None = None, score: float | None = None) -> dict:
    parse = {"intent": {"name": "inform"}}
    if label:
        parse["sentiment"] = {"label": label, "score": score, "confidence": 0.9}
    return {"event": "user", "text": text, "parse_data": parse, "timestamp": 1.0}


def slot(name: str, value: object) -> dict:
    return {"event": "slot", "name": name, "value": value}


BOT = {"event": "bot", "text": "ok"}


class TestLabelMapping:
    def test_polarity_names_map_to_themselves(self) -> None:
        assert map_labels(["Negative", "neutral", "POSITIVE"]) == {0: "negative", 1: "neutral", 2: "positive"}

    def test_generic_labels_need_and_follow_a_mapping(self) -> None:
        with pytest.raises(LabelMappingError, match="LABEL_0"):
            map_labels(["LABEL_0", "LABEL_1"])
        assert map_labels(["LABEL_0", "LABEL_1"], {"LABEL_0": "negative", "LABEL_1": "positive"}) == {
            0: "negative",
            1: "positive",
        }

    def test_mapping_to_an_unknown_polarity_is_refused(self) -> None:
        with pytest.raises(LabelMappingError, match="not polarities"):
            map_labels(["a", "b"], {"a": "angry", "b": "positive"})

    def test_mapping_a_label_the_model_lacks_is_refused(self) -> None:
        with pytest.raises(LabelMappingError, match="does not have"):
            map_labels(["negative", "positive"], {"joy": "positive"})

    def test_a_model_without_both_poles_is_refused(self) -> None:
        with pytest.raises(LabelMappingError, match="negative and a positive"):
            map_labels(["neutral", "positive"])


class TestTrend:
    def test_each_message_counts_once_from_its_parse_data(self) -> None:
        events = [
            user("hi", "neutral", 0.0),
            BOT,
            user("late again", "negative", -0.6),
            BOT,
            user("still nothing!", "negative", -0.9),
            slot("sentiment", "negative"),
        ]
        history = message_sentiments(events)
        assert [m.label for m in history] == ["neutral", "negative", "negative"]
        summary = conversation_trend(events)
        assert summary.count == 3
        assert summary.last == pytest.approx(-0.9)
        assert summary.mean == pytest.approx(-0.5)
        assert summary.worst == pytest.approx(-0.9)
        assert summary.slope == pytest.approx(-0.45)
        assert summary.negative_streak == 2

    def test_messages_without_parse_sentiment_take_their_turns_slots(self) -> None:
        # As in a conversation test, where the story states the slots.
        events = [user("x"), slot("sentiment", "negative"), slot("sentiment_score", -0.95), BOT, user("y")]
        history = message_sentiments(events)
        assert history == [MessageSentiment("negative", -0.95, 1.0, "x")]

    def test_an_empty_conversation_has_an_empty_trend(self) -> None:
        assert trend([]).count == 0 and trend([]).slope is None

    def test_improving_mood_has_a_positive_slope(self) -> None:
        history = [
            MessageSentiment("negative", -0.8),
            MessageSentiment("neutral", 0.0),
            MessageSentiment("positive", 0.9),
        ]
        assert trend(history).slope > 0 and trend(history).negative_streak == 0


class TestEscalation:
    rules = EscalationRules(negative_streak=3, very_negative_score=-0.8)

    def messages(self, *scores: float) -> list:
        return [MessageSentiment("negative" if s < -0.3 else "neutral", s) for s in scores]

    def test_a_streak_of_negative_messages_offers_a_person(self) -> None:
        assert escalation_reason(self.messages(-0.5, -0.5), False, self.rules) is None
        assert escalation_reason(self.messages(-0.5, -0.5, -0.4), False, self.rules) == STREAK

    def test_a_neutral_message_breaks_the_streak(self) -> None:
        assert escalation_reason(self.messages(-0.5, -0.5, 0.0, -0.5), False, self.rules) is None

    def test_one_very_negative_message_only_counts_while_the_flow_fails(self) -> None:
        assert escalation_reason(self.messages(-0.95), False, self.rules) is None
        assert escalation_reason(self.messages(-0.95), True, self.rules) == VERY_NEGATIVE_WHILE_FAILING
        assert escalation_reason(self.messages(-0.5), True, self.rules) is None

    def test_the_streak_length_is_configurable(self) -> None:
        assert escalation_reason(self.messages(-0.5), False, EscalationRules(negative_streak=1)) == STREAK

    @pytest.mark.parametrize("streak,score", [(0, -0.8), (3, 0.5), (3, -1.5)])
    def test_nonsensical_rules_are_refused(self, streak: int, score: float) -> None:
        with pytest.raises(ValueError):
            EscalationRules(streak, score)
