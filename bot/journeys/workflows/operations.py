"""Operations: the Python a workflow's `operation` step runs by name (a replacement order, a refund, ...).

Registered with a decorator that also declares the parameters and result keys, so the validator can reject
an unknown operation, a missing parameter or a message placeholder no result provides, without running
anything. The shop's operations live in `shop_operations.py`; its `default_operations()` is the registry with them.

Contract for an operation:
- idempotent per `call.key` (journey id + workflow + step): running it again after a crash returns the
  same result and changes nothing more (reference numbers are derived from the key, DB writes look for
  what the first run wrote);
- raises `OperationError` for an expected failure (the workflow goes to `on_error`), and raises it before
  writing anything;
- returns a JSON-friendly mapping (dates become ISO strings) that lands in the journey's context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot.journeys.workflows.facts import ShopFacts


class OperationError(Exception):
    """An operation could not do what was asked (order not eligible, ...): the workflow takes `on_error`."""


@dataclass(frozen=True)
class OperationCall:
    """Everything an operation may use. `session` is the caller's transaction: the journey step is written
    in the same one, so an operation and the step that ran it are committed together or not at all."""

    params: Mapping[str, Any]
    customer_id: str
    session: Session | None
    facts: ShopFacts
    key: str
    config: Mapping[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.facts.now()

    def reference(self, prefix: str) -> str:
        """A reference number that is the same every time this journey step runs (idempotent)."""
        return f"{prefix}-{hashlib.sha256(self.key.encode()).hexdigest()[:8].upper()}"


OperationFunc = Callable[[OperationCall], Mapping[str, Any]]


@dataclass(frozen=True)
class OperationSpec:
    name: str
    func: OperationFunc
    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""


def jsonable(value: Any) -> Any:
    """Dates as ISO strings, Decimals as floats, tuples as lists: what a JSON column stores unchanged."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class OperationRegistry:
    """Operations by name, plus the configuration they run with (e.g. the network status source)."""

    def __init__(
        self, specs: Mapping[str, OperationSpec] | None = None, config: Mapping[str, Any] | None = None
    ) -> None:
        self._specs: dict[str, OperationSpec] = dict(specs or {})
        self.config: dict[str, Any] = dict(config or {})

    def register(
        self, name: str, *, params: Iterable[str] = (), optional: Iterable[str] = (), returns: Iterable[str] = ()
    ) -> Callable[[OperationFunc], OperationFunc]:
        def decorate(func: OperationFunc) -> OperationFunc:
            if name in self._specs and self._specs[name].func is not func:
                raise ValueError(f"operation '{name}' is registered twice")
            self._specs[name] = OperationSpec(name, func, tuple(params), tuple(optional), tuple(returns))
            return func

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> OperationSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"unknown operation '{name}'") from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def with_config(self, **config: Any) -> OperationRegistry:
        """The same operations with more configuration (tests point them at their own sources)."""
        return OperationRegistry(self._specs, {**self.config, **config})

    def run(
        self,
        name: str,
        params: Mapping[str, Any],
        *,
        customer_id: str,
        session: Session | None,
        facts: ShopFacts,
        key: str,
    ) -> dict[str, Any]:
        spec = self.get(name)
        missing = [p for p in spec.params if params.get(p) in (None, "")]
        if missing:
            raise OperationError(f"{name}: missing {', '.join(missing)}")
        call = OperationCall(dict(params), customer_id, session, facts, key, self.config)
        return jsonable(dict(spec.func(call)))


OPERATIONS = OperationRegistry()
operation = OPERATIONS.register  # @operation("issue_refund", params=("order_id",), returns=(...))


__all__ = [
    "OPERATIONS",
    "OperationCall",
    "OperationError",
    "OperationRegistry",
    "OperationSpec",
    "jsonable",
    "operation",
]
