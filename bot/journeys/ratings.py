"""A satisfaction rating (1-5) typed in words, digits or stars, as customers answer "how happy are you?"."""

from __future__ import annotations

import re

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# Everyday verdicts, the scale the survey's buttons name (Very poor .. Very good).
_VERDICTS = (
    (
        5,
        (
            "excellent",
            "amazing",
            "brilliant",
            "perfect",
            "fantastic",
            "superb",
            "very good",
            "really good",
            "great",
            "outstanding",
            "loved it",
            "very happy",
            "super",
        ),
    ),
    (4, ("pretty good", "good", "happy", "nice", "quite good")),
    (3, ("ok", "okay", "fine", "average", "alright", "all right", "so so", "so-so", "meh", "not bad", "decent")),
    (2, ("poor", "bad", "not great", "not good", "unhappy", "disappointing", "not happy")),
    (
        1,
        (
            "terrible",
            "awful",
            "horrible",
            "useless",
            "very poor",
            "very bad",
            "rubbish",
            "worst",
            "appalling",
            "pathetic",
            "hopeless",
        ),
    ),
)
_NUMBER = re.compile(r"(?<![\d.])([1-5])(?:\s*(?:/|out of|of)\s*5)?(?![\d.])")
_MAX_WORDS = 12  # a longer message is about something else, even if it holds a digit


def read_rating(text: str | None) -> int | None:
    """1..5 from "4", "4/5", "four stars", "⭐⭐⭐", "pretty good", "terrible"; None when it is no rating."""
    text = (text or "").strip().casefold()
    if not text or len(text.split()) > _MAX_WORDS:
        return None
    stars = text.count("⭐") + text.count("★")
    if 1 <= stars <= 5 and not re.search(r"\d", text):
        return stars
    out_of_ten = re.search(r"(?<![\d.])(10|[1-9])\s*(?:/|out of)\s*10\b", text)
    if out_of_ten:
        return max(1, round(int(out_of_ten.group(1)) / 2))
    numbers = {int(m.group(1)) for m in _NUMBER.finditer(text)}
    numbers |= {value for word, value in _WORDS.items() if re.search(rf"\b{word}\b", text)}
    if len(numbers) == 1:
        return numbers.pop()
    if numbers:
        return None  # "3 or 4": no one answer
    return _verdict(text)


def _verdict(text: str) -> int | None:
    found = []
    for score, phrases in _VERDICTS:
        for phrase in phrases:
            match = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text)
            if match:
                found.append((len(phrase), score))
    if not found:
        return None
    return max(found)[1]  # the longest phrase wins: "not good" over "good", "very poor" over "poor"
