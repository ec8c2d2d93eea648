"""Does the customer's message answer the step that waits for it, and with what?

Every option a step offers says what it means (schema `Meaning`): a button lists its meanings, an `ask` maps
intents to steps, an `instruct` takes `FIXED_MEANINGS` and `NOT_FIXED_MEANINGS`. A message chooses an option by
the button it pressed, by typing the button's words, by an entity value the option means ("my laptop"), or by
an intent the option means. That last one reads the NLU's ranking, not only its first guess: at a step that
takes a handful of meanings, one ranked close behind an unrelated top intent is what the customer meant
("tried that already" can rank report_problem first). An `ask` for an entity value reads it by its type (an
order number, an amount), from the entity or the typed text. Anything else is not an answer: the runner asks
again.

`Accepts` is what a waiting step takes, serialisable, so the dialogue policy (which has no workflows) decides
"is this an answer?" with the very rule the runner uses to pick the branch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.journeys.types import FALLBACK_INTENT, UserInput
from bot.journeys.workflows.schema import (
    ANSWER_ENTITY,
    EXPECT_BUTTONS,
    EXPECT_ENTITY,
    EXPECT_INTENT,
    FIXED_MEANINGS,
    NOT_FIXED_MEANINGS,
    SAME_AT_A_QUESTION,
    AskStep,
    InstructStep,
    Step,
)
from bot.shop.orders import normalize_order_number

ANSWERS_FILE = Path(__file__).resolve().parents[3] / "config" / "answers.yml"
_MONEY = re.compile(r"[£$€]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_ORDER_IN_TEXT = re.compile(r"#?\s*td\s*[-_#:.]?\s*\d{6}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    next: str
    updates: dict[str, Any] = field(default_factory=dict)  # context keys the answer sets


def parse_money(text: Any) -> float | None:
    """45, "£45.99", "1,200.50 pounds" -> a float; None when there is no amount."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if text >= 0 else None
    match = _MONEY.search(str(text or ""))
    if not match:
        return None
    whole, cents = match.groups()
    return float(whole.replace(",", "")) + (float(f"0.{cents}") if cents else 0.0)


def read_value(raw: Any, value_type: str) -> Any:
    """An entity value (or the message text) read as `value_type`; None when it is not one."""
    if raw is None:
        return None
    if value_type == "order_number":
        found = _ORDER_IN_TEXT.search(str(raw))
        return normalize_order_number(found.group(0)) if found else None
    if value_type == "money":
        return parse_money(raw)
    if value_type == "number":
        match = re.search(r"\d+", str(raw))
        return int(match.group(0)) if match else None
    text = str(raw).strip()
    return text or None


def _phrase(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.casefold().replace("’", "'")))


@cache
def _acknowledgements(path: Path = ANSWERS_FILE) -> frozenset[str]:
    raw = yaml.safe_load(path.read_text()) or {}
    return frozenset(_phrase(str(a)) for a in raw.get("acknowledgements") or ())


def only_acknowledges(text: str | None) -> bool:
    """ "ok", "will do", "hang on, let me try": the customer heard what the bot said; no answer to "did it
    work?". The whole message must be made of acknowledgements ("ok it works" is an answer)."""
    words = _phrase(text or "").split()
    known = _acknowledgements()
    covered = [True] + [False] * len(words)  # covered[i]: the first i words are acknowledgements
    for end in range(1, len(words) + 1):
        covered[end] = any(covered[start] and " ".join(words[start:end]) in known for start in range(end))
    return bool(words) and covered[-1]


@cache
def _tried_everything(path: Path = ANSWERS_FILE) -> tuple[str, ...]:
    raw = yaml.safe_load(path.read_text()) or {}
    return tuple(_phrase(str(a)) for a in raw.get("tried_everything") or ())


_NEGATED = re.compile(r"\b(?:not|never|havent|haven't|didnt|didn't|cant|can't|yet to)\s+(?:\w+\s+){0,2}$")


