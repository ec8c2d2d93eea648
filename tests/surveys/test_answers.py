"""Typed answers to the effort (CES, 1-7) and recommend (NPS, 0-10) questions read as customers write them, and
messages that are no answer (a detour, a model number, a number off the scale) read as none."""

from __future__ import annotations

import pytest

from bot.surveys.answers import read_answer

CES = [
    ("7", 7),
    ("1", 1),
    ("a 6", 6),
    ("i'd say 5", 5),
    ("6/7", 6),
    ("six", 6),
    ("pretty easy", 6),
    ("very easy thanks!", 7),
    ("Very difficult", 1),
    ("it was ok", 4),
    ("meh", 4),
    ("not easy at all", 3),
    ("not too hard", 5),
    ("a bit of a hassle tbh", 3),
    ("prety eazy", 6),  # typos
    ("verry dificult", 1),
    ("6 - pretty easy", 6),  # a number wins over the words
    ("really easy, 7", 7),
]
NPS = [
    ("9", 9),
    ("0", 0),
    ("10", 10),
    ("9/10", 9),
    ("8 out of 10", 8),
    ("nine out of ten", 9),
    ("i'd give you a 9", 9),
    ("my rating is 10", 10),
    ("probably not", 3),
    ("definitely would recommend", 10),
    ("definitely not", 0),
    ("I'd recommend you", 9),
    ("i would not", 1),
    ("maybe", 6),
    ("likely", 8),
    ("definately would reccomend", 10),  # typos
    ("probs not", 3),
    ("defo", 10),
]
NO_ANSWER = [
    ("ces", "actually where is my order?"),  # a detour
    ("nps", "9?"),
    ("ces", "where is my order TD104233"),
    ("ces", "my iphone 7 is broken"),  # a model number, not a score
    ("ces", "order 12 please"),
    ("ces", "9"),  # off the 1-7 scale
    ("ces", "8/10"),  # another scale
    ("nps", "11"),
    ("ces", "5 or 6"),  # no one answer
    ("nps", "hello there"),  # "there" is not "three"
    ("ces", "ok thanks"),  # an acknowledgement as often as an answer
    ("ces", "great, thanks"),
    ("nps", ""),
    ("nps", None),
    ("ces", "i want to speak to a person about the invoice for my broadband plan from last month please"),
    ("csat", "4"),  # CSAT's answers are read by bot.journeys.ratings
]


@pytest.mark.parametrize("text, score", CES)
def test_effort_answers(text: str, score: int) -> None:
    assert read_answer("ces", text) == score


@pytest.mark.parametrize("text, score", NPS)
def test_recommend_answers(text: str, score: int) -> None:
    assert read_answer("nps", text) == score


@pytest.mark.parametrize("kind, text", NO_ANSWER)
def test_messages_that_are_no_answer(kind: str, text: str | None) -> None:
    assert read_answer(kind, text) is None


def test_the_longest_phrase_wins_so_negations_are_read() -> None:
    assert read_answer("ces", "easy") == 6
    assert read_answer("ces", "not easy") == 3
    assert read_answer("nps", "probably") == 8
    assert read_answer("nps", "probably not") == 3
