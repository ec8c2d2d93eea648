"""The NLU inbox's thresholds and the redaction rules from config/review.yml, so CX teams tune data, not code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import ConfigError

REVIEW_FILE = Path(__file__).resolve().parents[2] / "config" / "review.yml"
CHECKSUMS = ("luhn",)
# Why a message is in the NLU inbox (bot.review.inbox); here so that the CLI lists them without loading the inbox.
REASONS = ("fallback", "low_confidence", "narrow_margin", "handoff")
TAG = re.compile(r"[a-z0-9][a-z0-9_\-]{0,47}")  # a conversation's tag


class ReviewConfigError(ConfigError):
    """config/review.yml cannot be used; the message names the key."""


@dataclass(frozen=True)
class InboxConfig:
    low_confidence_below: float = 0.6
    narrow_margin_below: float = 0.1
    page_size: int = 50
    max_page_size: int = 200
    same_meaning: float = 0.55
    skip_prefixes: tuple[str, ...] = ("/",)
    max_text_chars: int = 300

    def __post_init__(self) -> None:
        for name in ("low_confidence_below", "narrow_margin_below", "same_meaning"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ReviewConfigError(f"inbox.{name} must lie between 0 and 1, not {getattr(self, name)}")
        if not 1 <= self.page_size <= self.max_page_size:
            raise ReviewConfigError("inbox.page_size must be at least 1 and at most inbox.max_page_size")
        if self.max_text_chars < 20:
            raise ReviewConfigError("inbox.max_text_chars must be at least 20")


@dataclass(frozen=True)
class RedactionRule:
    """One kind of personal data: where it is (`pattern`, its group `value` if it has one) and what replaces it."""

    name: str
    pattern: re.Pattern[str]
    placeholder: str
    entity: str | None = None  # an entity the NLU knows: the placeholder is annotated with it in training data
    min_digits: int = 0
    checksum: str | None = None

    def placeholder_for(self, n: int) -> str:
        return self.placeholder.format(n=n)


@dataclass(frozen=True)
class NameRules:
    placeholder: str = "<name>"
    customer: bool = True  # the customer's own names, from the shop's database
    introductions: tuple[re.Pattern[str], ...] = ()
    spacy_model: str = ""  # a spaCy pipeline with NER, by package name or folder; empty: none
    labels: tuple[str, ...] = ("PERSON",)


@dataclass(frozen=True)
class ConversationsConfig:
    """The conversation review (bot.review.conversations): paging, the tags offered, where saved tests go."""

    page_size: int = 25
    max_page_size: int = 200
    tag_suggestions: tuple[str, ...] = ()
    test_file: str = "tests/conversations/test_reviewed.yml"

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= self.max_page_size:
            raise ReviewConfigError(
                "conversations.page_size must be at least 1 and at most conversations.max_page_size"
            )
        for tag in self.tag_suggestions:
            if not TAG.fullmatch(tag):
                raise ReviewConfigError(f"conversations.tag_suggestions: {tag!r} is not a tag (a-z, 0-9, _ and -)")
        if not re.fullmatch(r"[\w\-./]*test_[\w\-.]*\.ya?ml", self.test_file) or ".." in self.test_file:
            raise ReviewConfigError("conversations.test_file must be a test_*.yml path inside the project")


@dataclass(frozen=True)
class ReviewConfig:
    inbox: InboxConfig
    rules: tuple[RedactionRule, ...]
    names: NameRules
    conversations: ConversationsConfig = ConversationsConfig()


def _pattern(text: Any, where: str) -> re.Pattern[str]:
    if not isinstance(text, str) or not text:
        raise ReviewConfigError(f"{where}: a pattern must be a non-empty string")
    try:
        return re.compile(text)
    except re.error as exc:
        raise ReviewConfigError(f"{where}: not a regular expression: {exc}") from exc


def _mapping(raw: Any, where: str, known: set[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ReviewConfigError(f"{where} must be a mapping")
    unknown = set(raw) - known
    if unknown:
        raise ReviewConfigError(f"unknown key {where}.{sorted(unknown)[0]}; the keys are {sorted(known)}")
    return raw


def _number(raw: dict[str, Any], key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReviewConfigError(f"{where}.{key} must be a number")
    return value


def _rule(raw: Any, index: int) -> RedactionRule:
    where = f"redaction.rules[{index}]"
    body = _mapping(raw, where, {"name", "pattern", "placeholder", "entity", "min_digits", "checksum"})
    name, placeholder = body.get("name"), body.get("placeholder")
    if not isinstance(name, str) or not name:
        raise ReviewConfigError(f"{where}.name must be a non-empty string")
    if not isinstance(placeholder, str) or not placeholder:
        raise ReviewConfigError(f"{where} ({name}).placeholder must be a non-empty string")
    try:
        placeholder.format(n=1)
    except (IndexError, KeyError, ValueError) as exc:
        raise ReviewConfigError(f"{where} ({name}).placeholder: only {{n}} may be filled in: {exc}") from exc
    checksum = body.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        raise ReviewConfigError(f"{where} ({name}).checksum must be one of {CHECKSUMS}")
    entity = body.get("entity")
    if entity is not None and (not isinstance(entity, str) or not re.fullmatch(r"\w+", entity)):
        raise ReviewConfigError(f"{where} ({name}).entity must be an entity name")
    return RedactionRule(
        name=name,
        pattern=_pattern(body.get("pattern"), f"{where} ({name})"),
        placeholder=placeholder,
        entity=entity,
        min_digits=int(_number(body, "min_digits", 0, where)),
        checksum=checksum,
    )


def _names(raw: Any) -> NameRules:
    body = _mapping(raw, "redaction.names", {"placeholder", "customer", "introductions", "spacy_model", "labels"})
    introductions = body.get("introductions") or []
    if not isinstance(introductions, list):
        raise ReviewConfigError("redaction.names.introductions must be a list of patterns")
    patterns = tuple(_pattern(p, f"redaction.names.introductions[{i}]") for i, p in enumerate(introductions))
    for i, pattern in enumerate(patterns):
        if "value" not in pattern.groupindex:
            raise ReviewConfigError(f"redaction.names.introductions[{i}] needs a group named `value` (the name)")
    return NameRules(
        placeholder=str(body.get("placeholder") or "<name>"),
        customer=bool(body.get("customer", True)),
        introductions=patterns,
        spacy_model=str(body.get("spacy_model") or ""),
        labels=tuple(str(label) for label in body.get("labels") or ("PERSON",)),
    )


def _conversations(raw: Any) -> ConversationsConfig:
    body = _mapping(raw, "conversations", set(ConversationsConfig.__dataclass_fields__))
    tags = body.get("tag_suggestions") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ReviewConfigError("conversations.tag_suggestions must be a list of tags")
    return ConversationsConfig(
        page_size=int(_number(body, "page_size", ConversationsConfig.page_size, "conversations")),
        max_page_size=int(_number(body, "max_page_size", ConversationsConfig.max_page_size, "conversations")),
        tag_suggestions=tuple(dict.fromkeys(tags)),
        test_file=str(body.get("test_file") or ConversationsConfig.test_file),
    )


def parse_config(raw: Any) -> ReviewConfig:
    body = _mapping(raw, "config/review.yml", {"inbox", "redaction", "conversations"})
    inbox = _mapping(body.get("inbox"), "inbox", set(InboxConfig.__dataclass_fields__))
    values: dict[str, Any] = {}
    for key in ("low_confidence_below", "narrow_margin_below", "same_meaning"):
        values[key] = float(_number(inbox, key, getattr(InboxConfig, key), "inbox"))
    for key in ("page_size", "max_page_size", "max_text_chars"):
        values[key] = int(_number(inbox, key, getattr(InboxConfig, key), "inbox"))
    prefixes = inbox.get("skip_prefixes", list(InboxConfig.skip_prefixes))
    if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
        raise ReviewConfigError("inbox.skip_prefixes must be a list of non-empty strings")
    values["skip_prefixes"] = tuple(prefixes)
    redaction = _mapping(body.get("redaction"), "redaction", {"rules", "names"})
    rules = redaction.get("rules") or []
    if not isinstance(rules, list):
        raise ReviewConfigError("redaction.rules must be a list")
    return ReviewConfig(
        inbox=InboxConfig(**values),
        rules=tuple(_rule(rule, i) for i, rule in enumerate(rules)),
        names=_names(redaction.get("names")),
        conversations=_conversations(body.get("conversations")),
    )


@cache
def review_config(path: Path = REVIEW_FILE) -> ReviewConfig:
    """The configuration in `path` (read once per process); an error when it is missing, as redaction without its
    rules would show personal data."""
    try:
        with open(path, encoding="utf-8") as file:
            raw = yaml.safe_load(file)
    except OSError as exc:
        raise ReviewConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ReviewConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_config(raw)
