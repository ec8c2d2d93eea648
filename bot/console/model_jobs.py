"""What the console's model page runs as background jobs (bot.model_release.jobs): the check, a publish and a
rollback through bot.model_release.service, as `tandem model` does, and what each tells the audit trail.

`ModelRelease` is the app's MODEL_RELEASE: the Workspace (models and state folders, the Rasa servers: those
`tandem up` recorded in the state folder, or the addresses in TANDEM_MODEL_RASA_URLS), the job record, and the check
to run (the service's; a test gives the real check of a copy of the data)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.db.session import unit_of_work
from bot.model_release import service
from bot.model_release.check import CheckResult
from bot.model_release.config import ReleaseConfigError
from bot.model_release.jobs import JobStore, JobView, Outcome
from bot.model_release.progress import Progress
from bot.model_release.publish import PublishResult
from bot.model_release.service import Workspace
from bot.review import audit
from bot.settings import Settings

log = logging.getLogger(__name__)

RASA_URLS_ENV = "TANDEM_MODEL_RASA_URLS"  # servers `tandem up` did not start, space- or comma-separated
CheckWork = Callable[[Workspace, str, Progress], CheckResult]


def service_check(ws: Workspace, by: str, progress: Progress) -> CheckResult:
    return service.run_check(ws, by=by, progress=progress)


@dataclass(frozen=True)
class ModelRelease:
    workspace: Workspace | None  # None: config/models.yml cannot be used (`problem` says why)
    jobs: JobStore
    check: CheckWork = field(default=service_check)
    problem: str | None = None

    @classmethod
    def of(cls, workspace: Workspace, check: CheckWork = service_check) -> ModelRelease:
        return cls(workspace, JobStore(workspace.state_dir), check)


def default_release(settings: Settings) -> ModelRelease:
    """The project's models and the running Rasa servers; a broken config/models.yml disables only the model page."""
    urls = os.environ.get(RASA_URLS_ENV, "").replace(",", " ").split()
    try:
        return ModelRelease.of(Workspace.from_settings(settings, urls))
    except ReleaseConfigError as exc:
        log.error("the model page is disabled: %s", exc)
        return ModelRelease(None, JobStore(settings.state_dir), problem=str(exc))


def actor(username: str) -> str:
    """Who the registry records (as `tandem model` records the login name and the command)."""
    return f"{username} (console)"


# --- the work, in the job's thread ----------------------------------------------------------------------------------


def check_work(release: ModelRelease, ws: Workspace, by: str) -> Callable[[Progress], Outcome]:
    def work(progress: Progress) -> Outcome:
        result = release.check(ws, actor(by), progress)
        verdict = "passed: it may be published" if result.passed else "failed: it may not be published"
        return Outcome(
            "passed" if result.passed else "failed",
            f"the check of {result.model or 'the data'} {verdict}",
            result.to_json(),
            model=result.model,
            steps={s.step: s.passed for s in result.steps},
        )

    return work


def publish_json(result: PublishResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "previous": result.previous,
        "loaded": [{"instance": x.instance, "seconds": round(x.seconds, 1)} for x in result.loaded],
        "pruned": list(result.pruned),
    }


def _published_message(result: PublishResult, verb: str) -> str:
    where = (
        f"{len(result.loaded)} Rasa server(s) serve it now"
        if result.loaded
        else "no Rasa server runs here: it serves from the next start"
    )
    return f"{verb} {result.model} (before: {result.previous or 'none'}); {where}"


def publish_work(ws: Workspace, name: str, by: str) -> Callable[[Progress], Outcome]:
    def work(progress: Progress) -> Outcome:
        _, published = service.publish(ws, name, by=actor(by), progress=progress)
        return Outcome("done", _published_message(published, "published"), publish_json(published), model=name)

    return work


def rollback_work(ws: Workspace, by: str) -> Callable[[Progress], Outcome]:
    def work(progress: Progress) -> Outcome:
        result = service.rollback(ws, by=actor(by), progress=progress)
        return Outcome("done", _published_message(result, "rolled back to"), publish_json(result), model=result.model)

    return work


# --- the audit trail --------------------------------------------------------------------------------------------------

STARTED = {"check": "model.check_started", "publish": "model.publish_started", "rollback": "model.rollback_started"}
ENDED = {"check": "model.checked", "publish": "model.published", "rollback": "model.rolled_back"}


def serving_change(before: str | None, after: str | None) -> dict[str, Any]:
    return {"serving": {"before": before, "after": after}}


def started_entry(job: JobView) -> dict[str, Any]:
    """The audit row of a job's start (written before the job is acknowledged)."""
    changes: dict[str, Any] = {"job": job.id}
    if job.kind != "check":
        changes.update(serving_change(job.previous, job.model))
    else:
        changes["serving"] = {"before": job.previous}
    return {
        "actor": job.by,
        "action": STARTED[job.kind],
        "subject_kind": "model",
        "subject_id": job.model,
        "changes": changes,
    }


def ended_entry(job: JobView) -> dict[str, Any]:
    """The audit row of its end: what the check found, or which model serves now; a failure with its reason."""
    changes: dict[str, Any] = {"job": job.id, "state": job.state}
    outcome = dict(job.outcome or {})
    if job.kind == "check":
        changes["passed"] = bool(outcome.get("passed"))
        changes["reasons"] = list(outcome.get("reasons") or [])[:20]
    elif job.state == "done":
        changes.update(serving_change(outcome.get("previous"), outcome.get("model")))
    if job.state in ("error", "interrupted"):
        changes["error"] = job.message
    action = ENDED[job.kind] if job.state in ("passed", "failed", "done") else f"model.{job.kind}_failed"
    return {"actor": job.by, "action": action, "subject_kind": "model", "subject_id": job.model, "changes": changes}


def audit_end(database_url: str) -> Callable[[JobView], None]:
    """The job's `on_end`: its audit row, in the job's thread."""

    def record(job: JobView) -> None:
        with unit_of_work(database_url) as session:
            audit.record(session, **ended_entry(job))

    return record
