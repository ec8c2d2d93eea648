"""An NLU example as the review handles it: one line of text with entity spans, its form in Rasa's training data
(`where is [TD010001](order_id)`), and the normal form that tells two examples are the same."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

ENTITY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Rasa's annotations: [value](entity), [value]{"entity": ..., "value": ...}, [value][{...}, {...}]
_ANNOTATION = re.compile(r"\[(?P<value>[^\[\]]*)\](?:\((?P<entity>[^()]*)\)|\{[^{}]*\}|\[[^\[\]]*\])")
_SPACE = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s.?!,;:]+$")
# What Rasa would read as the start of an annotation in plain text.
_BRACKETS = str.maketrans({"[": "(", "]": ")"})
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


class ExampleError(ValueError):
    """An example or an entity span that cannot be used; the message says which and why (safe to show)."""


@dataclass(frozen=True)
class EntitySpan:
    """Characters [start, end) of an example's text are a value of `entity`."""

    start: int
    end: int
    entity: str

    def value(self, text: str) -> str:
        return text[self.start : self.end]


def one_line(text: str) -> str:
    """What a customer wrote as one line of training data: control characters and line breaks become spaces,
    square brackets become round ones (Rasa would read `[..](..)` as an annotation), runs of spaces one."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return _SPACE.sub(" ", cleaned.translate(_BRACKETS)).strip()


def check_spans(text: str, spans: Iterable[EntitySpan]) -> tuple[EntitySpan, ...]:
    """The spans in order of position, each inside `text`, not empty, not overlapping another, named as an entity
    can be, and without spaces at its edges."""
    ordered = tuple(sorted(spans, key=lambda s: (s.start, s.end)))
    end = 0
    for span in ordered:
        if not 0 <= span.start < span.end <= len(text):
            raise ExampleError(f"the span {span.start}-{span.end} is not inside the text ({len(text)} characters)")
        if span.start < end:
            raise ExampleError(f"the span {span.start}-{span.end} ({span.entity}) overlaps another one")
        if not ENTITY_NAME.fullmatch(span.entity):
            raise ExampleError(f"{span.entity!r} is not an entity name")
        value = span.value(text)
        if value != value.strip():
            raise ExampleError(f"the value of {span.entity} must not start or end with a space: {value!r}")
        end = span.end
    return ordered


def to_markdown(text: str, spans: Iterable[EntitySpan]) -> str:
    """The example as Rasa's training data writes it: each span as `[value](entity)`."""
    out, at = [], 0
    for span in check_spans(text, spans):
        out.append(text[at : span.start])
        out.append(f"[{span.value(text)}]({span.entity})")
        at = span.end
    out.append(text[at:])
    return "".join(out)


def parse_markdown(example: str) -> tuple[str, tuple[EntitySpan, ...]]:
    """The plain text of a training example and its `[value](entity)` spans (the JSON forms give their text only)."""
    out: list[str] = []
    spans: list[EntitySpan] = []
    at = length = 0
    for match in _ANNOTATION.finditer(example):
        before = example[at : match.start()]
        out.append(before)
        length += len(before)
        value = match.group("value")
        if match.group("entity"):
            spans.append(EntitySpan(length, length + len(value), match.group("entity").strip()))
        out.append(value)
        length += len(value)
        at = match.end()
    out.append(example[at:])
    return "".join(out), tuple(spans)


def normalise(text: str) -> str:
    """The form two messages are the same in: case, runs of spaces, curly quotes and the punctuation at the end
    do not count ("Where is my order?" and "where is  my order" are one)."""
    return _TRAILING.sub("", _SPACE.sub(" ", text.translate(_QUOTES).casefold()).strip())


def text_key(text: str) -> int:
    """The normal form as a signed 64-bit number (the first 8 bytes of its SHA-256), which the inbox groups 100,000
    messages by twice as fast as the text; two different texts share one with a chance of about 10^-8 in a million
    distinct texts."""
    return int.from_bytes(hashlib.sha256(normalise(text).encode("utf-8")).digest()[:8], "big", signed=True)
