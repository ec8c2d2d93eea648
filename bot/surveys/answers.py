"""A CES (1-7) or NPS (0-10) answer typed in digits or words, as customers answer "how easy was it?"."""

from __future__ import annotations

import difflib
import re

from bot.surveys.config import Scale, SurveyConfig, default_config

# A longer message is about something else, even if it holds a number or an answer's word.
MAX_WORDS = 12
# Words this long are read as the answer's word they are this close to ("dificult", "definately").
FUZZY_MIN_LENGTH = 5
FUZZY_CUTOFF = 0.85
_NUMBER = re.compile(r"(?<![\w.])(\d+)(?:\s*(?:/|out of|of)\s*(\d+))?(?![\w.%])")
_TOKEN = re.compile(r"[\w'%/-]+")


def read_answer(kind: str, text: str | None, config: SurveyConfig | None = None) -> int | None:
    """The score on `kind`'s scale that `text` gives: "7", "9/10", "a six", "pretty easy", "probably not",
    "definately would reccomend"; None when it is no answer (a question, a long message, a number off the scale,
    two different numbers)."""
    config = config or default_config()
    if kind not in config.scales:
        return None
    scale = config.scale(kind)
    words = normalize(text, config)
    if not words or "?" in (text or "") or len(words.split()) > MAX_WORDS:
        return None  # "actually, where is my order?" is a detour, not an answer
    numbers = _numbers(words, scale, config)
    if len(numbers) == 1 and scale.holds(score := next(iter(numbers))):
        return score
    if numbers:
        return None  # "5 or 6", or a number off the scale: no one answer, whatever the words say
    return _verdict(words, scale)


def normalize(text: str | None, config: SurveyConfig) -> str:
    """Lower case, plain apostrophes, punctuation as spaces, misspellings as the words meant."""
    text = (text or "").casefold().replace("\u2019", "'").replace("\u2018", "'")
    tokens = _TOKEN.findall(text)
    return " ".join(_spelled(token.strip("'-"), config) for token in tokens if token.strip("'-"))


def _spelled(token: str, config: SurveyConfig) -> str:
    if token in config.typos:
        return config.typos[token]
    if len(token) < FUZZY_MIN_LENGTH or token in config.vocabulary or token in config.numbers or not token.isalpha():
        return token  # numbers in words are read only as spelled: "there" is not "three"
    words = [w for w in config.vocabulary if len(w) >= FUZZY_MIN_LENGTH - 1 and w.isalpha()]  # "verry" is "very"
    close = difflib.get_close_matches(token, sorted(words), n=1, cutoff=FUZZY_CUTOFF)
    return close[0] if close else token


def _numbers(words: str, scale: Scale, config: SurveyConfig) -> set[int]:
    """The scores the message names in digits or words. "8/10" on a 1-7 scale names none: it is another scale; nor
    does the 7 of "my iphone 7" (`number_lead_ins`)."""
    found: set[int] = set()
    for match in _NUMBER.finditer(words):
        value, out_of = int(match.group(1)), match.group(2)
        if (out_of is not None and int(out_of) != scale.highest) or not _scored(words[: match.start()], config):
            continue
        found.add(value)
    spelled = words.split()
    for i, word in enumerate(spelled):
        if word in config.numbers and _scored(" ".join(spelled[:i]), config):
            out_of = spelled[i + 1 : i + 4]
            if out_of[:2] == ["out", "of"] and len(out_of) == 3 and config.numbers.get(out_of[2]) != scale.highest:
                continue
            if i >= 2 and spelled[i - 2 : i] == ["out", "of"]:
                continue  # the "ten" of "nine out of ten"
            found.add(config.numbers[word])
    return found


def _scored(before: str, config: SurveyConfig) -> bool:
    """Whether a number after these words can be a score: at the start, or after a lead-in or an answer's word."""
    previous = before.split()[-1:] or [""]
    return (
        previous[0] in ("", *config.number_lead_ins)
        or previous[0] in config.vocabulary
        or previous[0] in config.numbers
    )


def _verdict(words: str, scale: Scale) -> int | None:
    found = []
    for phrase, score in scale.answers:
        if re.search(rf"(?<![\w'-]){re.escape(phrase)}(?![\w'-])", words):
            found.append((len(phrase), score))
    if not found:
        return None
    return max(found)[1]  # the longest phrase wins: "probably not" over "probably", "not easy" over "easy"