def already_tried(step: InstructStep, text: str | None) -> bool:
    """Whether the customer's words say they already did what the step asks ("tried everything", "held the
    power button"), not that they have not ("haven't tried charging it")."""
    said = _phrase(text or "")
    for phrase in (*_tried_everything(), *(_phrase(p) for p in step.already_tried)):
        for match in re.finditer(rf"\b{re.escape(phrase)}\b", said):
            if phrase and not _NEGATED.search(said[: match.start()]):
                return True
    return False


# A runner-up intent answers a step when it is among the top few, confident enough, and not far behind.
RUNNER_UP_DEPTH = 3
RUNNER_UP_MIN_CONFIDENCE = 0.15
RUNNER_UP_MIN_RATIO = 0.35  # of the top intent's confidence
NOT_AN_INTENT = frozenset({FALLBACK_INTENT})


def pick_intent(
    ranking: Sequence[tuple[str, float]], accepted: Iterable[str], first_guess_only: Iterable[str] = ()
) -> str | None:
    """The accepted intent the message means: the NLU's first guess, or a close runner-up. The intents in
    `first_guess_only` (an answer that closes the issue) are taken only as a first guess the NLU was sure of:
    never a runner-up, never a message it could not settle ("what happened to it?")."""
    accepted, firm = set(accepted), set(first_guess_only)
    if ranking and ranking[0][0] in NOT_AN_INTENT:
        accepted -= firm
    ranked = [(name, confidence) for name, confidence in ranking if name not in NOT_AN_INTENT]
    if not ranked or not accepted:
        return None
    top, top_confidence = ranked[0]
    if top in accepted:
        return top
    for name, confidence in ranked[1:RUNNER_UP_DEPTH]:
        if (
            name in accepted
            and name not in firm
            and confidence >= RUNNER_UP_MIN_CONFIDENCE
            and confidence >= RUNNER_UP_MIN_RATIO * top_confidence
        ):
            return name
    return None


@dataclass(frozen=True)
class Option:
    """One answer a step takes: where it leads, and every way a customer can give it."""

    next: str
    intents: tuple[str, ...] = ()
    entities: tuple[tuple[str, str], ...] = ()  # (entity, value) pairs that mean this option
    value: str | None = None  # a button's value: what its payload sends, and what the step saves
    title: str | None = None
    closes: bool = False  # it ends the issue ("it works now", "it's arrived"): typed, taken only on a sure first guess


