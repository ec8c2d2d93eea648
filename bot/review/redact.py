"""Personal data out of a customer's message before the review shows or writes it: emails, card, order, parcel and
phone numbers, and names, each replaced by a placeholder (config/review.yml).

A placeholder of an entity the NLU knows is a synthetic value that looks real (`TD010001`, `customer1@example.com`)
and is marked as that entity in training data (`[TD010001](order_id)`); the others are neutral tokens (`<phone>`).
Within one message the same value gets the same placeholder and different values different ones (`{n}`), so
"move TD104233 to td-104233's address" and "move TD220001 to TD220001's address" stay different sentences.

Names: the customer's own first and last names (the caller reads them from the shop's database), the names people
give ("my name is ..."), and, when config/review.yml names a spaCy pipeline, its PERSON entities. No such pipeline
is installed here (spaCy 3.4.4 without a model), so by default only the first two apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.review.config import NameRules, RedactionRule, ReviewConfig, ReviewConfigError, review_config
from bot.review.examples import EntitySpan, one_line, to_markdown

NAME = "name"  # the kind of a name's placeholder


@dataclass(frozen=True)
class Placeholder:
    """Characters [start, end) of the redacted text replace a value of this kind (a rule's name, or "name")."""

    start: int
    end: int
    kind: str
    entity: str | None


@dataclass(frozen=True)
class Redacted:
    """A message without its personal data: the text to show, and where its placeholders are."""

    text: str
    placeholders: tuple[Placeholder, ...] = ()

    @property
    def entities(self) -> tuple[EntitySpan, ...]:
        """The placeholders that are values of an NLU entity, as spans of an example."""
        return tuple(EntitySpan(p.start, p.end, p.entity) for p in self.placeholders if p.entity)

    @property
    def example(self) -> str:
        """The text as a training example: entity placeholders annotated (`[TD010001](order_id)`)."""
        return to_markdown(self.text, self.entities)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(p.kind for p in self.placeholders)

    def truncated(self, limit: int) -> Redacted:
        """At most `limit` characters, never cutting a placeholder in two (one that would be cut is left out)."""
        if len(self.text) <= limit:
            return self
        cut = limit
        for p in self.placeholders:
            if p.start < cut < p.end:
                cut = p.start
        return Redacted(self.text[:cut].rstrip(), tuple(p for p in self.placeholders if p.end <= cut))


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    kind: str
    entity: str | None
    template: str


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _luhn(text: str) -> bool:
    digits = [int(ch) for ch in text if ch.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def _span(match: re.Match[str]) -> tuple[int, int]:
    if "value" in match.re.groupindex and match.group("value") is not None:
        return match.span("value")
    return match.span()


def _same_value(text: str) -> str:
    """Two spellings of one value number as one: a number by its digits (`TD104233`, `td-104233`, `104233`),
    anything else by its letters and digits."""
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 6 else re.sub(r"[\W_]", "", text).casefold()


class Redactor:
    """The rules compiled once (and the spaCy pipeline loaded once, if one is configured); `redact` is pure."""

    def __init__(self, rules: Sequence[RedactionRule], names: NameRules) -> None:
        self.rules = tuple(rules)
        self.names = names
        self._nlp = _load_spacy(names.spacy_model) if names.spacy_model else None

    @classmethod
    def from_config(cls, config: ReviewConfig | None = None) -> Redactor:
        config = config or review_config()
        return cls(config.rules, config.names)

    def redact(self, text: str, names: Iterable[str] = ()) -> Redacted:
        """`text` as one line without its personal data; `names`: the customer's own names when known (a full name
        is split into its parts)."""
        clean = one_line(text)
        found: list[_Found] = []

        def take(start: int, end: int, kind: str, entity: str | None, template: str) -> None:
            if start < end and not any(start < f.end and f.start < end for f in found):
                found.append(_Found(start, end, kind, entity, template))

        for rule in self.rules:
            for match in rule.pattern.finditer(clean):
                start, end = _span(match)
                value = clean[start:end]
                if _digits(value) < rule.min_digits or (rule.checksum == "luhn" and not _luhn(value)):
                    continue
                take(start, end, rule.name, rule.entity, rule.placeholder)
        for start, end in self._name_spans(clean, names):
            take(start, end, NAME, None, self.names.placeholder)
        return _replace(clean, sorted(found, key=lambda f: f.start))

    def _name_spans(self, text: str, names: Iterable[str]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        parts = sorted({p.strip(".,") for n in names if n for p in n.split()} - {""}, key=lambda p: (-len(p), p))
        parts = [p for p in parts if len(p) > 1]
        if self.names.customer and parts:
            own = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in parts) + r")(?!\w)", re.IGNORECASE)
            spans.extend(m.span() for m in own.finditer(text))
        for pattern in self.names.introductions:
            spans.extend(_span(m) for m in pattern.finditer(text))
        if self._nlp is not None:
            spans.extend((e.start_char, e.end_char) for e in self._nlp(text).ents if e.label_ in self.names.labels)
        return spans


def _replace(text: str, found: list[_Found]) -> Redacted:
    numbers: dict[str, dict[str, int]] = {}  # template -> value -> n
    out: list[str] = []
    placeholders: list[Placeholder] = []
    at = length = 0
    for f in found:
        before = text[at : f.start]
        out.append(before)
        length += len(before)
        seen = numbers.setdefault(f.template, {})
        n = seen.setdefault(_same_value(text[f.start : f.end]), len(seen) + 1)
        value = f.template.format(n=n)
        out.append(value)
        placeholders.append(Placeholder(length, length + len(value), f.kind, f.entity))
        length += len(value)
        at = f.end
    out.append(text[at:])
    return Redacted("".join(out), tuple(placeholders))


def _load_spacy(model: str) -> Any:
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spaCy comes with Rasa
        raise ReviewConfigError("redaction.names.spacy_model is set, but spaCy is not installed") from exc
    try:
        return spacy.load(model)
    except (OSError, ValueError) as exc:
        raise ReviewConfigError(f"redaction.names.spacy_model: cannot load {model!r}: {exc}") from exc


@cache
def default_redactor() -> Redactor:
    """This process's redactor, from config/review.yml."""
    return Redactor.from_config()
