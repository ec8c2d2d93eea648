"""What a long step tells whoever waits for it (the terminal, a console page): one event at a time, by callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    step: str  # validate | train | conversations | regression | publish | rollback
    message: str  # one line, for a person
    fraction: float | None = None  # of this step, when it can be told; None: it is under way


Progress = Callable[[ProgressEvent], None]


def silent(event: ProgressEvent) -> None:
    """For callers that only want the result."""


def as_line(event: ProgressEvent) -> str:
    """The event as a terminal line: `[train 40%] TEDPolicy: epoch 16/40`."""
    share = f" {event.fraction:.0%}" if event.fraction is not None else ""
    return f"[{event.step}{share}] {event.message}"
