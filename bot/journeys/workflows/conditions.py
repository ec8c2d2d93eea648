"""Conditions as data: `{fact: order.status, in: [shipped, out_for_delivery]}`, `all:`, `any:`, `not:`.

A CX editor writes them in YAML; `parse_condition` turns them into small frozen objects (or says exactly
what is wrong), `evaluate` answers them against a fact lookup. Facts are dotted names (`order.days_late`,
`context.answer`); which names exist is the facts module's business, so this module stays pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

OPERATORS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "is", "exists")
_ORDERING = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


@dataclass(frozen=True)
class FactRef:
    """An operand or operation parameter read from a fact: `{fact: plan.monthly_price}`."""

    path: str


@dataclass(frozen=True)
class FactTest:
    fact: str
    op: str
    operand: Any  # a literal, a list for in/not_in, a bool for is/exists, or a FactRef


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = FactTest | AllOf | AnyOf | Not


class ConditionError(ValueError):
    """A condition that cannot be read; `line` points into the YAML file when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _line(raw: Any, fallback: int | None) -> int | None:
    return getattr(raw, "line", None) or fallback


def parse_fact_ref(raw: Any) -> FactRef | None:
    """`{fact: x.y}` -> FactRef, anything else -> None (a literal)."""
    if isinstance(raw, Mapping) and set(raw) == {"fact"} and isinstance(raw["fact"], str):
        return FactRef(raw["fact"])
    return None


def parse_condition(raw: Any, line: int | None = None) -> Condition:
    """Read a condition written in YAML; raises ConditionError saying what is wrong and where."""
    line = _line(raw, line)
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(
            "a condition is a mapping: {fact: ..., <operator>: ...}, all: [...], any: [...] or not: ...", line
        )
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in raw:
            if len(raw) != 1:
                raise ConditionError(f"'{combinator}:' stands alone in its condition", line)
            items = raw[combinator]
            if not isinstance(items, list) or not items:
                raise ConditionError(f"'{combinator}:' needs a non-empty list of conditions", line)
            return cls(tuple(parse_condition(item, line) for item in items))
    if "not" in raw:
        if len(raw) != 1:
            raise ConditionError("'not:' stands alone in its condition", line)
        return Not(parse_condition(raw["not"], line))
    if "fact" not in raw:
        unknown = ", ".join(sorted(str(k) for k in raw))
        raise ConditionError(f"unknown condition keys: {unknown} (use fact + an operator, all, any or not)", line)
    fact = raw["fact"]
    if not isinstance(fact, str) or "." not in fact:
        raise ConditionError(f"fact must be a dotted name like order.status, not {fact!r}", line)
    ops = [k for k in raw if k != "fact"]
    unknown_ops = [str(k) for k in ops if k not in OPERATORS]
    if unknown_ops:
        raise ConditionError(f"unknown operator {', '.join(unknown_ops)} (known: {', '.join(OPERATORS)})", line)
    if len(ops) != 1:
        raise ConditionError(f"a fact test has exactly one operator, found {len(ops)}", line)
    op = ops[0]
    operand = raw[op]
    ref = parse_fact_ref(operand)
    if ref is not None:
        if op not in ("equals", "not_equals", *_ORDERING):
            raise ConditionError(f"'{op}' compares with a literal, not with another fact", line)
        return FactTest(fact, op, ref)
    if op in ("in", "not_in") and not isinstance(operand, list):
        raise ConditionError(f"'{op}' needs a list, e.g. {op}: [shipped, out_for_delivery]", line)
    if op in ("is", "exists") and not isinstance(operand, bool):
        raise ConditionError(f"'{op}' needs true or false", line)
    if op in _ORDERING and (isinstance(operand, bool) or not isinstance(operand, (int, float))):
        raise ConditionError(f"'{op}' needs a number", line)
    return FactTest(fact, op, operand)


def facts_in(condition: Condition) -> Iterator[str]:
    """Every fact name a condition reads (operands included), for the validator."""
    if isinstance(condition, FactTest):
        yield condition.fact
        if isinstance(condition.operand, FactRef):
            yield condition.operand.path
    elif isinstance(condition, (AllOf, AnyOf)):
        for item in condition.items:
            yield from facts_in(item)
    else:
        yield from facts_in(condition.item)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _same(a: Any, b: Any) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None and not (isinstance(a, str) and isinstance(b, str)):
        return abs(na - nb) < 1e-9
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().lower() == b.strip().lower()
    return a == b


def _test(test: FactTest, lookup: Callable[[str], Any]) -> bool:
    value = lookup(test.fact)
    operand = lookup(test.operand.path) if isinstance(test.operand, FactRef) else test.operand
    op = test.op
    if op == "exists":
        return (value is not None and value != "") is operand
    if op == "is":
        return bool(value) is operand
    if op == "equals":
        return value is not None and _same(value, operand)
    if op == "not_equals":
        return not (value is not None and _same(value, operand))
    if op == "in":
        return value is not None and any(_same(value, o) for o in operand)
    if op == "not_in":
        return not (value is not None and any(_same(value, o) for o in operand))
    a, b = _number(value), _number(operand)
    return a is not None and b is not None and _ORDERING[op](a, b)


def evaluate(condition: Condition, lookup: Callable[[str], Any]) -> bool:
    """Whether the condition holds. A missing fact (None) fails every test except `exists: false`,
    `is: false` and the negative ones (`not_equals`, `not_in`)."""
    if isinstance(condition, FactTest):
        return _test(condition, lookup)
    if isinstance(condition, AllOf):
        return all(evaluate(item, lookup) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(evaluate(item, lookup) for item in condition.items)
    return not evaluate(condition.item, lookup)
