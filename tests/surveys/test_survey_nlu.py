"""The trained NLU on survey answers nobody trained it on: typed when no question waits, they still reach a survey
action (which says politely that nothing is waiting); questions that only sound alike do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.rasa_model import nlu_parser

pytestmark = pytest.mark.slow

NLU = Path(__file__).resolve().parents[2] / "data" / "nlu"
SURVEY_INTENTS = {"answer_survey", "rate_journey"}
ANSWERS = [
    "i'd definitely recommend you to my friends",
    "would def recommend this shop to a mate",
    "it was really easy to get help",
    "getting help was a pain tbh",
    "honestly very difficult to sort out",
    "i wouldnt recommend you to anyone",
]
NOT_ANSWERS = [
    "can you recommend a laptop for uni",
    "is it easy to return an item?",
    "what would you recommend for gaming",
    "whens my parcel turning up then",
]


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text.casefold())))


def test_the_phrases_are_not_training_examples() -> None:
    training = {
        _normal(line.strip()[2:])
        for path in NLU.glob("*.yml")
        for line in path.read_text().splitlines()
        if line.strip().startswith("- ")
    }
    assert not [t for t in ANSWERS + NOT_ANSWERS if _normal(t) in training]


def test_survey_answers_typed_out_of_the_blue_reach_a_survey_action() -> None:
    parse = nlu_parser()
    intents = {text: parse(text)["intent"]["name"] for text in ANSWERS}
    assert all(intent in SURVEY_INTENTS for intent in intents.values()), intents


def test_questions_that_only_sound_alike_are_not_taken_for_answers() -> None:
    parse = nlu_parser()
    intents = {text: parse(text)["intent"]["name"] for text in NOT_ANSWERS}
    assert not any(intent in SURVEY_INTENTS for intent in intents.values()), intents