@dataclass(frozen=True)
class Accepts:
    """What a waiting step takes: one of its options, or (an `ask` for an entity) a value of a type."""

    options: tuple[Option, ...] = ()
    entity: str | None = None
    value_type: str = "text"
    outcome: bool = False  # it asks whether something worked: an "ok" (`only_acknowledges`) is no answer

    @classmethod
    def of(cls, step: Step) -> Accepts:
        if isinstance(step, InstructStep):
            return cls(
                (
                    Option(step.next_if_fixed, intents=FIXED_MEANINGS, closes=True),
                    Option(step.next_if_not, intents=_with_same(NOT_FIXED_MEANINGS)),
                ),
                outcome=True,
            )
        if not isinstance(step, AskStep):
            return cls()
        expect = step.expect
        if expect.kind == EXPECT_INTENT:
            by_next: dict[str, list[str]] = {}
            for intent, target in expect.intents.items():
                by_next.setdefault(target, []).append(intent)
            taken = set(expect.intents)
            for intent, target in expect.intents.items():  # "no thanks" is a no, unless the step says otherwise
                by_next[target] += [i for i in SAME_AT_A_QUESTION.get(intent, ()) if i not in taken]
            return cls(tuple(Option(target, intents=tuple(intents)) for target, intents in by_next.items()))
        if expect.kind == EXPECT_BUTTONS:
            return cls(
                tuple(
                    Option(
                        b.next,
                        intents=_with_same(tuple(m.intent for m in b.means if m.intent)),
                        entities=tuple((m.entity, m.value) for m in b.means if m.entity and m.value is not None),
                        value=b.value,
                        title=b.title,
                        closes=b.confirms,
                    )
                    for b in expect.buttons
                )
            )
        return cls(entity=expect.entity, value_type=expect.value_type)

    def to_slot(self) -> dict[str, Any]:
        return {
            "options": [
                {
                    "next": o.next,
                    "intents": list(o.intents),
                    "entities": [list(e) for e in o.entities],
                    "value": o.value,
                    "title": o.title,
                    "closes": o.closes,
                }
                for o in self.options
            ],
            "entity": self.entity,
            "value_type": self.value_type,
            "outcome": self.outcome,
        }

    @classmethod
    def from_slot(cls, data: Any) -> Accepts | None:
        """What a slot written by `to_slot` holds; None when it holds nothing readable."""
        if not isinstance(data, Mapping):
            return None
        try:
            options = tuple(
                Option(
                    str(o["next"]),
                    intents=tuple(str(i) for i in o.get("intents") or ()),
                    entities=tuple((str(e[0]), str(e[1])) for e in o.get("entities") or ()),
                    value=o.get("value"),
                    title=o.get("title"),
                    closes=o.get("closes") is True,
                )
                for o in data.get("options") or ()
            )
        except (KeyError, IndexError, TypeError):
            return None
        entity = data.get("entity")
        return cls(
            options,
            str(entity) if entity else None,
            str(data.get("value_type") or "text"),
            outcome=data.get("outcome") is True,
        )

    @property
    def intents(self) -> set[str]:
        return {intent for option in self.options for intent in option.intents}

    def choose(self, user_input: UserInput) -> Option | None:
        """The option the message gives, or None."""
        if self.outcome and only_acknowledges(user_input.text):
            return None
        pressed = _entity(user_input, ANSWER_ENTITY)
        for option in self.options:
            if option.value is not None and pressed is not None and _same_text(pressed, option.value):
                return option
        typed = user_input.text
        for option in self.options:
            if typed and any(word is not None and _same_text(typed, word) for word in (option.title, option.value)):
                return option
        by_entity = [o for o in self.options if any(_entity_is(user_input, name, value) for name, value in o.entities)]
        if len(by_entity) == 1:  # two options named at once ("phone and laptop") is no answer
            return by_entity[0]
        ranking = user_input.ranking
        if not ranking and user_input.intent:  # a message without a ranking (a test, a scheduler's trigger)
            ranking = ((user_input.intent, 1.0),)
        intent = pick_intent(
            ranking, self.intents, first_guess_only={i for o in self.options if o.closes for i in o.intents}
        )
        if intent is not None:
            return next(o for o in self.options if intent in o.intents)
        return None

    def value(self, user_input: UserInput) -> Any:
        """An `ask` for an entity: the value the message gives, read by type; None when it gives none."""
        if self.entity is None:
            return None
        value = read_value(_entity(user_input, self.entity), self.value_type)
        if value is None and self.value_type != "text":  # the NLU missed it: read the typed text
            value = read_value(user_input.text, self.value_type)
        return value

    def answered_by(self, user_input: UserInput) -> bool:
        return self.choose(user_input) is not None or self.value(user_input) is not None


def _with_same(intents: tuple[str, ...]) -> tuple[str, ...]:
    return intents + tuple(i for intent in intents for i in SAME_AT_A_QUESTION.get(intent, ()) if i not in intents)


def _entity(user_input: UserInput, name: str) -> Any:
    value = user_input.entities.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value


def _entity_is(user_input: UserInput, name: str, value: str) -> bool:
    found = user_input.entities.get(name)
    values = found if isinstance(found, (list, tuple)) else [found]
    return any(v is not None and _same_text(v, value) for v in values)


def _same_text(a: Any, b: str) -> bool:
    return str(a).strip().casefold() == b.strip().casefold()


def interpret(step: Step, user_input: UserInput) -> Answer | None:
    """The answer `user_input` gives to `step`, or None when it does not fit."""
    accepts = Accepts.of(step)
    if isinstance(step, AskStep) and step.expect.kind == EXPECT_ENTITY:
        assert step.next is not None
        value = accepts.value(user_input)
        if value is None:
            return None
        key = step.expect.save_as or step.expect.entity
        assert key is not None, "an entity ask names its entity (the loader requires it)"
        return Answer(step.next, {key: value})
    option = accepts.choose(user_input)
    if option is None:
        return None
    if isinstance(step, AskStep) and step.expect.kind == EXPECT_BUTTONS:
        return Answer(option.next, {step.expect.save_as or ANSWER_ENTITY: option.value})
    return Answer(option.next)
