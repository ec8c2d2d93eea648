"""What `tandem model ...` and the console call: train, check, publish, roll back and list the Rasa models, each
with a progress callback and the name of whoever asked; and what `tandem up` asks (which model serves at start, and
after a restart of a Rasa server).

Which model `tandem up` serves: the published one. A model trained at start from data the registry has never seen
(an engineer edited data/ and started again) is published as it starts, as before there was a registry; a model the
registry knows (checked and refused, or rolled back) does not come back by a restart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.model_release import publish as publishing
from bot.model_release.check import CheckResult, check, is_current
from bot.model_release.config import ReleaseConfig, load_config
from bot.model_release.instances import RasaInstance, given_instances, recorded_instances
from bot.model_release.progress import Progress, silent
from bot.model_release.registry import ModelView, Registry, model_name
from bot.model_release.train import train_candidate
from bot.settings import Settings

CHECK_FOLDER = "model-check"  # under the state folder: each step's log


class AlreadyServing(publishing.PublishError):
    """The model asked for is the one serving: nothing to do."""


class PublishRefused(publishing.PublishError):
    """The check failed: `result` says why."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(f"{result.model or 'the data'} failed its check: " + "; ".join(result.reasons))
        self.result = result


@dataclass(frozen=True)
class Workspace:
    """Where models, logs and running servers are, for one caller."""

    models_dir: Path
    state_dir: Path
    token: str | None  # Rasa's API token
    config: ReleaseConfig = field(default_factory=load_config)
    rasa_urls: tuple[str, ...] = ()  # servers named by address; none: those `tandem up` recorded in state_dir

    @classmethod
    def from_settings(
        cls, settings: Settings, rasa_urls: Sequence[str] = (), config: ReleaseConfig | None = None
    ) -> Workspace:
        return cls(
            settings.models_dir, settings.state_dir, settings.rasa_api_token, config or load_config(), tuple(rasa_urls)
        )

    @property
    def registry(self) -> Registry:
        return Registry(self.models_dir, self.config.keep_published, self.config.keep_unpublished)

    @property
    def workdir(self) -> Path:
        return self.state_dir / CHECK_FOLDER

    def instances(self) -> list[RasaInstance]:
        return given_instances(list(self.rasa_urls)) if self.rasa_urls else recorded_instances(self.state_dir)


def sentiment_model_for(registry: Registry, explicit: Path | None = None) -> Path | None:
    """The sentiment model a candidate is trained with: the one asked for, else the environment's, else the one in
    the serving model (so that a candidate differs from it only by the data), else the default (None)."""
    from bot.sentiment.defaults import ENV

    if explicit is not None or os.environ.get(ENV):
        return explicit
    current = registry.current()
    if current is not None and current.sentiment_model and Path(current.sentiment_model).exists():
        return Path(current.sentiment_model)
    return None


def models(ws: Workspace) -> list[ModelView]:
    """Every kept model, the newest first (`serving` marks the published one)."""
    return ws.registry.models()


def train(ws: Workspace, *, by: str, progress: Progress = silent, sentiment_model: Path | None = None) -> ModelView:
    """The model of the data as it is now, trained unless it exists, and registered (not checked, not published)."""
    registry = ws.registry
    chosen = sentiment_model_for(registry, sentiment_model)
    trained = train_candidate(ws.models_dir, ws.workdir / "train.log", progress, sentiment_model=chosen)
    return registry.register(
        trained.path,
        trained_by=by,
        fingerprint=trained.fingerprint,
        sentiment_model=str(chosen) if chosen else None,
        training_seconds=trained.seconds,
    )


def run_check(
    ws: Workspace, *, by: str, progress: Progress = silent, sentiment_model: Path | None = None
) -> CheckResult:
    registry = ws.registry
    return check(
        registry,
        ws.config,
        ws.workdir,
        trained_by=by,
        progress=progress,
        sentiment_model=sentiment_model_for(registry, sentiment_model),
    )


def publish(
    ws: Workspace,
    name: str | None = None,
    *,
    by: str,
    progress: Progress = silent,
    sentiment_model: Path | None = None,
) -> tuple[CheckResult | None, publishing.PublishResult]:
    """Publish `name`, or else the model of the data as it is now, checked first unless its check still holds.

    A named model must have passed a check (any: it is the one asking for it by name who chose it). PublishRefused
    when the check fails; PublishError when a server did not load it."""
    registry = ws.registry
    result = None
    if name is None:
        from bot.training import fingerprint

        chosen = sentiment_model_for(registry, sentiment_model)
        candidate = registry.find(f"tandem-{fingerprint(sentiment_model=chosen)}")
        if candidate is not None and candidate.check and is_current(candidate, registry, ws.config):
            result = CheckResult.from_json(candidate.check)
        else:
            result = check(registry, ws.config, ws.workdir, trained_by=by, progress=progress, sentiment_model=chosen)
        if not result.passed or result.model is None:
            raise PublishRefused(result)
        name = result.model
    view = registry.get(name)
    if view.serving:
        raise AlreadyServing(f"{view.name} serves already")
    published = publishing.publish(
        registry, view.name, ws.instances(), ws.token, by=by, progress=progress, timeout=ws.config.load_timeout
    )
    return result, published


def rollback(ws: Workspace, *, by: str, progress: Progress = silent) -> publishing.PublishResult:
    return publishing.rollback(
        ws.registry, ws.instances(), ws.token, by=by, progress=progress, timeout=ws.config.load_timeout
    )


# ---------------------------------------------------------------------------------------------- for `tandem up`


def _registry(models_dir: Path) -> Registry:
    config = load_config()
    return Registry(models_dir, config.keep_published, config.keep_unpublished)


def model_at_start(models_dir: Path, trained: Path, *, by: str, sentiment_model: Path | None = None) -> Path:
    """The model `tandem up` starts Rasa with (see the module's docstring); `trained` is the model of the data."""
    registry = _registry(models_dir)
    known = registry.find(model_name(trained)) is not None
    registry.register(trained, trained_by=by, sentiment_model=str(sentiment_model) if sentiment_model else None)
    current = registry.current()
    if known and current is not None and current.exists:
        if current.name != model_name(trained):
            print(f"model: serving the published {current.name} (not {trained.name}: `tandem model list`)", flush=True)
        return current.path
    registry.record_published(model_name(trained), by)
    return trained


def published_model(models_dir: Path) -> Path | None:
    """The published model's file, for a Rasa server started again (None: none, or its file is gone)."""
    current = _registry(models_dir).current()
    return current.path if current is not None and current.exists else None


def publish_trained(
    models_dir: Path, model: Path, urls: Sequence[str], token: str | None, *, by: str, timeout: float = 600.0
) -> publishing.PublishResult:
    """A model the assistant trained for itself (the sentiment upgrade), into the servers at `urls`, unchecked."""
    registry = _registry(models_dir)
    registry.register(model, trained_by=by)
    return publishing.publish(
        registry, model_name(model), given_instances(list(urls)), token, by=by, require_check=False, timeout=timeout
    )
