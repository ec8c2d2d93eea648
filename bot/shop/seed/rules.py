"""Which devices an accessory fits: the `only_if` conditions of the catalogue's data files.

A condition maps a device's field (category, family, brand or one of its attributes) to a test, and holds
when every test does; `any_of: [condition, ...]` holds when one of its conditions does. A test is a plain
value (the field equals it) or one of {in: [...]}, {not: value}, {not_in: [...]}, {at_most: number},
{contains: text}, {contains_none: [...]}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# A device's field by name: its category, family, brand or an attribute (None when it has none).
Lookup = Callable[[str], Any]

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "in": lambda value, options: value in options,
    "not": lambda value, other: value != other,
    "not_in": lambda value, options: value not in options,
    "at_most": lambda value, limit: value is not None and value <= limit,
    "contains": lambda value, text: text in (value or ""),
    "contains_none": lambda value, texts: not any(text in (value or "") for text in texts),
}


def check_rule(rule: Any) -> None:
    """Raise ValueError unless `rule` is a well-formed condition (so a typo fails at load, not never)."""
    if not isinstance(rule, Mapping) or not rule:
        raise ValueError(f"a condition is a non-empty mapping, not {rule!r}")
    for key, test in rule.items():
        if key == "any_of":
            if not isinstance(test, list) or not test:
                raise ValueError(f"any_of takes a list of conditions, not {test!r}")
            for condition in test:
                check_rule(condition)
        elif isinstance(test, Mapping) and (len(test) != 1 or next(iter(test)) not in _TESTS):
            raise ValueError(f"{key}: a test is a value or one of {', '.join(_TESTS)}, not {dict(test)!r}")


def holds(rule: Mapping[str, Any], lookup: Lookup) -> bool:
    """Whether the device whose fields `lookup` reads meets the condition."""
    for key, test in rule.items():
        if key == "any_of":
            if not any(holds(condition, lookup) for condition in test):
                return False
        elif isinstance(test, Mapping):
            ((name, argument),) = test.items()
            if not _TESTS[name](lookup(key), argument):
                return False
        elif lookup(key) != test:
            return False
    return True
