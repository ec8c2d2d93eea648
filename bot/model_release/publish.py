"""Publishing a model: every running Rasa loads it, one after the other, then the registry records it; a rollback
publishes the model that served before.

One at a time, so that while one server loads (it answers nothing for the seconds that takes: messages sent to it
wait, none is lost, and conversations live in the tracker store, not in the server) the others answer. Should a
server refuse the model, those already swapped go back to what they served, nothing is recorded, and the error
names the server. The registry stays locked throughout, so two publishes never interleave.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.model_release.instances import InstanceFailed, RasaInstance, load_model, served_model
from bot.model_release.progress import Progress, ProgressEvent, silent
from bot.model_release.registry import ModelView, NothingToRollBack, Registry


class PublishError(RuntimeError):
    """The model was not published (refused, missing, or a server failed to load it); says why."""


@dataclass(frozen=True)
class Loaded:
    instance: str
    seconds: float


@dataclass(frozen=True)
class PublishResult:
    model: str
    previous: str | None  # what served before
    loaded: tuple[Loaded, ...]  # each running Rasa, in order (none: nothing runs; it serves from the next start)
    pruned: tuple[str, ...]  # models deleted to keep only the configured number


def _undo(swapped: list[tuple[RasaInstance, Path | None]], token: str | None, timeout: float) -> str:
    """Back to what each swapped server served before; what happened, for the error message."""
    failures = []
    for instance, before in reversed(swapped):
        if before is None or not before.exists():
            failures.append(f"{instance.name} (its previous model is gone)")
            continue
        try:
            load_model(instance, token, before, timeout)
        except InstanceFailed as exc:
            failures.append(str(exc))
    if not swapped:
        return "no server had loaded it"
    if failures:
        return "could not put back every server: " + "; ".join(failures)
    return f"{len(swapped)} server(s) put back on their previous model"


def load_everywhere(
    model: Path,
    instances: Sequence[RasaInstance],
    token: str | None,
    *,
    step: str = "publish",
    progress: Progress = silent,
    timeout: float = 600.0,
) -> tuple[Loaded, ...]:
    """Each server loads `model` in turn; on a failure the swapped ones are put back and PublishError says which."""
    swapped: list[tuple[RasaInstance, Path | None]] = []
    loaded = []
    for index, instance in enumerate(instances):
        try:
            before = served_model(instance, token)
            progress(
                ProgressEvent(
                    step,
                    f"{instance.name} loads {model.name} ({index + 1} of {len(instances)})",
                    index / len(instances),
                )
            )
            started = time.monotonic()
            load_model(instance, token, model, timeout)
        except InstanceFailed as exc:
            raise PublishError(f"{exc}; {_undo(swapped, token, timeout)}") from exc
        swapped.append((instance, model.parent / before if before else None))
        loaded.append(Loaded(instance.name, time.monotonic() - started))
        progress(ProgressEvent(step, f"{instance.name} serves {model.name}", (index + 1) / len(instances)))
    return tuple(loaded)


def _publishable(view: ModelView, require_check: bool) -> None:
    if not view.exists:
        raise PublishError(f"the file of {view.name} is gone ({view.path}): train it again")
    if not require_check:
        return
    check = view.check or {}
    if not check:
        raise PublishError(f"{view.name} has not been checked: `tandem model check` first")
    if not check.get("passed"):
        reasons = "; ".join(check.get("reasons") or ["its check failed"])
        raise PublishError(f"{view.name} failed its check: {reasons}")


def publish(
    registry: Registry,
    name: str,
    instances: Sequence[RasaInstance],
    token: str | None,
    *,
    by: str,
    progress: Progress = silent,
    require_check: bool = True,
    timeout: float = 600.0,
) -> PublishResult:
    """`name` serves in every running Rasa and is recorded as published. `require_check`: only a model whose check
    passed (`tandem up` and the sentiment upgrade publish what they trained without one)."""
    with registry.lock():
        view = registry.get(name)
        _publishable(view, require_check)
        before = registry.current()
        if not instances:
            progress(ProgressEvent("publish", "no Rasa server runs: recorded; it serves from the next start", 1.0))
        loaded = load_everywhere(view.path, instances, token, step="publish", progress=progress, timeout=timeout)
        registry.record_published(view.name, by)
        pruned = registry.prune()
    return PublishResult(view.name, before.name if before else None, loaded, tuple(pruned))


def rollback(
    registry: Registry,
    instances: Sequence[RasaInstance],
    token: str | None,
    *,
    by: str,
    progress: Progress = silent,
    timeout: float = 600.0,
) -> PublishResult:
    """The model that served before the current one serves again; the current one is withdrawn."""
    with registry.lock():
        current, target = registry.current(), registry.previous()
        if current is None or target is None:
            raise NothingToRollBack("no model served before the one serving now: there is nothing to roll back to")
        if not target.exists:
            raise PublishError(f"the file of {target.name}, which served before, is gone ({target.path})")
        if not instances:
            progress(ProgressEvent("rollback", "no Rasa server runs: recorded; it serves from the next start", 1.0))
        loaded = load_everywhere(target.path, instances, token, step="rollback", progress=progress, timeout=timeout)
        registry.record_rollback(by)
    return PublishResult(target.name, current.name, loaded, ())
