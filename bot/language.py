"""Which language a customer wrote in, when it is one Tandem recognises but does not speak (config/languages.yml).

Precision first: a customer who writes English badly must never be told they wrote Spanish. A message counts
as another language when it is one of that language's stand-alone words ("hola", "merci"), or when langid
is sure of it and the message holds that language's function words (spaCy's stop words) that English
lacks. "my Zenbook 14 OLED died" has none, whatever langid thinks of it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES_FILE = Path(__file__).resolve().parents[1] / "config" / "languages.yml"
MIN_LANGID_PROBABILITY = 0.99
SURE_LANGID_PROBABILITY = 0.995  # this sure, one function word of the language is evidence enough
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    alone: frozenset[str]
    yes: frozenset[str]
    person: frozenset[str]
    goodbye: frozenset[str]  # the words of its thanks-and-goodbye phrases


@dataclass(frozen=True)
class Detected:
    """A message in `language`: whether it says only "yes", only thanks and goodbye, and whether it asks for a
    person."""

    language: Language
    says_yes: bool
    asks_for_person: bool
    says_goodbye: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.language.code,
            "name": self.language.name,
            "says_yes": self.says_yes,
            "asks_for_person": self.asks_for_person,
            "says_goodbye": self.says_goodbye,
        }


def _phrase(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def load_languages(path: Path = LANGUAGES_FILE) -> dict[str, Language]:
    raw: Mapping[str, Any] = yaml.safe_load(path.read_text()) or {}
    return {
        code: Language(
            code,
            str(spec["name"]),
            frozenset(_phrase(str(w)) for w in spec.get("alone") or ()),
            frozenset(_phrase(str(w)) for w in spec.get("affirm") or ()),
            frozenset(_phrase(str(w)) for w in spec.get("person") or ()),
            frozenset(w for phrase in spec.get("goodbye") or () for w in _phrase(str(phrase)).split()),
        )
        for code, spec in raw.items()
    }


@cache
def _stop_words(code: str) -> frozenset[str]:
    return frozenset(importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS)


class LanguageDetector:
    def __init__(self, languages: Mapping[str, Language]) -> None:
        from langid.langid import LanguageIdentifier, model

        self.languages = dict(languages)
        self._identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        self._identifier.set_languages(["en", *self.languages])
        self._english = _stop_words("en")

    def detect(self, text: str) -> Detected | None:
        """The recognised language `text` is in; None for English (or anything not sure enough)."""
        phrase = _phrase(text or "")
        if not phrase:
            return None
        for language in self.languages.values():
            if phrase in language.alone:
                return self._detected(language, phrase)
        code, probability = self._identifier.classify(phrase)
        identified = self.languages.get(code)
        if identified is None or probability < MIN_LANGID_PROBABILITY:
            return None
        words = phrase.split()
        foreign = [w for w in words if w in _stop_words(code) and w not in self._english]
        if len(foreign) >= (1 if len(words) <= 3 or probability >= SURE_LANGID_PROBABILITY else 2):
            return self._detected(identified, phrase)
        return None

    @staticmethod
    def _detected(language: Language, phrase: str) -> Detected:
        words = set(phrase.split())
        return Detected(
            language,
            says_yes=phrase in language.yes,
            asks_for_person=any(p in words or (" " in p and p in phrase) for p in language.person),
            says_goodbye=phrase not in language.yes and words <= language.goodbye,
        )
