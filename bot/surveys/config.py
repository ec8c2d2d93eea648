"""The survey rules CX teams edit as data (`config/surveys.yml`): caps, what is asked when, and typed answers' words.

Loaded once per process and validated on load, so a typo fails at start-up with the file and key named, not in
the middle of a customer's survey.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.db.models import SURVEY_KINDS, SURVEY_SCALES
from bot.settings import PROJECT_ROOT

DEFAULT_PATH = PROJECT_ROOT / "config" / "surveys.yml"
ENV_PATH = "TANDEM_SURVEYS_CONFIG"
# The moments the actions report (actions/surveys.py): each must say what it asks, even if nothing.
MOMENTS = ("journey_resolved", "request_done")
# Asked by buttons and typed answers read here; CSAT's buttons and words are the journeys' (bot/journeys/ratings.py).
TYPED_KINDS = ("ces", "nps")


class SurveyConfigError(ValueError):
    """`config/surveys.yml` is malformed; the message names the key."""


@dataclass(frozen=True)
class Scale:
    """One survey's question, the words under its buttons and the words of typed answers."""

    kind: str
    question: str
    lowest: int
    highest: int
    labels: Mapping[int, str]
    answers: tuple[tuple[str, int], ...]  # (phrase, score)

    @property
    def scores(self) -> range:
        return range(self.lowest, self.highest + 1)

    def holds(self, score: int) -> bool:
        return self.lowest <= score <= self.highest


@dataclass(frozen=True)
class SurveyConfig:
    days_between_surveys: float
    per_conversation: int
    nps_per_quarter: int
    nps_while_issue_open: bool
    moments: Mapping[str, tuple[str, ...]]
    scales: Mapping[str, Scale]
    numbers: Mapping[str, int]
    number_lead_ins: frozenset[str]
    typos: Mapping[str, str]
    source: Path | None = field(default=None, compare=False)

    @property
    def between_surveys(self) -> timedelta:
        return timedelta(days=self.days_between_surveys)

    def scale(self, kind: str) -> Scale:
        return self.scales[kind]

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word the typed answers' phrases use."""
        words = {w for scale in self.scales.values() for phrase, _ in scale.answers for w in phrase.split()}
        return frozenset(words | {w for right in self.typos.values() for w in right.split()})


def _mapping(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise SurveyConfigError(f"{where} must be a mapping")
    return value


def _known(section: Mapping[Any, Any], keys: set[str], where: str) -> None:
    unknown = set(map(str, section)) - keys
    if unknown:
        raise SurveyConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")


def _whole(section: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SurveyConfigError(f"{where}.{key} must be a whole number, 0 or more")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SurveyConfigError(f"{where} must be some text")
    return " ".join(value.split())


def _scale(kind: str, raw: Any) -> Scale:
    where = f"surveys.{kind}"
    body = _mapping(raw, where)
    _known(body, {"question", "labels", "answers"}, where)
    lowest, highest = SURVEY_SCALES[kind]
    labels: dict[int, str] = {}
    for score, label in _mapping(body.get("labels") or {}, f"{where}.labels").items():
        if isinstance(score, bool) or not isinstance(score, int) or not lowest <= score <= highest:
            raise SurveyConfigError(f"{where}.labels: {score!r} is not a score from {lowest} to {highest}")
        labels[score] = _text(label, f"{where}.labels.{score}")
    answers: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for score, phrases in _mapping(body.get("answers") or {}, f"{where}.answers").items():
        if isinstance(score, bool) or not isinstance(score, int) or not lowest <= score <= highest:
            raise SurveyConfigError(f"{where}.answers: {score!r} is not a score from {lowest} to {highest}")
        if not isinstance(phrases, list):
            raise SurveyConfigError(f"{where}.answers.{score} must be a list of phrases")
        for phrase in phrases:
            words = _text(str(phrase) if isinstance(phrase, (int, float)) else phrase, f"{where}.answers.{score}")
            words = words.casefold()
            if words in seen and seen[words] != score:
                raise SurveyConfigError(f"{where}.answers: '{words}' means both {seen[words]} and {score}")
            seen[words] = score
            answers.append((words, score))
    return Scale(kind, _text(body.get("question"), f"{where}.question"), lowest, highest, labels, tuple(answers))


def parse_config(raw: Any, source: Path | None = None) -> SurveyConfig:
    """Validate the YAML document of `config/surveys.yml`."""
    doc = _mapping(raw, "the survey config")
    _known(doc, {"caps", "moments", "surveys", "numbers", "number_lead_ins", "typos"}, "the survey config")
    caps = _mapping(doc.get("caps") or {}, "caps")
    _known(caps, {"days_between_surveys", "per_conversation", "nps_per_quarter", "nps_while_issue_open"}, "caps")
    days = caps.get("days_between_surveys", 7)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days < 0:
        raise SurveyConfigError("caps.days_between_surveys must be a number of days, 0 or more")
    while_open = caps.get("nps_while_issue_open", False)
    if not isinstance(while_open, bool):
        raise SurveyConfigError("caps.nps_while_issue_open must be true or false")

    moments: dict[str, tuple[str, ...]] = {}
    raw_moments = _mapping(doc.get("moments") or {}, "moments")
    _known(raw_moments, set(MOMENTS), "moments")
    for moment in MOMENTS:
        kinds = raw_moments.get(moment)
        if kinds is None:
            raise SurveyConfigError(f"moments.{moment} is missing (an empty list asks nothing)")
        if not isinstance(kinds, list) or any(k not in SURVEY_KINDS for k in kinds) or len(set(kinds)) != len(kinds):
            raise SurveyConfigError(f"moments.{moment} must list survey kinds ({', '.join(SURVEY_KINDS)}) once each")
        if "csat" in kinds and moment != "journey_resolved":
            raise SurveyConfigError(f"moments.{moment}: CSAT rates a journey, so only journey_resolved can ask it")
        moments[moment] = tuple(kinds)

    surveys = _mapping(doc.get("surveys") or {}, "surveys")
    _known(surveys, set(TYPED_KINDS), "surveys")
    missing = [k for k in TYPED_KINDS if k not in surveys]
    if missing:
        raise SurveyConfigError(f"surveys: {', '.join(missing)} missing")
    numbers = {}
    for word, value in _mapping(doc.get("numbers") or {}, "numbers").items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise SurveyConfigError(f"numbers.{word} must be a whole number from 0 to 10")
        numbers[_text(str(word), "numbers").casefold()] = value
    lead_ins = doc.get("number_lead_ins") or []
    if not isinstance(lead_ins, list):
        raise SurveyConfigError("number_lead_ins must be a list of words")
    typos = {
        _text(str(wrong), "typos").casefold(): _text(right, f"typos.{wrong}").casefold()
        for wrong, right in _mapping(doc.get("typos") or {}, "typos").items()
    }
    return SurveyConfig(
        days_between_surveys=float(days),
        per_conversation=_whole(caps, "per_conversation", 1, "caps"),
        nps_per_quarter=_whole(caps, "nps_per_quarter", 1, "caps"),
        nps_while_issue_open=while_open,
        moments=moments,
        scales={kind: _scale(kind, surveys[kind]) for kind in TYPED_KINDS},
        numbers=numbers,
        number_lead_ins=frozenset(_text(str(w), "number_lead_ins").casefold() for w in lead_ins),
        typos=typos,
        source=source,
    )


def load_config(path: Path | None = None) -> SurveyConfig:
    path = Path(path or os.environ.get(ENV_PATH) or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SurveyConfigError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        raise SurveyConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_config(raw, path)
    except SurveyConfigError as exc:
        raise SurveyConfigError(f"{path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_config() -> SurveyConfig:
    return load_config()
